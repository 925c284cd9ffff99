import type { UIMessage, UIMessageChunk } from "ai";
import { readUIMessageStream } from "ai";
import { expect } from "vitest";

export interface ErrorBody {
  error: { code: string; message: string; field?: string; issues?: Array<{ path: string; message: string }> };
}

/** An execution as the API answers it (docs/api.md § Routes, `GET /api/executions/:id`). */
export interface ExecutionBody {
  id: string;
  mode: "classic" | "durable";
  status: "running" | "suspended" | "completed" | "failed" | "cancelled";
  agentId: string;
  conversationId: string;
  workflowRunId?: string;
  pendingApprovals: Array<{ toolCallId: string; toolName: string; input: unknown; requestedAt: string }>;
  metadata: Record<string, unknown>;
  error?: string;
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
}

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Asserts the contract's JSON error body and answers its `error` object. */
export async function expectError(response: Response, status: number, code: string, mentions?: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as ErrorBody;
  expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  expect(body.error.message.length).toBeGreaterThan(0);
  if (mentions) expect(body.error.message).toMatch(mentions);
  return body.error;
}

/** A 400 validation error whose `field` (and message) name the offending field. */
export async function expectInvalid(response: Response, field: RegExp, mentions: RegExp = field) {
  const error = await expectError(response, 400, "invalid_input", mentions);
  expect(error.field).toMatch(field);
  return error;
}

/** Builds the final assistant message from a UI message stream, as useChat does. */
export async function finalMessage(stream: ReadableStream<UIMessageChunk>, message?: UIMessage): Promise<UIMessage> {
  let last: UIMessage | undefined;
  for await (const snapshot of readUIMessageStream({ stream, message, terminateOnError: true })) last = snapshot;
  if (!last) throw new Error("the stream built no message");
  return last;
}

/** The text parts of a message, joined. */
export const textParts = (message: UIMessage) =>
  message.parts.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("");
