import { integer, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import type { UIMessage } from "ai";
import { timestamps } from "./columns";
import { conversations } from "./conversations";

export const messages = pgTable(
  "messages",
  {
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    // Message ids come from clients, so they are unique only within a conversation.
    id: text("id").notNull(),
    role: text("role").$type<UIMessage["role"]>().notNull(),
    parts: jsonb("parts").$type<UIMessage["parts"]>().notNull(),
    metadata: jsonb("metadata").$type<unknown>(),
    position: integer("position").notNull(),
    ...timestamps,
  },
  (table) => [primaryKey({ columns: [table.conversationId, table.id] })],
);

export type MessageRow = typeof messages.$inferSelect;
