import { jsonb, pgEnum, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

export const TOOL_CALL_STATUSES = ["started", "succeeded", "failed"] as const;
export type ToolCallStatus = (typeof TOOL_CALL_STATUSES)[number];

export const toolCallStatusEnum = pgEnum("tool_call_status", TOOL_CALL_STATUSES);

/**
 * Durable runs' calls of MCP tools: `started` is written before the call goes out, the outcome after it
 * came back. A `started` row that a retry finds means a process died during the call, outcome unknown.
 */
export const toolCalls = pgTable(
  "tool_calls",
  {
    executionId: text("execution_id").notNull(),
    toolCallId: text("tool_call_id").notNull(),
    /** The name the model called (`<serverId>__<toolName>`). */
    toolName: text("tool_name").notNull(),
    status: toolCallStatusEnum("status").notNull(),
    output: jsonb("output"),
    /** Redacted. */
    errorText: text("error_text"),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [primaryKey({ columns: [table.executionId, table.toolCallId] })],
);

export type ToolCallRow = typeof toolCalls.$inferSelect;
