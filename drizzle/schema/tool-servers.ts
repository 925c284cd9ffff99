import { jsonb, pgEnum, pgTable, text } from "drizzle-orm/pg-core";
import { timestamps } from "./columns";

export const TOOL_SERVER_TRANSPORTS = ["http", "sse"] as const;
export type ToolServerTransport = (typeof TOOL_SERVER_TRANSPORTS)[number];

export const TOOL_APPROVALS = ["always", "never", "auto"] as const;
export type ToolApproval = (typeof TOOL_APPROVALS)[number];

/**
 * How one header of a tool server's requests gets its value: from the credential store by name (the value
 * is never stored here), or a literal that is stored but never shown again.
 */
export type ToolServerHeader = { credential: string; prefix?: string } | { value: string };

export const toolServerTransportEnum = pgEnum("tool_server_transport", TOOL_SERVER_TRANSPORTS);

/** Model Context Protocol servers whose tools agents may use. */
export const toolServers = pgTable("tool_servers", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  url: text("url").notNull(),
  transport: toolServerTransportEnum("transport").notNull().default("http"),
  headers: jsonb("headers").$type<Record<string, ToolServerHeader>>().notNull().default({}),
  /** Tool name → approval policy; a tool not named here is `auto`. */
  approvals: jsonb("approvals").$type<Record<string, ToolApproval>>().notNull().default({}),
  ...timestamps,
});

export type ToolServerRow = typeof toolServers.$inferSelect;
