import type { UIMessageChunk } from "ai";
import type { StreamReader } from "./reader";

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

/** `"streaming"` until finished, then the reason it finished with. */
export type StreamStatus = "streaming" | TerminalReason;

/** One classic execution's stream as the run service uses it: the runner appends, HTTP responses read. */
export interface ClassicStream {
  readonly executionId: string;
  readonly status: StreamStatus;
  readonly conversationId?: string;
  /** The execution's owner, given at creation. */
  readonly ownerId?: string;
  /** How many events were appended so far: event i (offset `0.<i>`) is the i-th chunk a reader gets. */
  readonly nextIndex: number;
  /** The index of the oldest event still held (the caps dropped the ones before it). */
  readonly firstRetainedIndex: number;
  /** Stores the chunk as the next event; returns its offset. */
  append(chunk: UIMessageChunk): string;
  /** Ends the stream with its terminal event; the first reason wins. */
  finish(reason: TerminalReason): void;
  /** Every event after `after` (from the first when omitted), then live ones, up to the terminal event. */
  read(after?: string): StreamReader;
}

/** Where the run service keeps classic streams: a {@link StreamBufferRegistry} in the product. */
export interface ClassicStreamStore {
  configure(options: { maxBytesPerStream?: number; maxBytesTotal?: number; expireAfterMs?: number }): void;
  create(executionId: string, metadata?: { conversationId?: string; ownerId?: string }): ClassicStream;
  get(executionId: string): ClassicStream | undefined;
  /** The stream of the conversation's latest classic turn in this process. */
  currentForConversation(conversationId: string): ClassicStream | undefined;
  /** Ends every reader; later creates fail. */
  shutdown(): void;
  stats(): { streams: number; bytes: number; readers: number; liveBytes: number; maxBytesTotal: number };
  /** The bytes of the streams still live and the total cap: read for every new turn, so cheap. */
  liveBytes(): { liveBytes: number; maxBytesTotal: number };
}
