import type { ToolSet } from "ai";
import type { ToolServerRepository } from "../../db/repositories/tool-servers";
import { connectToolServer, listServerTools, type McpToolDefinition, type ToolServerConnection, type ToolServerSettings } from "./client";
import { ToolServerUnavailable } from "./errors";
import { modelToolName, parseServerToolReference } from "./names";
import { serverToolSet, unavailableToolSet, type UnavailableTool } from "./server-tools";

/** What a turn needs to reach tool servers. */
export interface ToolServerAccess {
  repository: ToolServerRepository;
  settings: ToolServerSettings;
  abortSignal?: AbortSignal;
}

/** The tools one connected server offers a turn: the listed ones the agent's entries select. */
export interface ServerListing {
  connection: ToolServerConnection;
  definitions: McpToolDefinition[];
}

/** The server tools of one turn, with their sessions still open; close() ends every one of them. */
export interface WantedServerTools {
  listings: ServerListing[];
  unavailable: UnavailableTool[];
  close(): Promise<void>;
}

/** The tool names an agent's entries ask of each server: `*` for all of them. */
function wantedByServer(entries: readonly string[]): Map<string, Set<string>> {
  const wanted = new Map<string, Set<string>>();
  for (const entry of entries) {
    const reference = parseServerToolReference(entry);
    if (!reference) continue;
    const names = wanted.get(reference.serverId) ?? new Set<string>();
    names.add(reference.toolName);
    wanted.set(reference.serverId, names);
  }
  return wanted;
}

/** Whether an agent's tool entries name any MCP server. */
export function namesServerTools(entries: readonly string[]): boolean {
  return entries.some((entry) => parseServerToolReference(entry) !== undefined);
}

const explicitNames = (names: Set<string>) => [...names].filter((name) => name !== "*");
const unavailable = (serverId: string, names: Iterable<string>, reason: string): UnavailableTool[] =>
  [...names].map((toolName) => ({ name: modelToolName(serverId, toolName), reason }));

/**
 * Opens one MCP session per server the entries name and lists the wanted tools. A server that is missing
 * or cannot be used makes the tools named explicitly unavailable (with the reason), so the turn goes on.
 */
export async function listWantedTools(entries: readonly string[], access: ToolServerAccess): Promise<WantedServerTools> {
  const wanted = wantedByServer(entries);
  const { settings } = access;
  const rows = wanted.size === 0 ? new Map() : new Map((await access.repository.findMany([...wanted.keys()])).map((row) => [row.id, row]));
  const connections: ToolServerConnection[] = [];
  const listings: ServerListing[] = [];
  const missing: UnavailableTool[] = [];
  await Promise.all(
    [...wanted].map(async ([serverId, names]) => {
      const server = rows.get(serverId);
      if (!server) {
        missing.push(...unavailable(serverId, explicitNames(names), `tool server ${serverId} does not exist`));
        return;
      }
      try {
        const connection = await connectToolServer(server, settings, access.abortSignal);
        connections.push(connection);
        const listed = await listServerTools(connection, settings);
        const listedNames = new Set(listed.map((definition) => definition.name));
        listings.push({ connection, definitions: listed.filter((definition) => names.has("*") || names.has(definition.name)) });
        const unlisted = explicitNames(names).filter((name) => !listedNames.has(name));
        missing.push(...unavailable(serverId, unlisted, `tool server ${serverId} has no tool of that name`));
      } catch (error) {
        const reason = error instanceof ToolServerUnavailable ? error.message : settings.redact(String(error));
        settings.logger?.warn({ toolServerId: serverId, error: reason }, "tool server unavailable for this turn");
        missing.push(...unavailable(serverId, explicitNames(names), reason));
      }
    }),
  );
  const close = async () => {
    await Promise.allSettled(connections.map((connection) => connection.close()));
  };
  return { listings, unavailable: missing, close };
}

/** MCP tools opened for one turn; close() ends every session the turn opened. */
export interface OpenedServerTools {
  tools: ToolSet;
  close(): Promise<void>;
}

/** The entries' MCP tools as AI SDK tools that call through one session per server for the turn. */
export async function openServerTools(entries: readonly string[], access: ToolServerAccess): Promise<OpenedServerTools> {
  if (!namesServerTools(entries)) return { tools: {}, close: async () => {} };
  const wanted = await listWantedTools(entries, access);
  const tools: ToolSet = unavailableToolSet(wanted.unavailable);
  for (const { connection, definitions } of wanted.listings) {
    Object.assign(tools, serverToolSet(connection, definitions, access.settings.timeoutMs));
  }
  return { tools, close: wanted.close };
}
