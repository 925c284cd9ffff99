import { StreamBuffer, type StreamBufferObserver } from "./buffer";
import { StreamExistsError, StreamRegistryShutDownError } from "./errors";
import type { ClassicStreamStore } from "./types";

/** Limits and clock of a {@link StreamBufferRegistry}. */
export interface StreamBufferRegistryOptions {
  /** Per-stream cap; oldest events are dropped beyond it. Default 8 MiB. */
  maxBytesPerStream?: number;
  /** Cap over all streams; finished buffers are evicted first. Default 256 MiB. */
  maxBytesTotal?: number;
  /** Finished buffers are removed this long after finishing. Default 5 minutes. */
  expireAfterMs?: number;
  now?: () => number;
}

/** Snapshot of registry usage. */
export interface StreamBufferStats {
  streams: number;
  bytes: number;
  readers: number;
  /** Bytes of the buffers still streaming (finished ones are evicted first under the total cap). */
  liveBytes: number;
  maxBytesTotal: number;
}

const DEFAULT_OPTIONS: Required<StreamBufferRegistryOptions> = {
  maxBytesPerStream: 8 * 1024 * 1024,
  maxBytesTotal: 256 * 1024 * 1024,
  expireAfterMs: 5 * 60 * 1000,
  now: () => Date.now(),
};

function validated(options: StreamBufferRegistryOptions): StreamBufferRegistryOptions {
  for (const key of ["maxBytesPerStream", "maxBytesTotal", "expireAfterMs"] as const) {
    const value = options[key];
    if (value !== undefined && !(value >= 0)) {
      throw new RangeError(`${key} must be a non-negative number, got ${value}`);
    }
  }
  return options;
}

type ExpiryTimer = ReturnType<typeof setTimeout>;

function startUnrefTimer(callback: () => void, delayMs: number): ExpiryTimer {
  const timer = setTimeout(callback, delayMs);
  // An expiry timer alone must never keep the process alive.
  if (typeof timer === "object" && typeof timer.unref === "function") timer.unref();
  return timer;
}

/**
 * Owns every classic stream buffer of the process, keyed by execution id, and keeps
 * their memory bounded (per-stream and total caps, expiry after finish).
 */
export class StreamBufferRegistry implements ClassicStreamStore {
  #options: Required<StreamBufferRegistryOptions>;
  readonly #buffers = new Map<string, StreamBuffer>();
  readonly #byConversation = new Map<string, StreamBuffer>();
  // Insertion order is finish order, which is the eviction order under the total cap.
  readonly #finishedOrder = new Set<StreamBuffer>();
  readonly #expiryTimers = new Map<StreamBuffer, ExpiryTimer>();
  #totalBytes = 0;
  // The bytes of the buffers still streaming, kept as they change: admission reads it for every new turn.
  readonly #streaming = new Set<StreamBuffer>();
  #liveBytes = 0;
  #enforcing = false;
  #shutDown = false;
  readonly #observer: StreamBufferObserver = {
    bytesChanged: (buffer, delta) => this.#bytesChanged(buffer, delta),
    finished: (buffer) => this.#finished(buffer),
  };

  constructor(options: StreamBufferRegistryOptions = {}) {
    this.#options = { ...DEFAULT_OPTIONS, ...validated(options) };
  }

  /** Applies options (meant for startup); caps apply to buffers created afterwards. */
  configure(options: StreamBufferRegistryOptions): void {
    this.#options = { ...this.#options, ...validated(options) };
  }

  /**
   * Creates the buffer of `executionId`. When another buffer of the same conversation is
   * still streaming it is finished with `superseded`.
   * @throws StreamExistsError if the execution already has a buffer.
   * @throws StreamRegistryShutDownError after {@link shutdown}.
   */
  create(executionId: string, metadata: { conversationId?: string; ownerId?: string } = {}): StreamBuffer {
    if (this.#shutDown) throw new StreamRegistryShutDownError();
    if (this.#buffers.has(executionId)) throw new StreamExistsError(executionId);
    const { conversationId } = metadata;
    if (conversationId !== undefined) {
      const previous = this.#byConversation.get(conversationId);
      if (previous?.status === "streaming") previous.finish("superseded");
    }
    const buffer = new StreamBuffer({
      executionId,
      conversationId,
      ownerId: metadata.ownerId,
      maxBytes: this.#options.maxBytesPerStream,
      now: this.#options.now,
      observer: this.#observer,
    });
    this.#buffers.set(executionId, buffer);
    this.#streaming.add(buffer);
    if (conversationId !== undefined) this.#byConversation.set(conversationId, buffer);
    return buffer;
  }

  /** The buffer of `executionId`, unless it was never created, deleted or expired. */
  get(executionId: string): StreamBuffer | undefined {
    return this.#buffers.get(executionId);
  }

  /** The most recently created buffer of the conversation that is still held. */
  currentForConversation(conversationId: string): StreamBuffer | undefined {
    return this.#byConversation.get(conversationId);
  }

  /**
   * Removes the buffer, ending its readers with `expired`.
   * @returns whether a buffer was removed.
   */
  delete(executionId: string): boolean {
    const buffer = this.#buffers.get(executionId);
    if (buffer === undefined) return false;
    buffer.close("expired");
    this.#buffers.delete(executionId);
    this.#stopCountingLive(buffer);
    if (buffer.conversationId !== undefined) {
      if (this.#byConversation.get(buffer.conversationId) === buffer) {
        this.#byConversation.delete(buffer.conversationId);
      }
    }
    this.#finishedOrder.delete(buffer);
    const timer = this.#expiryTimers.get(buffer);
    if (timer !== undefined) clearTimeout(timer);
    this.#expiryTimers.delete(buffer);
    return true;
  }

  /**
   * Finishes every streaming buffer with `cancelled` (so its readers end), stops all
   * expiry timers and rejects later {@link create} calls. Finished buffers stay readable.
   */
  shutdown(): void {
    this.#shutDown = true;
    for (const timer of this.#expiryTimers.values()) clearTimeout(timer);
    this.#expiryTimers.clear();
    for (const buffer of this.#buffers.values()) buffer.finish("cancelled");
  }

  /** Current number of buffers, their total bytes and open readers. */
  stats(): StreamBufferStats {
    let readers = 0;
    for (const buffer of this.#buffers.values()) readers += buffer.readerCount;
    return { streams: this.#buffers.size, bytes: this.#totalBytes, readers, ...this.liveBytes() };
  }

  /** The bytes held by buffers still streaming and the total cap, without visiting every buffer. */
  liveBytes(): { liveBytes: number; maxBytesTotal: number } {
    return { liveBytes: this.#liveBytes, maxBytesTotal: this.#options.maxBytesTotal };
  }

  #bytesChanged(buffer: StreamBuffer, delta: number): void {
    this.#totalBytes += delta;
    if (this.#streaming.has(buffer)) this.#liveBytes += delta;
    if (delta > 0) this.#enforceTotalCap();
  }

  #stopCountingLive(buffer: StreamBuffer): void {
    if (this.#streaming.delete(buffer)) this.#liveBytes -= buffer.byteSize;
  }

  #finished(buffer: StreamBuffer): void {
    this.#stopCountingLive(buffer);
    if (this.#buffers.get(buffer.executionId) !== buffer) return;
    this.#finishedOrder.add(buffer);
    if (this.#shutDown) return;
    const timer = startUnrefTimer(() => {
      if (this.#buffers.get(buffer.executionId) === buffer) this.delete(buffer.executionId);
    }, this.#options.expireAfterMs);
    this.#expiryTimers.set(buffer, timer);
  }

  #enforceTotalCap(): void {
    // Evicting changes byte counts, which would re-enter here.
    if (this.#enforcing) return;
    this.#enforcing = true;
    try {
      const limit = this.#options.maxBytesTotal;
      while (this.#totalBytes > limit) {
        const oldestFinished = this.#finishedOrder.values().next();
        if (oldestFinished.done) break;
        this.delete(oldestFinished.value.executionId);
      }
      while (this.#totalBytes > limit) {
        const [largest, runnerUp] = this.#twoLargestStreaming();
        if (largest === undefined) break;
        const excess = this.#totalBytes - limit;
        // Shrinking only down to the runner-up spreads trimming over the largest streams.
        const target = Math.max(runnerUp?.byteSize ?? 0, largest.byteSize - excess);
        // When it is already level with the runner-up, drop one event and look again.
        if (largest.trimTo(target) === 0 && largest.trimTo(largest.byteSize - 1) === 0) break;
      }
    } finally {
      this.#enforcing = false;
    }
  }

  #twoLargestStreaming(): [StreamBuffer | undefined, StreamBuffer | undefined] {
    let largest: StreamBuffer | undefined;
    let runnerUp: StreamBuffer | undefined;
    for (const buffer of this.#buffers.values()) {
      if (buffer.status !== "streaming") continue;
      if (largest === undefined || buffer.byteSize > largest.byteSize) {
        runnerUp = largest;
        largest = buffer;
      } else if (runnerUp === undefined || buffer.byteSize > runnerUp.byteSize) {
        runnerUp = buffer;
      }
    }
    return [largest, runnerUp];
  }
}

const REGISTRY_KEY: unique symbol = Symbol.for("tether.stream-buffers");

type RegistryHolder = typeof globalThis & { [REGISTRY_KEY]?: StreamBufferRegistry };

/**
 * The process-wide registry, stored on `globalThis` under `Symbol.for("tether.stream-buffers")`
 * so separately bundled copies of this module share it. `options`, when given, are applied
 * with {@link StreamBufferRegistry.configure}.
 */
export function getStreamBufferRegistry(
  options?: StreamBufferRegistryOptions,
): StreamBufferRegistry {
  const holder = globalThis as RegistryHolder;
  let registry = holder[REGISTRY_KEY];
  if (registry === undefined) {
    registry = new StreamBufferRegistry(options);
    holder[REGISTRY_KEY] = registry;
  } else if (options !== undefined) {
    registry.configure(options);
  }
  return registry;
}
