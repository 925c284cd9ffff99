import { index, pgTable, text } from "drizzle-orm/pg-core";
import { timestamps } from "./columns";

export const conversations = pgTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    ownerId: text("owner_id").notNull(),
    // No foreign key: a conversation's history outlives the agent that answered it.
    agentId: text("agent_id").notNull(),
    title: text("title").notNull().default(""),
    ...timestamps,
  },
  (table) => [index("conversations_owner_updated_idx").on(table.ownerId, table.updatedAt)],
);

export type ConversationRow = typeof conversations.$inferSelect;
