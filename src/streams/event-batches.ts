import { StreamReader } from "./reader";
import type { StreamEvent } from "./types";

type Step = IteratorResult<StreamEvent, unknown>;
type Outcome = { step: Step } | { error: unknown };

/** What one {@link EventBatches.next} call read. */
export interface EventBatch {
  events: StreamEvent[];
  /** The source has ended: nothing follows these events. */
  ended: boolean;
  /** The batch reaches what the source holds now (it was not cut at `maxEvents`). */
  caughtUp: boolean;
}

export interface EventBatchOptions {
  /** How long to wait for a first event when none is there; 0 answers at once. */
  waitMs: number;
  /** For a source that cannot tell what it holds now: a pause this long after an event counts as caught up. */
  quietMs: number;
  /** For such a source: a batch is cut this long after its first event, even while events keep coming. */
  lingerMs: number;
  maxEvents: number;
  /** Stops waiting (client gone, shutdown): the batch holds what arrived until then. */
  signal?: AbortSignal;
}

const TIMED_OUT = Symbol("timed out");

/**
 * A run's events read in batches, for poll-style protocols: each batch is what arrived after the previous
 * one, cut where the source is caught up. A {@link StreamReader} says exactly what it holds now; any other
 * source (a durable run's reader) counts as caught up once it has been quiet for `quietMs`. At most one read
 * is outstanding and it carries over to the next batch, so no event falls between two batches.
 */
export class EventBatches {
  readonly #iterator: AsyncIterator<StreamEvent, unknown>;
  readonly #source: { cancel?: () => void };
  readonly #reader: StreamReader | undefined;
  #pending: Promise<Outcome> | undefined;
  #settled: Outcome | undefined;
  #ended = false;
  #closed = false;

  constructor(events: AsyncIterable<StreamEvent> & { cancel?: () => void }) {
    this.#source = events;
    this.#iterator = events[Symbol.asyncIterator]();
    this.#reader = this.#iterator instanceof StreamReader ? this.#iterator : undefined;
  }

  get ended(): boolean {
    return this.#ended;
  }

  async next(options: EventBatchOptions): Promise<EventBatch> {
    const events: StreamEvent[] = [];
    let waitMs = options.waitMs;
    let lingerDeadline: number | undefined;
    // Set when the wait for more was shortened by the linger limit: its timeout says nothing about being caught up.
    let cutShort = false;
    while (!this.#ended && events.length < options.maxEvents) {
      const step = this.#take() ?? (await this.#wait(waitMs, options.signal));
      if (step === TIMED_OUT) return { events, ended: false, caughtUp: !cutShort };
      if (step.done) {
        this.#ended = true;
        break;
      }
      events.push(step.value);
      if (this.#reader) {
        waitMs = 0;
        continue;
      }
      lingerDeadline ??= Date.now() + options.lingerMs;
      const left = lingerDeadline - Date.now();
      cutShort = left < options.quietMs;
      waitMs = Math.max(0, Math.min(options.quietMs, left));
    }
    return { events, ended: this.#ended, caughtUp: this.#ended };
  }

  /** Stops the source; a durable reader that waits for its run stops at its next status poll. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#source.cancel?.();
    // Not awaited: an async generator only runs return() once its pending next() settles.
    void Promise.resolve(this.#iterator.return?.()).catch(() => undefined);
  }

  /** The next step if it is there without waiting. */
  #take(): Step | undefined {
    if (this.#pending) {
      const settled = this.#settled;
      if (!settled) return undefined;
      this.#pending = this.#settled = undefined;
      if ("error" in settled) throw settled.error;
      return settled.step;
    }
    return this.#reader?.poll();
  }

  async #wait(waitMs: number, signal?: AbortSignal): Promise<Step | typeof TIMED_OUT> {
    // A reader that polled empty holds nothing more now; starting a read would only stop later polls.
    if (waitMs <= 0 && this.#reader && !this.#pending) return TIMED_OUT;
    if (signal?.aborted) return TIMED_OUT;
    if (!this.#pending) {
      const pending: Promise<Outcome> = this.#iterator.next().then(
        (step) => ({ step }),
        (error: unknown) => ({ error }),
      );
      void pending.then((outcome) => {
        if (this.#pending === pending) this.#settled = outcome;
      });
      this.#pending = pending;
    }
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), waitMs);
      onAbort = () => resolve(TIMED_OUT);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const winner = await Promise.race([this.#pending, stop]);
      if (winner === TIMED_OUT) return TIMED_OUT;
      this.#pending = this.#settled = undefined;
      if ("error" in winner) throw winner.error;
      return winner.step;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }
}
