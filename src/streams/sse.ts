import type { StreamEvent } from "./types";

/** Sent last on every SSE response, after the terminal event (or a source failure). */
export const SSE_DONE = "data: [DONE]\n\n";

/** An SSE comment that keeps proxies and clients from timing out an idle connection. */
export const SSE_PING = ": ping\n\n";

const DEFAULT_KEEP_ALIVE_MS = 15_000;

/**
 * Frames one event as `id: <offset>\ndata: <JSON>\n\n`; the id is what a client sends
 * back as `Last-Event-ID` to resume.
 * @throws TypeError if `offset` contains a line break (it would corrupt the framing).
 */
export function formatSseEvent(offset: string, chunk: unknown): string {
  if (/[\r\n]/.test(offset)) throw new TypeError("An SSE id cannot contain line breaks");
  return `id: ${offset}\ndata: ${JSON.stringify(chunk)}\n\n`;
}

/** Options of {@link toSseByteStream}. */
export interface SseByteStreamOptions {
  /** Send {@link SSE_PING} after this long without output. Default 15 000 ms. */
  keepAliveMs?: number;
  /** Aborting ends the response (with {@link SSE_DONE}) and cancels the source. */
  signal?: AbortSignal;
}

interface EventSource {
  next(): Promise<IteratorResult<StreamEvent, unknown>>;
  cancel(): void;
}

function openSource(events: AsyncIterable<StreamEvent> | ReadableStream<StreamEvent>): EventSource {
  if ("getReader" in events && typeof events.getReader === "function") {
    const reader = events.getReader();
    return {
      next: async () => {
        const result = await reader.read();
        return result.done ? { done: true, value: undefined } : result;
      },
      cancel: () => void reader.cancel().catch(() => undefined),
    };
  }
  const iterator = (events as AsyncIterable<StreamEvent>)[Symbol.asyncIterator]();
  return {
    next: () => iterator.next(),
    cancel: () => {
      // Not awaited: an async generator only runs return() once its pending next() settles.
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    },
  };
}

type Outcome =
  | { kind: "event"; result: IteratorResult<StreamEvent, unknown> }
  | { kind: "failed" }
  | { kind: "idle" }
  | { kind: "aborted" };

/**
 * Turns stream events into an SSE byte stream. Pull-based: the source is read only when
 * the consumer wants more. Sends {@link SSE_PING} after `keepAliveMs` of silence, and
 * always ends with {@link SSE_DONE} once the source ends, fails, or `signal` aborts.
 * Cancelling the returned stream (client disconnect) cancels the source.
 */
export function toSseByteStream(
  events: AsyncIterable<StreamEvent> | ReadableStream<StreamEvent>,
  options: SseByteStreamOptions = {},
): ReadableStream<Uint8Array> {
  const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  const { signal } = options;
  const encoder = new TextEncoder();
  const source = openSource(events);
  // Kept across pulls: after a ping the same read is still outstanding and must not be repeated.
  let pendingRead: Promise<Outcome> | undefined;
  let ended = false;
  let clearKeepAlive: (() => void) | undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<Outcome>((resolve) => {
    if (signal === undefined) return;
    onAbort = () => resolve({ kind: "aborted" });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });

  const stop = (): void => {
    ended = true;
    clearKeepAlive?.();
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  };

  const idle = (): Promise<Outcome> =>
    new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => resolve({ kind: "idle" }), keepAliveMs);
      clearKeepAlive = () => {
        clearTimeout(timer);
        resolve({ kind: "idle" });
      };
    });

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (ended) return;
        pendingRead ??= source.next().then(
          (result): Outcome => ({ kind: "event", result }),
          (): Outcome => ({ kind: "failed" }),
        );
        const outcome = await Promise.race([pendingRead, aborted, idle()]);
        clearKeepAlive?.();
        clearKeepAlive = undefined;
        // The consumer may have cancelled while this pull was waiting.
        if (ended) return;
        if (outcome.kind === "idle") {
          controller.enqueue(encoder.encode(SSE_PING));
          return;
        }
        pendingRead = undefined;
        if (outcome.kind === "event" && !outcome.result.done) {
          const event = outcome.result.value;
          controller.enqueue(encoder.encode(formatSseEvent(event.offset, event.chunk)));
          return;
        }
        stop();
        if (outcome.kind === "aborted") source.cancel();
        controller.enqueue(encoder.encode(SSE_DONE));
        controller.close();
      },
      cancel() {
        stop();
        source.cancel();
      },
    },
    { highWaterMark: 0 },
  );
}
