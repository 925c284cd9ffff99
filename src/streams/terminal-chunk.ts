import type { UIMessageChunk } from "ai";
import { TERMINAL_REASONS, type StreamEvent, type TerminalReason } from "./types";

/**
 * The chunk of the final event of every stream. It is an AI SDK transient data chunk,
 * so the AI SDK client delivers it to `onData` but never stores it in the message.
 */
export interface TerminalChunk {
  type: "data-terminal";
  data: { reason: TerminalReason };
  transient: true;
}

/** Builds the terminal chunk for `reason`. */
export function createTerminalChunk(reason: TerminalReason): TerminalChunk & UIMessageChunk {
  return { type: "data-terminal", data: { reason }, transient: true };
}

/** @returns the reason if `chunk` is a terminal chunk, otherwise `undefined`. */
export function terminalReasonOf(chunk: UIMessageChunk): TerminalReason | undefined {
  if (chunk.type !== "data-terminal") return undefined;
  const data: unknown = "data" in chunk ? chunk.data : undefined;
  if (typeof data !== "object" || data === null || !("reason" in data)) return undefined;
  const reason = data.reason;
  return TERMINAL_REASONS.find((known) => known === reason);
}

/**
 * A stream of nothing but its terminal event, at `offset`: the end of a run whose events are out of reach
 * (they lived in a process that is gone), so that its reader ends instead of waiting.
 */
export async function* terminalEventOnly(reason: TerminalReason, offset: string): AsyncGenerator<StreamEvent, void> {
  yield { offset, chunk: createTerminalChunk(reason) };
}
