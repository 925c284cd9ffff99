import { tool, type Tool, type ToolSet } from "ai";
import { connectToolServer, type McpToolDefinition, type ToolServerConnection } from "./client";
import { ToolCallFailure, ToolServerUnavailable } from "./errors";
import { callServerTool, inputSchemaOf, modelToolOf, unavailableToolSet, type UnavailableTool } from "./server-tools";
import { listWantedTools, type ToolServerAccess } from "./turn-tools";

/**
 * A server tool as a durable run records it once per turn, so every model round and every replay sees the
 * same list: what the model is shown and how a call is treated. It carries no secret: a call connects
 * again and resolves the server's credentials then.
 */
export interface RecordedTool {
  /** The model's name for it (`<serverId>__<toolName>`). */
  name: string;
  serverId: string;
  toolName: string;
  description: string;
  inputSchema: McpToolDefinition["inputSchema"];
  needsApproval: boolean;
  /** The server says a repeated call has no further effect (`idempotentHint: true`): it may be retried. */
  idempotent: boolean;
}

export interface RecordedServerTools {
  tools: RecordedTool[];
  unavailable: UnavailableTool[];
}

/** Lists the entries' MCP tools now (one short session per server) as a record for the turn. */
export async function recordServerTools(entries: readonly string[], access: ToolServerAccess): Promise<RecordedServerTools> {
  const wanted = await listWantedTools(entries, access);
  try {
    const tools = wanted.listings.flatMap(({ connection, definitions }) =>
      definitions.map((definition): RecordedTool => ({
        ...modelToolOf(connection.server, definition),
        serverId: connection.server.id,
        toolName: definition.name,
        inputSchema: definition.inputSchema,
        idempotent: definition.annotations?.idempotentHint === true,
      })),
    );
    return { tools, unavailable: wanted.unavailable };
  } finally {
    await wanted.close();
  }
}

const definitionOf = (recorded: RecordedTool): McpToolDefinition => ({
  name: recorded.toolName,
  description: recorded.description,
  inputSchema: recorded.inputSchema,
});

/**
 * The recorded tools as the model of a durable round sees them: without `execute`, so a call ends the
 * round unexecuted (the workflow runs it in a step of its own); stand-ins answer for unavailable ones.
 */
export function recordedToolSet(recorded: RecordedServerTools): ToolSet {
  const tools = unavailableToolSet(recorded.unavailable);
  for (const entry of recorded.tools) {
    tools[entry.name] = tool({
      description: entry.description,
      inputSchema: inputSchemaOf(definitionOf(entry)),
      needsApproval: entry.needsApproval,
    }) as Tool;
  }
  return tools;
}

/**
 * One call of a recorded tool through a session of its own, closed again before this answers. Anything
 * the model should hear about (server gone or down, error result, timeout) is thrown as a ToolCallFailure.
 */
export async function callRecordedTool(
  recorded: RecordedTool,
  input: unknown,
  options: { toolCallId: string; access: ToolServerAccess },
): Promise<unknown> {
  const { access } = options;
  const [server] = await access.repository.findMany([recorded.serverId]);
  if (!server) throw new ToolCallFailure(`tool server ${recorded.serverId} does not exist`);
  let connection: ToolServerConnection;
  try {
    connection = await connectToolServer(server, access.settings, access.abortSignal);
  } catch (error) {
    if (error instanceof ToolServerUnavailable) throw new ToolCallFailure(`${recorded.name} failed: ${error.message}`);
    throw error;
  }
  try {
    return await callServerTool(connection, definitionOf(recorded), input, {
      toolCallId: options.toolCallId,
      timeoutMs: access.settings.timeoutMs,
      abortSignal: access.abortSignal,
    });
  } finally {
    await connection.close();
  }
}
