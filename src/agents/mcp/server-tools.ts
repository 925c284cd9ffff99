import type { CallToolResult } from "@ai-sdk/mcp";
import { jsonSchema, tool, type JSONSchema7, type Tool, type ToolSet } from "ai";
import type { ToolServerRow } from "../../../drizzle/schema";
import { approvalOf, needsApproval } from "./approval";
import type { McpToolDefinition, ToolServerConnection } from "./client";
import { ToolCallFailure } from "./errors";
import { modelToolName } from "./names";

/** A tool's listed input schema, as the model is given it. */
export function inputSchemaOf(definition: McpToolDefinition) {
  return jsonSchema<Record<string, unknown>>({
    ...definition.inputSchema,
    properties: definition.inputSchema.properties ?? {},
  } as JSONSchema7);
}

/** The text an error result carries (servers put the message in text content). */
function errorTextOf(result: CallToolResult): string {
  const content = "content" in result && Array.isArray(result.content) ? result.content : [];
  const text = content
    .flatMap((part: { type?: unknown; text?: unknown }) => (part.type === "text" && typeof part.text === "string" ? [part.text] : []))
    .join("\n");
  return text || "the tool reported an error";
}

/** What the model and the stream see of a successful result: its content, without protocol metadata. */
function outputOf(result: CallToolResult): unknown {
  if (!("content" in result)) return result.toolResult;
  return {
    content: result.content,
    ...(result.structuredContent === undefined ? {} : { structuredContent: result.structuredContent }),
  };
}

/**
 * Runs `call` within `timeoutMs`, cut short by the turn's own abort too. A timeout becomes a tool error
 * for the model; the turn's abort stays an abort.
 */
async function withinTimeout<T>(
  call: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  describe: () => string,
  turnSignal: AbortSignal | undefined,
): Promise<T> {
  const controller = new AbortController();
  const timeout = new ToolCallFailure(describe());
  const timer = setTimeout(() => controller.abort(timeout), timeoutMs);
  const onTurnAbort = () => controller.abort(turnSignal?.reason);
  turnSignal?.addEventListener("abort", onTurnAbort, { once: true });
  if (turnSignal?.aborted) onTurnAbort();
  try {
    // Raced as well as signalled: a call must end when its signal fires, whatever the transport does.
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(controller.signal.reason);
      if (controller.signal.aborted) fail();
      else controller.signal.addEventListener("abort", fail, { once: true });
    });
    return await Promise.race([call(controller.signal), aborted]);
  } finally {
    clearTimeout(timer);
    turnSignal?.removeEventListener("abort", onTurnAbort);
  }
}

/**
 * Calls one listed tool of a connected server within `timeoutMs` (cut short by `abortSignal` too) and
 * answers what the model sees of its result. An error result, a failed call or a timeout is thrown as a
 * ToolCallFailure (redacted), which the model receives as a tool error; an abort stays an abort.
 */
export async function callServerTool(
  connection: ToolServerConnection,
  definition: McpToolDefinition,
  input: unknown,
  options: { toolCallId: string; timeoutMs: number; abortSignal?: AbortSignal },
): Promise<unknown> {
  const name = modelToolName(connection.server.id, definition.name);
  const call = connection.client.toolsFromDefinitions({ tools: [definition] })[definition.name]!;
  let result: CallToolResult;
  try {
    result = (await withinTimeout(
      async (signal) => call.execute(input, { toolCallId: options.toolCallId, messages: [], abortSignal: signal }),
      options.timeoutMs,
      () => `${name} timed out after ${options.timeoutMs} ms`,
      options.abortSignal,
    )) as CallToolResult;
  } catch (error) {
    if (options.abortSignal?.aborted) throw error;
    if (error instanceof ToolCallFailure) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ToolCallFailure(connection.redact(`${name} failed: ${message}`));
  }
  if (result.isError) throw new ToolCallFailure(connection.redact(`${name} returned an error: ${errorTextOf(result)}`));
  return outputOf(result);
}

/** What the model is told of a listed tool, and whether a call waits for a person. */
export function modelToolOf(server: Pick<ToolServerRow, "id" | "approvals">, definition: McpToolDefinition) {
  return {
    name: modelToolName(server.id, definition.name),
    description: definition.description ?? definition.title ?? definition.name,
    needsApproval: needsApproval(approvalOf(server.approvals, definition.name), definition.annotations),
  };
}

/** AI SDK tools, named `<serverId>__<toolName>`, for listed tools of one connected server; each call goes through the connection. */
export function serverToolSet(connection: ToolServerConnection, definitions: readonly McpToolDefinition[], timeoutMs: number): ToolSet {
  const tools: ToolSet = {};
  for (const definition of definitions) {
    const { name, description, needsApproval } = modelToolOf(connection.server, definition);
    tools[name] = tool({
      description,
      inputSchema: inputSchemaOf(definition),
      needsApproval,
      execute: (input, { toolCallId, abortSignal }) => callServerTool(connection, definition, input, { toolCallId, timeoutMs, abortSignal }),
    }) as Tool;
  }
  return tools;
}

/** A tool that cannot be offered (server missing or down, tool not listed), and why. */
export interface UnavailableTool {
  /** The model's name for it. */
  name: string;
  reason: string;
}

/**
 * Stand-ins for tools that cannot be offered: the model may still call the name it was told about, and
 * gets the reason as the tool error. They need no approval: calling them does nothing.
 */
export function unavailableToolSet(unavailable: readonly UnavailableTool[]): ToolSet {
  const tools: ToolSet = {};
  for (const { name, reason } of unavailable) {
    tools[name] = tool({
      description: `Unavailable: ${reason}`,
      inputSchema: jsonSchema<Record<string, unknown>>({ type: "object", additionalProperties: true }),
      needsApproval: false,
      execute: async (): Promise<unknown> => {
        throw new ToolCallFailure(reason);
      },
    }) as Tool;
  }
  return tools;
}
