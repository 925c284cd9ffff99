import { randomInt } from "node:crypto";
import type { StreamEvent } from "../streams";

/**
 * The wire format of the Durable Streams read protocol, as `@durable-streams/client` reads it: response
 * headers, the long-poll cursor, and the SSE `data` / `control` frames.
 */
export const STREAM_NEXT_OFFSET = "Stream-Next-Offset";
export const STREAM_UP_TO_DATE = "Stream-Up-To-Date";
export const STREAM_CLOSED = "Stream-Closed";
export const STREAM_CURSOR = "Stream-Cursor";

/** Sent on every answer: the answers are one user's and change as the run goes on. */
export const STREAM_BASE_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  // Lets a browser read the protocol headers wherever a proxy allows the origin (Tether itself sets no CORS).
  "access-control-expose-headers": [STREAM_NEXT_OFFSET, STREAM_UP_TO_DATE, STREAM_CLOSED, STREAM_CURSOR].join(", "),
} as const;

/** Where a read stands once it has answered. */
export interface ReadPosition {
  /** The offset to read after next: the last event's, or the request's own when nothing new came. */
  nextOffset: string;
  upToDate: boolean;
  closed: boolean;
  /** Only on live answers of a stream that is still open. */
  cursor?: string;
}

/** The protocol headers of an answer. */
export function positionHeaders(position: ReadPosition): Record<string, string> {
  return {
    [STREAM_NEXT_OFFSET]: position.nextOffset,
    ...(position.upToDate ? { [STREAM_UP_TO_DATE]: "true" } : {}),
    ...(position.closed ? { [STREAM_CLOSED]: "true" } : {}),
    ...(position.cursor !== undefined ? { [STREAM_CURSOR]: position.cursor } : {}),
  };
}

const CURSOR_INTERVAL_MS = 20_000;
/** Up to an hour of intervals: a client echoing a cursor that is not behind gets one further ahead. */
const CURSOR_JITTER_INTERVALS = 180;

/**
 * The long-poll cursor: the number of the current 20 s interval. A client that echoes a cursor that is not
 * behind the current one gets a larger one, so two polls of one offset never share a cache key.
 */
export function nextCursor(echoed: string | undefined, now = Date.now()): string {
  const current = Math.floor(now / CURSOR_INTERVAL_MS);
  const given = echoed !== undefined && /^\d{1,15}$/.test(echoed) ? Number(echoed) : undefined;
  if (given === undefined || given < current) return String(current);
  return String(given + 1 + randomInt(CURSOR_JITTER_INTERVALS));
}

/** A batch of events as the JSON array of their UI message chunks. */
export function chunksJson(events: readonly StreamEvent[]): string {
  return `[${events.map((event) => event.data ?? JSON.stringify(event.chunk)).join(",")}]`;
}

export function sseDataFrame(events: readonly StreamEvent[]): string {
  return `event: data\ndata: ${chunksJson(events)}\n\n`;
}

export function sseControlFrame(position: ReadPosition): string {
  const control = {
    streamNextOffset: position.nextOffset,
    ...(position.closed ? { streamClosed: true } : { streamCursor: position.cursor }),
    upToDate: position.upToDate || position.closed,
  };
  return `event: control\ndata: ${JSON.stringify(control)}\n\n`;
}
