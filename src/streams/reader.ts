import { encodeOffset } from "./offset";
import { createTerminalChunk } from "./terminal-chunk";
import type { StreamEvent, TerminalReason } from "./types";

/** An event as a log stores it. */
export interface StoredEvent {
  event: StreamEvent;
  bytes: number;
  terminal: boolean;
}

/**
 * What a {@link StreamReader} needs from the log it reads. Indexes are absolute
 * sequence numbers; events below `firstRetainedIndex` were dropped.
 */
export interface EventLog {
  readonly round: number;
  readonly firstRetainedIndex: number;
  readonly nextIndex: number;
  /** True once the terminal event was appended. */
  readonly finished: boolean;
  /** Set once the log was removed: readers that have not reached the end stop with this reason. */
  readonly closedReason: TerminalReason | undefined;
  /** Only valid for `firstRetainedIndex <= index < nextIndex`. */
  eventAt(index: number): StoredEvent;
  /** Registers a one-shot wake-up for the next append or close; returns its removal. */
  listen(wake: () => void): () => void;
  detach(reader: StreamReader): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A cursor over an {@link EventLog}: replays stored events, then follows live appends,
 * and ends after the terminal event. Holds only an integer cursor, never a queue, so a
 * slow reader costs no memory; if its next event is dropped it ends with an `expired`
 * terminal event instead of skipping.
 */
export class StreamReader implements AsyncIterableIterator<StreamEvent, undefined> {
  readonly #log: EventLog;
  #cursor: number;
  #lastOffset: string | undefined;
  #ended = false;
  #stopListening: (() => void) | undefined;
  #wake: (() => void) | undefined;
  #previousStep: Promise<unknown> = Promise.resolve();
  #stepsPending = 0;

  /** @internal Created by `StreamBuffer.read`. */
  constructor(log: EventLog, cursor: number, lastOffset: string | undefined) {
    this.#log = log;
    this.#cursor = cursor;
    this.#lastOffset = lastOffset;
  }

  /** True once the reader delivered its terminal event or was cancelled. */
  get ended(): boolean {
    return this.#ended;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Resolves with the next event; waits for an append when caught up. */
  next(): Promise<IteratorResult<StreamEvent, undefined>> {
    // Without a wait pending, an event that is already there needs no queued step.
    const available = this.poll();
    if (available !== undefined) return Promise.resolve(available);
    // Serialised so that overlapping next() calls still observe the cursor one at a time.
    this.#stepsPending += 1;
    const step = this.#previousStep.then(() => this.#step());
    this.#previousStep = step.catch(() => undefined);
    return step;
  }

  /**
   * The next event when it is available now (or the end, when the reader has ended); undefined when
   * {@link next} would have to wait, or while an earlier `next()` is still pending.
   */
  poll(): IteratorResult<StreamEvent, undefined> | undefined {
    return this.#stepsPending === 0 ? this.#tryStep() : undefined;
  }

  /** Called by `break` in for-await: same as {@link cancel}. */
  async return(): Promise<IteratorResult<StreamEvent, undefined>> {
    this.cancel();
    return DONE;
  }

  /** Stops the reader: removes its listener, and a pending `next()` resolves as done. */
  cancel(): void {
    if (this.#ended) return;
    this.#release();
  }

  async #step(): Promise<IteratorResult<StreamEvent, undefined>> {
    try {
      for (;;) {
        const result = this.#tryStep();
        if (result !== undefined) return result;
        await this.#waitForChange();
      }
    } finally {
      // Before the caller sees the result, so that its next poll() is not refused.
      this.#stepsPending -= 1;
    }
  }

  /** One step without waiting: the next event or the end, or undefined when nothing is there yet. */
  #tryStep(): IteratorResult<StreamEvent, undefined> | undefined {
    if (this.#ended) return DONE;
    const log = this.#log;
    if (this.#cursor < log.firstRetainedIndex) {
      return this.#endWith(log.closedReason ?? "expired");
    }
    if (this.#cursor < log.nextIndex) {
      const stored = log.eventAt(this.#cursor);
      this.#cursor += 1;
      this.#lastOffset = stored.event.offset;
      if (stored.terminal) this.#release();
      return { done: false, value: stored.event };
    }
    if (log.closedReason !== undefined) return this.#endWith(log.closedReason);
    // Positioned after the terminal event (resumed from its offset): nothing is left.
    if (log.finished) {
      this.#release();
      return DONE;
    }
    return undefined;
  }

  #waitForChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      const log = this.#log;
      this.#wake = resolve;
      this.#stopListening = log.listen(() => {
        this.#stopListening = undefined;
        this.#wake = undefined;
        resolve();
      });
      // Re-check after registering: anything that happened between the caller's check
      // and the registration would otherwise never wake this reader.
      if (
        this.#ended ||
        this.#cursor < log.nextIndex ||
        log.closedReason !== undefined ||
        log.finished
      ) {
        this.#clearListener();
        resolve();
      }
    });
  }

  #endWith(reason: TerminalReason): IteratorResult<StreamEvent, undefined> {
    // The synthesised event repeats the last offset this reader delivered, so resuming
    // from it asks for the missing event and gets OffsetGoneError instead of a silent gap.
    const offset =
      this.#lastOffset ?? encodeOffset({ round: this.#log.round, index: this.#cursor });
    this.#release();
    return { done: false, value: { offset, chunk: createTerminalChunk(reason) } };
  }

  #clearListener(): void {
    this.#stopListening?.();
    this.#stopListening = undefined;
    this.#wake = undefined;
  }

  #release(): void {
    this.#ended = true;
    const wake = this.#wake;
    this.#clearListener();
    this.#log.detach(this);
    wake?.();
  }
}
