import type { UIMessageChunk } from "ai";

/** Every way a stream can end. `suspended`: the turn ended waiting for a tool approval. */
export const TERMINAL_REASONS = [
  "completed",
  "failed",
  "cancelled",
  "superseded",
  "expired",
  "suspended",
] as const;

/** Why a stream ended; carried by the terminal event every reader sees last. */
export type TerminalReason = (typeof TERMINAL_REASONS)[number];

/** One buffered AI SDK UI message chunk together with its wire offset. */
export interface StreamEvent {
  offset: string;
  chunk: UIMessageChunk;
  /** The chunk as JSON, when whoever stored it has serialised it already. */
  data?: string;
}
