import type { UIMessageChunk } from "ai";
import { InvalidOffsetError, OffsetGoneError, StreamFinishedError } from "./errors";
import { encodeOffset, parseOffset } from "./offset";
import { StreamReader, type EventLog, type StoredEvent } from "./reader";
import { createTerminalChunk } from "./terminal-chunk";
import type { ClassicStream, StreamEvent, StreamStatus, TerminalReason } from "./types";

/** Classic buffers live in a single round. */
export const CLASSIC_ROUND = 0;

// Dropped slots are only reclaimed in batches so that dropping the oldest event stays O(1) amortised.
const COMPACT_AFTER_DROPPED = 1024;

const EVENT_ENVELOPE_LENGTH = '{"offset":"","chunk":}'.length;

/** Counted as the event's JSON `{"offset":"…","chunk":…}` would be. */
function eventBytes(offset: string, data: string): number {
  return EVENT_ENVELOPE_LENGTH + offset.length + data.length;
}

/** A buffered event as readers get it: the stored JSON, parsed again only if someone asks for the chunk. */
class BufferedEvent implements StreamEvent {
  constructor(
    readonly offset: string,
    readonly data: string,
  ) {}

  get chunk(): UIMessageChunk {
    return JSON.parse(this.data) as UIMessageChunk;
  }
}

/** @internal How a buffer reports to the registry that owns it (see ./registry). */
export interface StreamBufferObserver {
  bytesChanged(buffer: StreamBuffer, delta: number): void;
  finished(buffer: StreamBuffer): void;
}

/** Construction parameters of a {@link StreamBuffer}; normally supplied by the registry (./registry). */
export interface StreamBufferOptions {
  executionId: string;
  conversationId?: string;
  /** Who may read it (the execution's owner), so a reader can be admitted without a database lookup. */
  ownerId?: string;
  /** Oldest events are dropped while the buffer holds more than this many bytes. */
  maxBytes?: number;
  now?: () => number;
  /** @internal */
  observer?: StreamBufferObserver;
}

/**
 * The in-memory, offset-addressed event log of one classic execution. The producer
 * appends UI message chunks; any number of readers replay and follow it.
 */
export class StreamBuffer implements EventLog, ClassicStream {
  readonly executionId: string;
  readonly conversationId: string | undefined;
  readonly ownerId: string | undefined;
  readonly createdAt: number;
  readonly round = CLASSIC_ROUND;

  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #observer: StreamBufferObserver | undefined;
  // Slot i holds the JSON of the event with index #slotBase + i; slots below #firstRetained are cleared.
  // Only the text is kept: one string per event is what makes a long turn cheap for the garbage collector.
  #slots: (string | undefined)[] = [];
  #terminalIndex = -1;
  #slotBase = 0;
  #firstRetained = 0;
  #nextIndex = 0;
  #bytes = 0;
  #status: StreamStatus = "streaming";
  #finishedAt: number | undefined;
  #closedReason: TerminalReason | undefined;
  readonly #readers = new Set<StreamReader>();
  readonly #listeners = new Set<() => void>();
  #wakeScheduled = false;

  constructor(options: StreamBufferOptions) {
    this.executionId = options.executionId;
    this.conversationId = options.conversationId;
    this.ownerId = options.ownerId;
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#now = options.now ?? Date.now;
    this.#observer = options.observer;
    this.createdAt = this.#now();
  }

  /** `"streaming"`, or the reason given to the first {@link finish}. */
  get status(): StreamStatus {
    return this.#status;
  }

  /** When {@link finish} was first called, per the clock given at creation. */
  get finishedAt(): number | undefined {
    return this.#finishedAt;
  }

  /** True once the terminal event was appended. */
  get finished(): boolean {
    return this.#status !== "streaming";
  }

  /** Approximate memory held: the sum of the JSON lengths of the retained events. */
  get byteSize(): number {
    return this.#bytes;
  }

  /** Readers created by {@link read} that have not ended yet. */
  get readerCount(): number {
    return this.#readers.size;
  }

  /** Readers currently waiting for the next append. */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Offset of the most recently appended event (the terminal one once finished). */
  get lastOffset(): string | undefined {
    return this.#nextIndex === 0
      ? undefined
      : encodeOffset({ round: this.round, index: this.#nextIndex - 1 });
  }

  /** @internal Index of the oldest event still held. */
  get firstRetainedIndex(): number {
    return this.#firstRetained;
  }

  /** @internal Index the next appended event will get. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /** @internal Set once the registry removed this buffer. */
  get closedReason(): TerminalReason | undefined {
    return this.#closedReason;
  }

  /**
   * Stores `chunk` as the next event and wakes waiting readers.
   * @returns the event's offset (`"0.0"`, `"0.1"`, …).
   * @throws StreamFinishedError once the buffer is finished.
   */
  append(chunk: UIMessageChunk): string {
    if (this.#status !== "streaming") throw new StreamFinishedError(this.executionId);
    return this.#store(chunk, false);
  }

  /**
   * Ends the stream by appending the terminal event (`data-terminal`, transient) with
   * its own offset. Idempotent: the first reason wins.
   */
  finish(reason: TerminalReason): void {
    if (this.#status !== "streaming") return;
    this.#store(createTerminalChunk(reason), true);
    this.#status = reason;
    this.#finishedAt = this.#now();
    this.#observer?.finished(this);
  }

  /**
   * Opens a reader yielding every event strictly after `after` (from the first event
   * when omitted), then live appends, ending after the terminal event.
   * @throws InvalidOffsetError when `after` is malformed, of another round, or beyond the last event.
   * @throws OffsetGoneError when the events the reader needs next were already dropped.
   */
  read(after?: string): StreamReader {
    let cursor = 0;
    let lastOffset: string | undefined;
    if (after !== undefined) {
      const position = parseOffset(after);
      if (position === undefined) throw new InvalidOffsetError(after, "malformed");
      if (position.round !== this.round) throw new InvalidOffsetError(after, "unknown round");
      if (position.index >= this.#nextIndex) {
        throw new InvalidOffsetError(after, "beyond the last event");
      }
      cursor = position.index + 1;
      lastOffset = encodeOffset(position);
    }
    if (this.#closedReason !== undefined || cursor < this.#firstRetained) {
      throw new OffsetGoneError(after);
    }
    const reader = new StreamReader(this, cursor, lastOffset);
    this.#readers.add(reader);
    return reader;
  }

  /** @internal */
  eventAt(index: number): StoredEvent {
    const data = this.#slots[index - this.#slotBase];
    if (data === undefined || index < this.#firstRetained) {
      throw new RangeError(`Event ${index} is not retained`);
    }
    const offset = encodeOffset({ round: this.round, index });
    return {
      event: new BufferedEvent(offset, data),
      bytes: eventBytes(offset, data),
      terminal: index === this.#terminalIndex,
    };
  }

  /** @internal */
  listen(wake: () => void): () => void {
    this.#listeners.add(wake);
    return () => this.#listeners.delete(wake);
  }

  /** @internal */
  detach(reader: StreamReader): void {
    this.#readers.delete(reader);
  }

  /**
   * @internal Drops oldest events until at most `targetBytes` are held, always keeping
   * the newest event. @returns the bytes freed.
   */
  trimTo(targetBytes: number): number {
    const freed = this.#dropOldestWhileAbove(targetBytes);
    if (freed > 0) this.#observer?.bytesChanged(this, -freed);
    return freed;
  }

  /**
   * @internal Removes the buffer: finishes it with `reason` if still streaming, drops
   * every event and ends all readers with a terminal event of `reason`.
   */
  close(reason: TerminalReason): void {
    if (this.#closedReason !== undefined) return;
    this.finish(reason);
    this.#closedReason = reason;
    const freed = this.#bytes;
    this.#slots = [];
    this.#slotBase = this.#nextIndex;
    this.#firstRetained = this.#nextIndex;
    this.#bytes = 0;
    if (freed > 0) this.#observer?.bytesChanged(this, -freed);
    this.#notify();
  }

  #store(chunk: UIMessageChunk, terminal: boolean): string {
    const offset = encodeOffset({ round: this.round, index: this.#nextIndex });
    // Serialised once here: every reader sends this text, and unserialisable chunks fail before any reader.
    const data = JSON.stringify(chunk);
    const bytes = eventBytes(offset, data);
    this.#slots.push(data);
    if (terminal) this.#terminalIndex = this.#nextIndex;
    this.#nextIndex += 1;
    this.#bytes += bytes;
    const freed = this.#dropOldestWhileAbove(this.#maxBytes);
    this.#notify();
    this.#observer?.bytesChanged(this, bytes - freed);
    return offset;
  }

  #dropOldestWhileAbove(limit: number): number {
    let freed = 0;
    while (this.#bytes > limit && this.#firstRetained < this.#nextIndex - 1) {
      const slot = this.#firstRetained - this.#slotBase;
      const data = this.#slots[slot];
      this.#slots[slot] = undefined;
      const bytes =
        data === undefined ? 0 : eventBytes(encodeOffset({ round: this.round, index: this.#firstRetained }), data);
      this.#firstRetained += 1;
      this.#bytes -= bytes;
      freed += bytes;
    }
    const dropped = this.#firstRetained - this.#slotBase;
    if (dropped >= COMPACT_AFTER_DROPPED && dropped * 2 >= this.#slots.length) {
      this.#slots = this.#slots.slice(dropped);
      this.#slotBase = this.#firstRetained;
    }
    return freed;
  }

  #notify(): void {
    if (this.#listeners.size === 0 || this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    // A tick queued from a microtask runs once the microtask queue is drained: the appends of one burst
    // wake each waiting reader once, and it takes them all in one go instead of waiting again per event.
    process.nextTick(this.#wakeListeners);
  }

  readonly #wakeListeners = (): void => {
    this.#wakeScheduled = false;
    const waiting = [...this.#listeners];
    this.#listeners.clear();
    for (const wake of waiting) wake();
  };
}
