import { jsonb, pgEnum, pgTable, text } from "drizzle-orm/pg-core";
import { timestamps } from "./columns";

export const EXECUTION_MODES = ["classic", "durable"] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

export const executionModeEnum = pgEnum("execution_mode", EXECUTION_MODES);

export const agents = pgTable("agents", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  instructions: text("instructions").notNull().default(""),
  model: text("model").notNull().default("demo"),
  tools: jsonb("tools").$type<string[]>().notNull().default([]),
  executionMode: executionModeEnum("execution_mode").notNull().default("classic"),
  ...timestamps,
});

export type AgentRow = typeof agents.$inferSelect;
