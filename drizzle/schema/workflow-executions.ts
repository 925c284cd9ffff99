import { index, jsonb, pgEnum, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { executionModeEnum } from "./agents";
import { timestamps } from "./columns";

export const EXECUTION_STATUSES = ["running", "suspended", "completed", "failed", "cancelled"] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const executionStatusEnum = pgEnum("execution_status", EXECUTION_STATUSES);

export const workflowExecutions = pgTable(
  "workflow_executions",
  {
    id: text("id").primaryKey(),
    mode: executionModeEnum("mode").notNull(),
    status: executionStatusEnum("status").notNull().default("running"),
    agentId: text("agent_id").notNull(),
    conversationId: text("conversation_id").notNull(),
    ownerId: text("owner_id").notNull(),
    workflowRunId: text("workflow_run_id"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    /**
     * Classic runs on PostgreSQL: where the process that runs it (`metadata.process`) is reached, so that any
     * other process can forward a resume there. Internal: never part of an API answer.
     */
    processUrl: text("process_url"),
    error: text("error"),
    ...timestamps,
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [
    index("workflow_executions_conversation_idx").on(table.conversationId, table.createdAt),
    index("workflow_executions_status_idx").on(table.status),
    index("workflow_executions_created_idx").on(table.createdAt, table.id),
  ],
);

export type ExecutionRow = typeof workflowExecutions.$inferSelect;
