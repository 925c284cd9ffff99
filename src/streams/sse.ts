import { UI_MESSAGE_STREAM_HEADERS as AI_SDK_UI_MESSAGE_STREAM_HEADERS } from "ai";
import { StreamReader } from "./reader";
import type { StreamEvent } from "./types";

/** Sent last on every SSE response, after the terminal event (or a source failure). */
export const SSE_DONE = "data: [DONE]\n\n";

// `ai`'s set less `connection: keep-alive`, which Tether has never sent: it is a hop-by-hop header (HTTP/2
// forbids it) and whether a connection stays open is for Node's HTTP server to decide, not a route.
const { connection: _connection, ...aiSdkHeadersWithoutConnection } = AI_SDK_UI_MESSAGE_STREAM_HEADERS;

/**
 * The response headers of an AI SDK UI message stream sent as SSE: content-type, cache-control,
 * x-vercel-ai-ui-message-stream and x-accel-buffering (proxies must not buffer it), as docs/api.md lists.
 */
export const UI_MESSAGE_STREAM_HEADERS = Object.freeze(aiSdkHeadersWithoutConnection);

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
  const writer = new SseWriter(openSource(events), options);
  return new ReadableStream<Uint8Array>(
    {
      start: (controller) => writer.start(controller),
      pull: () => writer.pull(),
      cancel: () => writer.cancel(),
    },
    { highWaterMark: 0 },
  );
}

/**
 * The state of one SSE response: what is framed but not sent, the pull waiting for output, the read in
 * flight, the keep-alive timer. Callbacks handed to timers, promises and the signal are fields bound once,
 * so that no pull or event allocates a closure.
 */
class SseWriter {
  readonly #source: EventSource;
  readonly #keepAliveMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onEnd: (() => void) | undefined;
  readonly #encoder = new TextEncoder();
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #ended = false;
  // Kept across pulls: after a ping or a flush the same read is still outstanding and must
  // be neither repeated nor lost.
  #reading = false;
  // Framed events not enqueued yet.
  #batch = "";
  // Resolves the pull in progress; undefined while the consumer is not asking for more.
  #settlePull: (() => void) | undefined;
  #pullStartedAt = 0;
  // The end of the current microtask checkpoint: events that arrived before it were
  // available at once and share a chunk; a read still pending then has to wait.
  #boundary = 0;
  #boundaryPending = false;
  #yieldBeforeNextRead = false;
  // One lazily re-armed timer per stream, only while a pull waits for a pending read.
  #keepAliveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(source: EventSource, options: SseByteStreamOptions) {
    this.#source = source;
    this.#keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
    this.#signal = options.signal;
    this.#onEnd = options.onEnd;
  }

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller;
    const signal = this.#signal;
    if (signal === undefined) return;
    if (signal.aborted) this.#end(true);
    else signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  pull(): Promise<void> | undefined {
    if (this.#ended) return;
    return new Promise<void>((resolve) => {
      this.#settlePull = resolve;
      this.#pullStartedAt = Date.now();
      if (this.#yieldBeforeNextRead) {
        // The previous chunk was cut at the size limit: let I/O and timers run first.
        this.#yieldBeforeNextRead = false;
        setImmediate(this.#resume);
      } else {
        this.#resume();
      }
    });
  }

  /** The consumer went away (client disconnect): no DONE, just release the source. */
  cancel(): void {
    if (this.#ended) return;
    this.#stop();
    this.#settle();
    this.#source.cancel();
  }

  /** Resolves the pull in progress, if any. */
  #settle(): void {
    const resolve = this.#settlePull;
    this.#settlePull = undefined;
    this.#boundaryPending = false;
    resolve?.();
  }

  /** Marks the stream ended and lets go of the timer and the signal; called once by every way of ending. */
  #stop(): void {
    this.#ended = true;
    if (this.#keepAliveTimer !== undefined) clearTimeout(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#onEnd?.();
  }

  #flush(): void {
    this.#controller.enqueue(this.#encoder.encode(this.#batch));
    this.#batch = "";
    this.#settle();
  }

  /** Sends what is gathered, then DONE, and closes. */
  #end(cancelSource: boolean): void {
    if (this.#ended) return;
    this.#stop();
    if (cancelSource) this.#source.cancel();
    if (this.#batch !== "") this.#controller.enqueue(this.#encoder.encode(this.#batch));
    this.#batch = "";
    this.#controller.enqueue(this.#encoder.encode(SSE_DONE));
    this.#controller.close();
    this.#settle();
  }

  /**
   * An event that cannot be framed (an offset with a line break, a chunk JSON cannot hold) errors the
   * response instead of ending it with DONE: the client must not take a corrupt stream for a complete one.
   */
  #fail(error: unknown): void {
    this.#stop();
    this.#source.cancel();
    this.#controller.error(error);
    this.#settle();
  }

  readonly #onAbort = (): void => {
    this.#end(true);
  };

  readonly #onKeepAlive = (): void => {
    this.#keepAliveTimer = undefined;
    if (this.#ended || this.#settlePull === undefined) return;
    const remaining = this.#pullStartedAt + this.#keepAliveMs - Date.now();
    if (remaining > 0) {
      this.#keepAliveTimer = setTimeout(this.#onKeepAlive, remaining);
    } else if (this.#batch !== "") {
      this.#flush();
    } else {
      this.#controller.enqueue(this.#encoder.encode(SSE_PING));
      this.#settle();
    }
  };

  #armKeepAlive(): void {
    if (this.#keepAliveTimer !== undefined || !Number.isFinite(this.#keepAliveMs)) return;
    this.#keepAliveTimer = setTimeout(this.#onKeepAlive, Math.max(0, this.#pullStartedAt + this.#keepAliveMs - Date.now()));
  }

  readonly #onBoundary = (id: number): void => {
    if (id !== this.#boundary || !this.#boundaryPending || this.#ended || this.#settlePull === undefined) return;
    this.#boundaryPending = false;
    if (this.#batch !== "") this.#flush();
    else this.#armKeepAlive();
  };

  #startBoundary(): void {
    this.#boundaryPending = true;
    const id = ++this.#boundary;
    // A tick queued from a microtask runs only once the whole microtask queue is drained.
    queueMicrotask(() => process.nextTick(this.#onBoundary, id));
  }

  /** Frames one result into the batch; false when it ended the stream. */
  #take(result: ReadResult): boolean {
    if (result.done) {
      this.#end(false);
      return false;
    }
    try {
      const event = result.value;
      // A buffered event keeps its JSON: reading `chunk` would parse it again, per event of a replay.
      this.#batch +=
        event.data === undefined ? formatSseEvent(event.offset, event.chunk) : formatSseEvent(event.offset, undefined, event.data);
    } catch (error) {
      this.#fail(error);
      return false;
    }
    return true;
  }

  /** Takes what is available at once, then flushes at the size limit or waits for the next event. */
  #readOn(): void {
    // Not asked for more: keep what was read for the next pull and do not read ahead.
    if (this.#ended || this.#settlePull === undefined) return;
    while (this.#batch.length < MAX_BATCH_CHARS) {
      const available = this.#source.poll();
      if (available === undefined) break;
      if (!this.#take(available)) return;
    }
    if (this.#batch.length >= MAX_BATCH_CHARS) {
      this.#yieldBeforeNextRead = true;
      this.#flush();
      return;
    }
    // After a wait, also take whatever became available together with this event.
    if (!this.#boundaryPending) this.#startBoundary();
    this.#read();
  }

  #read(): void {
    this.#reading = true;
    let next: Promise<ReadResult>;
    try {
      next = this.#source.next();
    } catch {
      this.#onReadFailure();
      return;
    }
    next.then(this.#onReadResult, this.#onReadFailure);
  }

  readonly #onReadResult = (result: ReadResult): void => {
    this.#reading = false;
    if (this.#ended) return;
    if (this.#take(result)) this.#readOn();
  };

  /** The source threw or rejected: the response still ends cleanly, with DONE. */
  readonly #onReadFailure = (): void => {
    this.#reading = false;
    this.#end(false);
  };

  readonly #resume = (): void => {
    if (this.#ended) {
      this.#settle();
      return;
    }
    this.#startBoundary();
    if (!this.#reading) this.#readOn();
  };
}
