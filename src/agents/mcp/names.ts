/**
 * How MCP tools are named: agents list `"<serverId>:<toolName>"` or `"<serverId>:*"`; the model and the
 * UI message stream see `<serverId>__<toolName>`.
 */

/** Tool server ids: words of letters and digits joined by single `-` or `_`, so `__` and `:` stay separators. */
export const TOOL_SERVER_ID = /^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$/;
export const TOOL_SERVER_ID_MAX = 40;

/** MCP tool names as agents and approvals may name them (the server decides the real ones). */
export const MCP_TOOL_NAME = /^[A-Za-z0-9_.\/-]{1,128}$/;

const SEPARATOR = "__";

export function isToolServerId(id: string): boolean {
  return id.length <= TOOL_SERVER_ID_MAX && TOOL_SERVER_ID.test(id);
}

/** An agent's reference to the tools of one server: one tool, or every tool the server lists. */
export interface ServerToolReference {
  serverId: string;
  /** `*` for every tool. */
  toolName: string;
}

/** Reads `"<serverId>:<toolName>"` / `"<serverId>:*"`; undefined when `entry` is not written that way. */
export function parseServerToolReference(entry: string): ServerToolReference | undefined {
  const colon = entry.indexOf(":");
  if (colon <= 0) return undefined;
  const serverId = entry.slice(0, colon);
  const toolName = entry.slice(colon + 1);
  if (!isToolServerId(serverId)) return undefined;
  if (toolName !== "*" && !MCP_TOOL_NAME.test(toolName)) return undefined;
  return { serverId, toolName };
}

/** The name the model sees for a server's tool. */
export function modelToolName(serverId: string, toolName: string): string {
  return `${serverId}${SEPARATOR}${toolName}`;
}
