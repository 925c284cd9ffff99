import type { ToolSet } from "ai";
import type { ToolServerRepository } from "../../db/repositories/tool-servers";
import { connectToolServer, listServerTools, type ToolServerConnection, type ToolServerSettings } from "./client";
import { ToolServerUnavailable } from "./errors";
import { parseServerToolReference } from "./names";
import { serverToolSet, unavailableToolSet } from "./server-tools";

/** MCP tools opened for one turn; close() ends every session the turn opened. */
export interface OpenedServerTools {
  tools: ToolSet;
  close(): Promise<void>;
}

/** What a turn needs to reach tool servers. */
export interface ToolServerAccess {
  repository: ToolServerRepository;
  settings: ToolServerSettings;
  abortSignal?: AbortSignal;
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

const explicitNames = (names: Set<string>) => [...names].filter((name) => name !== "*");

/**
 * Opens one MCP session per server the entries name, lists its tools and turns the wanted ones into AI
 * SDK tools. A server that is missing or cannot be used gives stand-ins for the tools named explicitly
 * (each call answers why), so the turn goes on. Without `access` (where MCP tools are not supported yet)
 * every explicitly named tool is such a stand-in.
 */
export async function openServerTools(entries: readonly string[], access: ToolServerAccess | undefined): Promise<OpenedServerTools> {
  const wanted = wantedByServer(entries);
  if (wanted.size === 0) return { tools: {}, close: async () => {} };
  if (!access) {
    const tools: ToolSet = {};
    for (const [serverId, names] of wanted) {
      Object.assign(tools, unavailableToolSet({ id: serverId }, explicitNames(names), "MCP tools are not available in durable runs yet"));
    }
    return { tools, close: async () => {} };
  }

  const { settings } = access;
  const rows = new Map((await access.repository.findMany([...wanted.keys()])).map((row) => [row.id, row]));
  const connections: ToolServerConnection[] = [];
  const close = async () => {
    await Promise.allSettled(connections.map((connection) => connection.close()));
  };
  const perServer = await Promise.all(
    [...wanted].map(async ([serverId, names]): Promise<ToolSet> => {
      const server = rows.get(serverId);
      if (!server) return unavailableToolSet({ id: serverId }, explicitNames(names), `tool server ${serverId} does not exist`);
      let connection: ToolServerConnection | undefined;
      try {
        connection = await connectToolServer(server, settings, access.abortSignal);
        connections.push(connection);
        const definitions = await listServerTools(connection, settings);
        const listed = new Set(definitions.map((definition) => definition.name));
        const tools = serverToolSet(connection, definitions, (name) => names.has("*") || names.has(name), settings.timeoutMs);
        const unlisted = explicitNames(names).filter((name) => !listed.has(name));
        return { ...unavailableToolSet(server, unlisted, `tool server ${serverId} has no tool of that name`), ...tools };
      } catch (error) {
        const reason = error instanceof ToolServerUnavailable ? error.message : settings.redact(String(error));
        settings.logger?.warn({ toolServerId: serverId, error: reason }, "tool server unavailable for this turn");
        return unavailableToolSet(server, explicitNames(names), reason);
      }
    }),
  );
  return { tools: Object.assign({}, ...perServer) as ToolSet, close };
}
