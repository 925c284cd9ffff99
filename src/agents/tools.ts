import { tool, zodSchema, type Schema, type ToolSet } from "ai";
import { z } from "zod";
import type { OutboxRepository } from "../db/repositories/outbox";
import { InvalidInputError } from "../errors";
import {
  modelToolName,
  openServerTools,
  parseServerToolReference,
  recordedToolSet,
  type RecordedServerTools,
  type ToolServerAccess,
  unavailableToolSet,
} from "./mcp";

/** What a tool may use while it runs; built by the runner, never serialised. */
export interface ToolContext {
  executionId: string;
  toolCallId: string;
  outbox: OutboxRepository;
  now(): Date;
}

/** A built-in tool: its contract with the model plus an execute that is idempotent by toolCallId. */
export interface ToolDefinition<Input = unknown, Output = unknown> {
  description: string;
  inputSchema: z.ZodType<Input>;
  needsApproval: boolean;
  execute(input: Input, context: ToolContext): Promise<Output>;
}

const getTime: ToolDefinition<Record<string, never>, { iso: string }> = {
  description: "Returns the current time as an ISO 8601 string.",
  inputSchema: z.object({}).strict() as z.ZodType<Record<string, never>>,
  needsApproval: false,
  execute: async (_input, context) => ({ iso: context.now().toISOString() }),
};

const sendEmail: ToolDefinition<{ to: string; subject: string; body: string }, { messageId: string }> = {
  description: "Sends an email. A person must approve each call.",
  inputSchema: z.object({
    to: z.string().email().max(320),
    subject: z.string().max(500),
    body: z.string().max(100_000),
  }),
  needsApproval: true,
  async execute(input, context) {
    // Keyed on the tool call id: a retry or a repeated approval finds the row written the first time.
    const sent = await context.outbox.sendOnce({ toolCallId: context.toolCallId, executionId: context.executionId, ...input });
    return { messageId: sent.messageId };
  },
};

export const BUILT_IN_TOOLS = {
  get_time: getTime,
  send_email: sendEmail,
} as const;

export type ToolName = keyof typeof BUILT_IN_TOOLS;
export const TOOL_NAMES = Object.keys(BUILT_IN_TOOLS) as ToolName[];

export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(BUILT_IN_TOOLS, name);
}

export function toolDefinition(name: string): ToolDefinition {
  if (!isToolName(name)) throw new InvalidInputError("tools", `unknown tool ${JSON.stringify(name)}`);
  return BUILT_IN_TOOLS[name] as unknown as ToolDefinition;
}

// One AI SDK schema per built-in tool for the life of the process: it converts to JSON Schema once, where a
// bare zod schema would be converted again on every turn (a measurable share of starting one).
const modelSchemas = new Map<ToolDefinition, Schema<unknown>>();
function modelSchemaOf(definition: ToolDefinition): Schema<unknown> {
  let schema = modelSchemas.get(definition);
  if (!schema) modelSchemas.set(definition, (schema = zodSchema(definition.inputSchema)));
  return schema;
}

/** AI SDK tools for an agent's tool names, bound to one execution. */
export function buildToolSet(
  names: readonly string[],
  context: Omit<ToolContext, "toolCallId">,
): ToolSet {
  const tools: ToolSet = {};
  for (const name of names) {
    const definition = toolDefinition(name);
    tools[name] = tool({
      description: definition.description,
      inputSchema: modelSchemaOf(definition),
      needsApproval: definition.needsApproval,
      execute: (input: unknown, { toolCallId }: { toolCallId: string }) =>
        definition.execute(input, { ...context, toolCallId }),
    });
  }
  return tools;
}

/** The tools of one turn; close() ends the MCP sessions opened for it (call it however the turn ends). */
export interface AgentTools {
  tools: ToolSet;
  close(): Promise<void>;
}

/**
 * Where a turn's MCP tools come from: live sessions for the turn (classic runs), or the list a durable
 * run recorded when it started, whose calls the workflow makes in steps of their own.
 */
export type ServerToolSource = { access: ToolServerAccess } | { recorded: RecordedServerTools };

/** Stand-ins for explicitly named MCP tools when the turn has no source for them. */
function unofferedToolSet(entries: readonly string[]) {
  const names = entries.flatMap((entry) => {
    const reference = parseServerToolReference(entry);
    return reference && reference.toolName !== "*" ? [modelToolName(reference.serverId, reference.toolName)] : [];
  });
  return unavailableToolSet(names.map((name) => ({ name, reason: `${name} was not offered when this run started` })));
}

/**
 * The AI SDK tools an agent's `tools` name for one turn: built-in tools, and MCP tools
 * (`"<serverId>:<toolName>"`, `"<serverId>:*"`) from `servers`.
 */
export async function openAgentTools(
  names: readonly string[],
  context: Omit<ToolContext, "toolCallId">,
  servers?: ServerToolSource,
): Promise<AgentTools> {
  const builtIn = names.filter((name) => parseServerToolReference(name) === undefined);
  const tools = buildToolSet(builtIn, context);
  if (servers && "access" in servers) {
    const opened = await openServerTools(names, servers.access);
    return { tools: { ...opened.tools, ...tools }, close: opened.close };
  }
  const serverTools = servers ? recordedToolSet(servers.recorded) : unofferedToolSet(names);
  return { tools: { ...serverTools, ...tools }, close: async () => {} };
}
