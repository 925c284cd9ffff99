import { StreamReader } from "./reader";
import type { StreamEvent } from "./types";

/** Sent last on every SSE response, after the terminal event (or a source failure). */
export const SSE_DONE = "data: [DONE]\n\n";

/** The response headers of an AI SDK UI message stream sent as SSE (proxies must not buffer it). */
export const UI_MESSAGE_STREAM_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  "x-vercel-ai-ui-message-stream": "v1",
  "x-accel-buffering": "no",
} as const;

/** An SSE comment that keeps proxies and clients from timing out an idle connection. */
export const SSE_PING = ": ping\n\n";

const DEFAULT_KEEP_ALIVE_MS = 15_000;

/**
 * Frames one event as `id: <offset>\ndata: <JSON>\n\n`; the id is what a client sends
 * back as `Last-Event-ID` to resume.
 * @throws TypeError if `offset` contains a line break (it would corrupt the framing).
 */
export function formatSseEvent(offset: string, chunk: unknown, data?: string): string {
  if (/[\r\n]/.test(offset)) throw new TypeError("An SSE id cannot contain line breaks");
  return `id: ${offset}\ndata: ${data ?? JSON.stringify(chunk)}\n\n`;
}

/** Options of {@link toSseByteStream}. */
export interface SseByteStreamOptions {
  /** Send {@link SSE_PING} after this long without output. Default 15 000 ms. */
  keepAliveMs?: number;
  /** Aborting ends the response (with {@link SSE_DONE}) and cancels the source. */
  signal?: AbortSignal;
  /** Called when the stream has ended, failed or been cancelled (may be called more than once). */
  onEnd?: () => void;
}

/** Framed events are gathered into one chunk (one socket write) up to about this many characters. */
const MAX_BATCH_CHARS = 64 * 1024;

type ReadResult = IteratorResult<StreamEvent, unknown> | ReadableStreamReadResult<StreamEvent>;

interface EventSource {
  next(): Promise<ReadResult>;
  /** A result that is available without waiting, if the source can tell (a {@link StreamReader} can). */
  poll(): ReadResult | undefined;
  cancel(): void;
}

const cannotPoll = () => undefined;

function openSource(events: AsyncIterable<StreamEvent> | ReadableStream<StreamEvent>): EventSource {
  if ("getReader" in events && typeof events.getReader === "function") {
    const reader = events.getReader();
    return {
      next: () => reader.read(),
      poll: cannotPoll,
      cancel: () => void reader.cancel().catch(() => undefined),
    };
  }
  const iterator = (events as AsyncIterable<StreamEvent>)[Symbol.asyncIterator]();
  return {
    next: () => iterator.next(),
    poll: iterator instanceof StreamReader ? () => iterator.poll() : cannotPoll,
    cancel: () => {
      // A source that can stop a pending wait (a durable reader idle between rounds) is told at once.
      (events as { cancel?: () => void }).cancel?.();
      // Not awaited: an async generator only runs return() once its pending next() settles.
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    },
  };
}

/**
 * Turns stream events into an SSE byte stream. Pull-based: the source is read only when
 * the consumer wants more, with at most one read outstanding. Events that are available
 * at once (a replay) are framed into one chunk of up to ~64 KB per pull, and the event
 * loop gets a turn between such chunks. Sends {@link SSE_PING} after `keepAliveMs` of
 * silence, and always ends with {@link SSE_DONE} once the source ends, fails, or `signal`
 * aborts. Cancelling the returned stream (client disconnect) cancels the source.
 */
export function toSseByteStream(
  events: AsyncIterable<StreamEvent> | ReadableStream<StreamEvent>,
  options: SseByteStreamOptions = {},
): ReadableStream<Uint8Array> {
  const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  const { signal } = options;
  const encoder = new TextEncoder();
  const source = openSource(events);
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let ended = false;
  // Kept across pulls: after a ping or a flush the same read is still outstanding and must
  // be neither repeated nor lost.
  let reading = false;
  // Framed events not enqueued yet.
  let batch = "";
  // Resolves the pull in progress; undefined while the consumer is not asking for more.
  let settlePull: (() => void) | undefined;
  let pullStartedAt = 0;
  // The end of the current microtask checkpoint: events that arrived before it were
  // available at once and share a chunk; a read still pending then has to wait.
  let boundary = 0;
  let boundaryPending = false;
  let yieldBeforeNextRead = false;
  // One lazily re-armed timer per stream, only while a pull waits for a pending read.
  let keepAliveTimer: ReturnType<typeof setTimeout> | undefined;

  const settle = (): void => {
    const resolve = settlePull;
    settlePull = undefined;
    boundaryPending = false;
    resolve?.();
  };

  const stop = (): void => {
    ended = true;
    if (keepAliveTimer !== undefined) clearTimeout(keepAliveTimer);
    keepAliveTimer = undefined;
    signal?.removeEventListener("abort", onAbort);
    options.onEnd?.();
  };

  const flush = (): void => {
    controller.enqueue(encoder.encode(batch));
    batch = "";
    settle();
  };

  /** Sends what is gathered, then DONE, and closes. */
  const end = (cancelSource: boolean): void => {
    if (ended) return;
    stop();
    if (cancelSource) source.cancel();
    if (batch !== "") controller.enqueue(encoder.encode(batch));
    batch = "";
    controller.enqueue(encoder.encode(SSE_DONE));
    controller.close();
    settle();
  };

  function onAbort(): void {
    end(true);
  }

  const fail = (error: unknown): void => {
    stop();
    source.cancel();
    controller.error(error);
    settle();
  };

  const onKeepAlive = (): void => {
    keepAliveTimer = undefined;
    if (ended || settlePull === undefined) return;
    const remaining = pullStartedAt + keepAliveMs - Date.now();
    if (remaining > 0) {
      keepAliveTimer = setTimeout(onKeepAlive, remaining);
    } else if (batch !== "") {
      flush();
    } else {
      controller.enqueue(encoder.encode(SSE_PING));
      settle();
    }
  };

  const armKeepAlive = (): void => {
    if (keepAliveTimer !== undefined || !Number.isFinite(keepAliveMs)) return;
    keepAliveTimer = setTimeout(onKeepAlive, Math.max(0, pullStartedAt + keepAliveMs - Date.now()));
  };

  const onBoundary = (id: number): void => {
    if (id !== boundary || !boundaryPending || ended || settlePull === undefined) return;
    boundaryPending = false;
    if (batch !== "") flush();
    else armKeepAlive();
  };

  const startBoundary = (): void => {
    boundaryPending = true;
    const id = ++boundary;
    // A tick queued from a microtask runs only once the whole microtask queue is drained.
    queueMicrotask(() => process.nextTick(onBoundary, id));
  };

  /** Frames one result into the batch; false when it ended the stream. */
  const take = (result: ReadResult): boolean => {
    if (result.done) {
      end(false);
      return false;
    }
    try {
      const event = result.value;
      // A buffered event keeps its JSON: reading `chunk` would parse it again, per event of a replay.
      batch += event.data === undefined ? formatSseEvent(event.offset, event.chunk) : formatSseEvent(event.offset, undefined, event.data);
    } catch (error) {
      fail(error);
      return false;
    }
    return true;
  };

  /** Takes what is available at once, then flushes at the size limit or waits for the next event. */
  const readOn = (): void => {
    // Not asked for more: keep what was read for the next pull and do not read ahead.
    if (ended || settlePull === undefined) return;
    while (batch.length < MAX_BATCH_CHARS) {
      const available = source.poll();
      if (available === undefined) break;
      if (!take(available)) return;
    }
    if (batch.length >= MAX_BATCH_CHARS) {
      yieldBeforeNextRead = true;
      flush();
      return;
    }
    // After a wait, also take whatever became available together with this event.
    if (!boundaryPending) startBoundary();
    read();
  };

  const onResult = (result: ReadResult): void => {
    reading = false;
    if (ended) return;
    if (take(result)) readOn();
  };

  const onFailure = (): void => {
    reading = false;
    end(false);
  };

  function read(): void {
    reading = true;
    let next: Promise<ReadResult>;
    try {
      next = source.next();
    } catch {
      onFailure();
      return;
    }
    next.then(onResult, onFailure);
  }

  const resume = (): void => {
    if (ended) {
      settle();
      return;
    }
    startBoundary();
    if (!reading) readOn();
  };

  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        if (signal === undefined) return;
        if (signal.aborted) end(true);
        else signal.addEventListener("abort", onAbort, { once: true });
      },
      pull() {
        if (ended) return;
        return new Promise<void>((resolve) => {
          settlePull = resolve;
          pullStartedAt = Date.now();
          if (yieldBeforeNextRead) {
            // The previous chunk was cut at the size limit: let I/O and timers run first.
            yieldBeforeNextRead = false;
            setImmediate(resume);
          } else {
            resume();
          }
        });
      },
      cancel() {
        if (ended) return;
        stop();
        settle();
        source.cancel();
      },
    },
    { highWaterMark: 0 },
  );
}
