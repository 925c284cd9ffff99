import { integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { workflowExecutions } from "./workflow-executions";

export const APPROVAL_STATUSES = ["pending", "approved", "denied", "expired"] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export const approvalStatusEnum = pgEnum("approval_status", APPROVAL_STATUSES);

export const toolApprovals = pgTable(
  "tool_approvals",
  {
    executionId: text("execution_id")
      .notNull()
      .references(() => workflowExecutions.id, { onDelete: "cascade" }),
    toolCallId: text("tool_call_id").notNull(),
    // The AI SDK's own approval id, echoed back by clients in their approval response.
    approvalId: text("approval_id"),
    toolName: text("tool_name").notNull(),
    input: jsonb("input").$type<unknown>(),
    /** The durable round whose model asked (null in classic runs): an answer streams the round after it. */
    round: integer("round"),
    status: approvalStatusEnum("status").notNull().default("pending"),
    reason: text("reason"),
    decidedBy: text("decided_by"),
    requestedAt: timestamp("requested_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    decidedAt: timestamp("decided_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [primaryKey({ columns: [table.executionId, table.toolCallId] })],
);

export type ToolApprovalRow = typeof toolApprovals.$inferSelect;
