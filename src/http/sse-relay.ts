import { formatSseEvent, SSE_DONE, type StreamEvent } from "../streams";

const EVENT_END = "\n\n";
const ID_FIELD = "id: ";
const encoder = new TextEncoder();

export interface SseRelayOptions {
  /**
   * The events that end the stream when the upstream breaks off before its `[DONE]` (its process died);
   * `lastOffset` is the id of the last event relayed. A rejection errors the relayed stream.
   */
  onLost(lastOffset: string | undefined): Promise<AsyncIterable<StreamEvent>>;
  /** Aborting ends the relay with `[DONE]` (this server shuts down), as every local stream ends then. */
  signal?: AbortSignal;
  /** Stops the upstream request (the client went, or the relay ended). */
  cancelUpstream(): void;
  /** Called once when the relay has ended, however it ended. */
  onEnd?(): void;
}

/** The id of the last event in whole SSE events, if one carries one. */
function lastEventId(events: Buffer): string | undefined {
  const lineStart = events.lastIndexOf(`\n${ID_FIELD}`);
  const start = lineStart >= 0 ? lineStart + 1 : events.subarray(0, ID_FIELD.length).toString() === ID_FIELD ? 0 : -1;
  if (start < 0) return undefined;
  const end = events.indexOf("\n", start);
  return events.toString("utf8", start + ID_FIELD.length, end < 0 ? events.length : end);
}

/**
 * Relays another process's SSE response byte for byte, but only whole events: a partial event is held
 * until its blank line arrives, so that when the upstream breaks off mid-event the stream can still end
 * cleanly with what `onLost` answers (a terminal event) and `[DONE]`. Pull-based like the local streams:
 * the upstream is read only as fast as the client takes it.
 */
export function relaySse(upstream: ReadableStream<Uint8Array>, options: SseRelayOptions): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  let held: Buffer = Buffer.alloc(0);
  let lastOffset: string | undefined;
  let sawDone = false;
  let ended = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;

  const stop = (): boolean => {
    if (ended) return false;
    ended = true;
    options.signal?.removeEventListener("abort", onAbort);
    options.cancelUpstream();
    options.onEnd?.();
    return true;
  };

  const close = (tail?: string): void => {
    if (!stop()) return;
    if (tail) controller.enqueue(encoder.encode(tail));
    controller.close();
  };

  function onAbort(): void {
    close(SSE_DONE);
  }

  /** The whole events that `chunk` completes (and remembers what they say), or undefined when it completes none. */
  const wholeEvents = (chunk: Uint8Array): Buffer | undefined => {
    const bytes = held.length > 0 ? Buffer.concat([held, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const last = bytes.lastIndexOf(EVENT_END);
    if (last < 0) {
      held = bytes;
      return undefined;
    }
    const whole = bytes.subarray(0, last + EVENT_END.length);
    held = bytes.subarray(whole.length);
    lastOffset = lastEventId(whole) ?? lastOffset;
    sawDone = whole.subarray(whole.length - SSE_DONE.length).toString() === SSE_DONE;
    return whole;
  };

  /** The upstream is gone before its end: finish with the run's end as this process can tell it. */
  const endAfterLoss = async (): Promise<void> => {
    try {
      let tail = "";
      for await (const event of await options.onLost(lastOffset)) tail += formatSseEvent(event.offset, event.chunk, event.data);
      close(tail + SSE_DONE);
    } catch (error) {
      if (stop()) controller.error(error);
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        if (options.signal?.aborted) onAbort();
        else options.signal?.addEventListener("abort", onAbort, { once: true });
      },
      async pull() {
        while (!ended) {
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await reader.read();
          } catch {
            if (!ended) await endAfterLoss();
            return;
          }
          if (ended) return;
          if (result.done) {
            if (sawDone) close();
            else await endAfterLoss();
            return;
          }
          const whole = wholeEvents(result.value);
          if (whole) {
            controller.enqueue(whole);
            return;
          }
        }
      },
      cancel() {
        stop();
      },
    },
    { highWaterMark: 0 },
  );
}
