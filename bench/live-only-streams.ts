/**
 * The "buffer off" side of the throughput benchmark: a classic stream store that keeps nothing for
 * replay. Tether's own route and runner run unchanged on top of it; each stream hands its events to the
 * one reader that opened it (the POST response) and forgets every event that reader has taken. What it
 * leaves out is exactly what the stream buffer adds: serialising once for every reader, keeping the
 * events, counting their bytes, and the caps.
 */
import type { UIMessageChunk } from "ai";
import {
  StreamReader,
  createTerminalChunk,
  encodeOffset,
  type ClassicStream,
  type ClassicStreamStore,
  type StreamEvent,
  type StreamStatus,
  type TerminalReason,
} from "../src/streams";
import type { EventLog, StoredEvent } from "../src/streams/reader";

const COMPACT_AFTER_TAKEN = 1024;

class LiveOnlyStream implements EventLog, ClassicStream {
  readonly round = 0;
  readonly conversationId: string | undefined;
  readonly ownerId: string | undefined;
  readonly closedReason = undefined;
  status: StreamStatus = "streaming";
  // events[i] has index base + i; the ones before `taken` were handed out and are dropped in batches.
  #events: (StreamEvent | undefined)[] = [];
  #base = 0;
  #taken = 0;
  #terminalIndex = -1;
  readonly #listeners = new Set<() => void>();
  #wakeScheduled = false;

  constructor(
    readonly executionId: string,
    metadata: { conversationId?: string; ownerId?: string },
  ) {
    this.conversationId = metadata.conversationId;
    this.ownerId = metadata.ownerId;
  }

  get firstRetainedIndex(): number {
    return this.#base + this.#taken;
  }

  get nextIndex(): number {
    return this.#base + this.#events.length;
  }

  get finished(): boolean {
    return this.status !== "streaming";
  }

  append(chunk: UIMessageChunk): string {
    if (this.finished) throw new Error("the stream has finished");
    return this.#push(chunk);
  }

  finish(reason: TerminalReason): void {
    if (this.finished) return;
    this.#terminalIndex = this.nextIndex;
    this.#push(createTerminalChunk(reason));
    this.status = reason;
  }

  read(after?: string): StreamReader {
    if (after !== undefined) throw new Error("a live-only stream cannot be resumed");
    return new StreamReader(this, this.firstRetainedIndex, undefined);
  }

  eventAt(index: number): StoredEvent {
    const slot = index - this.#base;
    const event = this.#events[slot];
    if (event === undefined) throw new RangeError(`event ${index} is gone`);
    // The single reader asks in order: everything before this event is no longer needed.
    for (let dropped = this.#taken; dropped < slot; dropped++) this.#events[dropped] = undefined;
    this.#taken = slot;
    if (this.#taken >= COMPACT_AFTER_TAKEN && this.#taken * 2 >= this.#events.length) {
      this.#events = this.#events.slice(this.#taken);
      this.#base += this.#taken;
      this.#taken = 0;
    }
    return { event, bytes: 0, terminal: index === this.#terminalIndex };
  }

  listen(wake: () => void): () => void {
    this.#listeners.add(wake);
    return () => this.#listeners.delete(wake);
  }

  detach(): void {}

  #push(chunk: UIMessageChunk): string {
    const offset = encodeOffset({ round: this.round, index: this.nextIndex });
    this.#events.push({ offset, chunk });
    // Woken as the stream buffer wakes its readers: once per burst of appends.
    if (this.#listeners.size > 0 && !this.#wakeScheduled) {
      this.#wakeScheduled = true;
      process.nextTick(this.#wake);
    }
    return offset;
  }

  readonly #wake = (): void => {
    this.#wakeScheduled = false;
    const waiting = [...this.#listeners];
    this.#listeners.clear();
    for (const wake of waiting) wake();
  };
}

export class LiveOnlyStreamStore implements ClassicStreamStore {
  readonly #streams = new Map<string, LiveOnlyStream>();

  configure(): void {}

  create(executionId: string, metadata: { conversationId?: string; ownerId?: string } = {}): ClassicStream {
    const stream = new LiveOnlyStream(executionId, metadata);
    this.#streams.set(executionId, stream);
    return stream;
  }

  get(executionId: string): ClassicStream | undefined {
    return this.#streams.get(executionId);
  }

  currentForConversation(conversationId: string): ClassicStream | undefined {
    return [...this.#streams.values()].findLast((stream) => stream.conversationId === conversationId);
  }

  delete(executionId: string): boolean {
    return this.#streams.delete(executionId);
  }

  shutdown(): void {
    for (const stream of this.#streams.values()) stream.finish("cancelled");
    this.#streams.clear();
  }

  stats() {
    return { streams: this.#streams.size, bytes: 0, readers: 0, ...this.liveBytes() };
  }

  liveBytes() {
    return { liveBytes: 0, maxBytesTotal: Number.POSITIVE_INFINITY };
  }
}
