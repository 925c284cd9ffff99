import { AISDKError, asSchema, RetryError, type JSONSchema7, type ToolSet, type UIMessage, type UIMessageChunk } from "ai";
import type { ModelSpec } from "../../agents/models";

/**
 * Messages between the main thread and a model worker. A worker runs a turn's `streamText`; everything
 * with side effects or connections (tools, MCP sessions, the database) stays in the main thread, which
 * the worker asks for each tool call.
 */

/** A tool as the model sees it; its execute stays in the main thread. */
export interface ToolDescription {
  name: string;
  description?: string;
  inputSchema: JSONSchema7;
  needsApproval: boolean;
}

export interface TurnRequest {
  spec: ModelSpec;
  system?: string;
  history: UIMessage[];
  tools: ToolDescription[];
  maxSteps: number;
  maxRetries: number;
  messageId?: string;
  sendStart: boolean;
}

/** An error as it crosses the thread boundary. */
export interface ErrorDescription {
  name: string;
  message: string;
  /** A failed tool call the model is told about (see ToolCallFailure), not a failure of the turn. */
  toolCallFailure?: boolean;
  /** Whether trying again may help, as the provider's error says (a durable round's retries read it). */
  isRetryable?: boolean;
}

export type ToMain =
  | { type: "chunks"; turn: number; chunks: UIMessageChunk[] }
  | { type: "tool-call"; turn: number; call: number; toolName: string; toolCallId: string; input: unknown }
  | { type: "end"; turn: number; responseMessage?: UIMessage; failure?: ErrorDescription };

/** What a worker posts: the messages of one turn of its loop, in order. */
export interface ToMainBatch {
  type: "batch";
  messages: ToMain[];
}

export type ToWorker =
  | ({ type: "turn"; turn: number } & TurnRequest)
  | { type: "abort"; turn: number }
  | { type: "tool-result"; turn: number; call: number; output: unknown }
  | { type: "tool-error"; turn: number; call: number; error: ErrorDescription };

/** What a provider's error says of a retry: its own `isRetryable`, or no for the AI SDK's request errors. */
function retryableOf(error: unknown): boolean | undefined {
  if (RetryError.isInstance(error)) return retryableOf(error.lastError);
  const retryable = (error as { isRetryable?: unknown } | null)?.isRetryable;
  if (typeof retryable === "boolean") return retryable;
  return AISDKError.isInstance(error) ? false : undefined;
}

export function describeError(error: unknown, toolCallFailure?: boolean): ErrorDescription {
  const isRetryable = retryableOf(error);
  return {
    name: error instanceof Error ? error.name : "Error",
    message: error instanceof Error ? error.message : String(error),
    ...(toolCallFailure ? { toolCallFailure } : {}),
    ...(isRetryable === undefined ? {} : { isRetryable }),
  };
}

/** The error a description stands for, where it arrives. */
export function errorOf(description: ErrorDescription): Error {
  const error = Object.assign(new Error(description.message), { name: description.name });
  return description.isRetryable === undefined ? error : Object.assign(error, { isRetryable: description.isRetryable });
}

/**
 * The tools of a turn as a worker can rebuild them, or undefined when one cannot cross (an approval
 * decided by a function): such a turn runs in the main thread.
 */
export async function describeTools(tools: ToolSet): Promise<ToolDescription[] | undefined> {
  const described: ToolDescription[] = [];
  for (const [name, tool] of Object.entries(tools)) {
    if (typeof tool.needsApproval === "function" || tool.type === "provider" || !tool.execute) return undefined;
    described.push({
      name,
      description: tool.description,
      inputSchema: await asSchema(tool.inputSchema).jsonSchema,
      needsApproval: tool.needsApproval === true,
    });
  }
  return described;
}
