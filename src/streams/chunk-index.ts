import { GoneError, InvalidInputError } from "../errors";
import { CLASSIC_ROUND } from "./buffer";
import { encodeOffset } from "./offset";
import type { ClassicStream, StreamEvent } from "./types";

/**
 * Chunk indexes: how the Workflow SDK addresses a stream (`startIndex`, which `WorkflowChatTransport` sends
 * when it reconnects). Chunk i is the i-th event a reader of the stream gets from its first one; a negative
 * index counts back from the end of what there is now (-3: the last three). Tether's offsets stay the
 * stream's own address; these functions map an index onto them (classic) or onto a reader (durable).
 */

/** A stream read from a chunk index; for a negative index, `tailIndex` is the index of the last chunk there was. */
export interface ChunkIndexedEvents {
  events: AsyncIterable<StreamEvent>;
  tailIndex?: number;
}

/**
 * A classic stream from chunk `startIndex`. Its event i has offset `0.<i>`, so the index maps onto an offset
 * exactly. Chunks the caps dropped answer 410 like an expired offset, and so does a dropped chunk just before
 * `startIndex`: a reader the caps overtook ends with an `expired` event that its client counted as a chunk,
 * and resuming right after that count would skip the chunk the client never got.
 */
export function readClassicFromChunk(stream: ClassicStream, startIndex: number): ChunkIndexedEvents {
  const count = stream.nextIndex;
  const first = startIndex < 0 ? Math.max(0, count + startIndex) : startIndex;
  if (first > count) throw beyondTheTurn(startIndex, count);
  const firstNeeded = startIndex > 0 ? first - 1 : first;
  if (firstNeeded < stream.firstRetainedIndex) {
    throw new GoneError(`the turn's chunks from index ${firstNeeded} on are no longer buffered`);
  }
  const after = first === 0 ? undefined : encodeOffset({ round: CLASSIC_ROUND, index: first - 1 });
  return { events: stream.read(after), tailIndex: startIndex < 0 ? count - 1 : undefined };
}

/**
 * A stream from chunk `startIndex`, counted on the events its reader yields: a durable turn's reader skips
 * superseded step attempts, so only what it yields is numbered the same on every reconnect. The chunks
 * before `startIndex` are read (and dropped) before this answers, so a turn too short for it answers 400.
 * `live`: the source may still grow, so a negative index reads only to its first pause (see {@link readTail}).
 */
export async function readFromChunk(
  source: AsyncIterable<StreamEvent>,
  startIndex: number,
  options: { live: boolean },
): Promise<ChunkIndexedEvents> {
  const iterator = source[Symbol.asyncIterator]();
  if (startIndex < 0) return readTail(iterator, -startIndex, options.live);
  for (let skipped = 0; skipped < startIndex; skipped++) {
    if ((await iterator.next()).done) throw beyondTheTurn(startIndex, skipped);
  }
  return { events: heldThenRest([], iterator) };
}

/** A live durable reader cannot say what it holds now: stored chunks arrive back to back, a model's tokens 20 ms or more apart. */
const TAIL_FIRST_EVENT_MS = 500;
const TAIL_QUIET_MS = 10;
/** However fast a live model writes, the answer does not wait longer than this for the tail. */
const TAIL_MAX_WAIT_MS = 2_000;

/**
 * The last `size` chunks of what the source holds now, then whatever follows. A source that is not live
 * is read to its end; a live one until it pauses, which is "now". The tail index names the last chunk read,
 * so the first one served is `tailIndex + 1 - size` (or 0), exactly where a client resolving a negative
 * index (`tailIndex + 1 + startIndex`) counts from.
 */
async function readTail(iterator: AsyncIterator<StreamEvent>, size: number, live: boolean): Promise<ChunkIndexedEvents> {
  const tail: StreamEvent[] = [];
  let count = 0;
  let pending: Promise<IteratorResult<StreamEvent>> | undefined = iterator.next();
  const deadline = Date.now() + TAIL_MAX_WAIT_MS;
  let waitMs = TAIL_FIRST_EVENT_MS;
  for (;;) {
    const result = live ? await settledWithin(pending, Math.min(waitMs, deadline - Date.now())) : await pending;
    if (result === undefined) break;
    if (result.done) {
      pending = undefined;
      break;
    }
    count += 1;
    tail.push(result.value);
    // Trimmed in batches: dropping one chunk per chunk read would make a long tail quadratic.
    if (tail.length >= 2 * size) tail.splice(0, tail.length - size);
    pending = iterator.next();
    waitMs = TAIL_QUIET_MS;
  }
  return { events: heldThenRest(tail.slice(-size), pending && iterator, pending), tailIndex: count - 1 };
}

/** The promise's result if it settles within `ms`, else undefined (the promise stays usable). */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The events already read, then the rest of the reader (its read in flight first); stopping it stops the reader. */
async function* heldThenRest(
  held: StreamEvent[],
  rest: AsyncIterator<StreamEvent> | undefined,
  pending?: Promise<IteratorResult<StreamEvent>>,
): AsyncGenerator<StreamEvent> {
  try {
    yield* held;
    if (!rest) return;
    for (let result = await (pending ?? rest.next()); !result.done; result = await rest.next()) yield result.value;
  } finally {
    await rest?.return?.();
  }
}

function beyondTheTurn(startIndex: number, count: number): InvalidInputError {
  return new InvalidInputError("startIndex", `startIndex ${startIndex} is beyond the ${count} chunks of this turn`);
}
