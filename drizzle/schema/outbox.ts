import { pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/** Messages "sent" by the demo send_email tool: one row per tool call, whatever retries happen. */
export const outbox = pgTable(
  "outbox",
  {
    messageId: text("message_id").primaryKey(),
    toolCallId: text("tool_call_id").notNull(),
    executionId: text("execution_id").notNull(),
    to: text("to").notNull(),
    subject: text("subject").notNull(),
    body: text("body").notNull(),
    sentAt: timestamp("sent_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex("outbox_tool_call_idx").on(table.toolCallId)],
);

export type OutboxRow = typeof outbox.$inferSelect;
