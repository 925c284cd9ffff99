import { afterEach, describe, expect, it, vi } from "vitest";
import { StreamBufferRegistry } from "./registry";
import {
  OffsetGoneError,
  StreamExistsError,
  StreamFinishedError,
  StreamRegistryShutDownError,
} from "./errors";
import { collect, reasonOf, textDelta, tick } from "./test-support";

const eventBytes = JSON.stringify({ offset: "0.0", chunk: textDelta(0) }).length;

afterEach(() => {
  vi.useRealTimers();
});

describe("StreamBufferRegistry lifecycle", () => {
  it("creates, gets and refuses duplicates", () => {
    const registry = new StreamBufferRegistry();
    const buffer = registry.create("exec-1", { conversationId: "conv" });
    expect(registry.get("exec-1")).toBe(buffer);
    expect(registry.currentForConversation("conv")).toBe(buffer);
    expect(() => registry.create("exec-1")).toThrow(StreamExistsError);
    expect(registry.get("missing")).toBeUndefined();
  });

  it("supersedes the streaming buffer of the same conversation", async () => {
    const registry = new StreamBufferRegistry();
    const first = registry.create("exec-1", { conversationId: "conv" });
    first.append(textDelta(0));
    const readers = [collect(first.read()), collect(first.read())];
    await tick();
    const second = registry.create("exec-2", { conversationId: "conv" });
    for (const events of await Promise.all(readers)) {
      expect(events.map((event) => event.offset)).toEqual(["0.0", "0.1"]);
      expect(reasonOf(events.at(-1))).toBe("superseded");
    }
    expect(first.status).toBe("superseded");
    expect(() => first.append(textDelta(1))).toThrow(StreamFinishedError);
    expect(second.status).toBe("streaming");
    expect(registry.currentForConversation("conv")).toBe(second);
    // Other conversations are untouched.
    const other = registry.create("exec-3", { conversationId: "other" });
    expect(second.status).toBe("streaming");
    expect(other.status).toBe("streaming");
  });

  it("does not touch a finished buffer of the same conversation", () => {
    const registry = new StreamBufferRegistry();
    const first = registry.create("exec-1", { conversationId: "conv" });
    first.finish("completed");
    registry.create("exec-2", { conversationId: "conv" });
    expect(first.status).toBe("completed");
    expect(registry.get("exec-1")).toBe(first);
  });

  it("delete ends live and lagging readers with expired and frees the bytes", async () => {
    const registry = new StreamBufferRegistry();
    const buffer = registry.create("exec-1", { conversationId: "conv" });
    buffer.append(textDelta(0));
    const live = collect(buffer.read());
    await tick();
    const lagging = buffer.read();
    expect(registry.delete("exec-1")).toBe(true);
    expect(registry.delete("exec-1")).toBe(false);
    const liveEvents = await live;
    // Events are freed at once, so the terminal is synthesised with the last delivered offset.
    expect(liveEvents.map((event) => event.offset)).toEqual(["0.0", "0.0"]);
    expect(reasonOf(liveEvents.at(-1))).toBe("expired");
    const laggingEvents = await collect(lagging);
    expect(laggingEvents).toHaveLength(1);
    expect(reasonOf(laggingEvents[0])).toBe("expired");
    expect(registry.get("exec-1")).toBeUndefined();
    expect(registry.currentForConversation("conv")).toBeUndefined();
    expect(registry.stats()).toMatchObject({ streams: 0, bytes: 0, readers: 0, liveBytes: 0 });
    expect(() => buffer.read()).toThrow(OffsetGoneError);
  });

  it("stats counts streams, bytes and open readers", async () => {
    const registry = new StreamBufferRegistry();
    const first = registry.create("exec-1");
    const second = registry.create("exec-2");
    first.append(textDelta(0));
    second.append(textDelta(0));
    second.append(textDelta(1));
    const reader = first.read();
    second.read().cancel();
    expect(registry.stats()).toEqual({
      streams: 2,
      bytes: first.byteSize + second.byteSize,
      readers: 1,
      liveBytes: first.byteSize + second.byteSize,
      maxBytesTotal: 256 * 1024 * 1024,
    });
    // A finished stream's bytes are no longer live: the total cap evicts them first.
    second.finish("completed");
    expect(registry.stats().liveBytes).toBe(first.byteSize);
    reader.cancel();
    expect(registry.stats().readers).toBe(0);
  });

  it("keeps the live bytes equal to the streaming buffers' bytes through trims, finishes and deletes", () => {
    const registry = new StreamBufferRegistry({ maxBytesTotal: 4096 });
    const streaming = () => ["a", "b", "c"].map((id) => registry.get(id)).filter((buffer) => buffer?.status === "streaming");
    const sumOfStreaming = () => streaming().reduce((sum, buffer) => sum + buffer!.byteSize, 0);
    const [a, b, c] = ["a", "b", "c"].map((id) => registry.create(id));
    for (let i = 0; i < 40; i++) for (const buffer of [a!, b!, c!]) buffer.append(textDelta(i));
    // Past the total cap: the streaming buffers were trimmed, and the live count followed.
    expect(registry.stats().bytes).toBeLessThanOrEqual(4096);
    expect(registry.liveBytes().liveBytes).toBe(sumOfStreaming());
    b!.finish("completed");
    expect(registry.liveBytes().liveBytes).toBe(sumOfStreaming());
    registry.delete("c");
    expect(registry.liveBytes().liveBytes).toBe(sumOfStreaming());
    expect(registry.liveBytes().liveBytes).toBe(a!.byteSize);
    registry.delete("a");
    expect(registry.liveBytes()).toEqual({ liveBytes: 0, maxBytesTotal: 4096 });
  });
});

describe("StreamBufferRegistry caps", () => {
  it("applies the per-stream cap to created buffers", () => {
    const registry = new StreamBufferRegistry({ maxBytesPerStream: eventBytes * 2 });
    const buffer = registry.create("exec-1");
    for (let i = 0; i < 5; i++) buffer.append(textDelta(i));
    expect(buffer.firstRetainedIndex).toBe(3);
    expect(registry.stats().bytes).toBe(buffer.byteSize);
    expect(() => buffer.read("0.1")).toThrow(OffsetGoneError);
  });

  it("evicts the oldest finished buffer first when the total is exceeded", async () => {
    const registry = new StreamBufferRegistry({ maxBytesTotal: 1000 });
    const older = registry.create("older");
    const newer = registry.create("newer");
    const streaming = registry.create("streaming");
    for (let i = 0; i < 3; i++) {
      older.append(textDelta(i));
      newer.append(textDelta(i));
    }
    // Finish order, not creation order, decides.
    newer.finish("completed");
    older.finish("completed");
    const olderReader = older.read("0.0");
    while (registry.get("newer") !== undefined) streaming.append(textDelta(0));
    expect(registry.get("older")).toBe(older);
    expect(registry.stats().bytes).toBeLessThanOrEqual(1000);
    while (registry.get("older") !== undefined) streaming.append(textDelta(0));
    expect(registry.stats().bytes).toBeLessThanOrEqual(1000);
    const events = await collect(olderReader);
    expect(events).toHaveLength(1);
    expect(reasonOf(events[0])).toBe("expired");
    expect(streaming.firstRetainedIndex).toBe(0);
  });

  it("trims the oldest events of the largest streaming buffers when nothing finished is left", () => {
    const registry = new StreamBufferRegistry({ maxBytesTotal: eventBytes * 10 });
    const large = registry.create("large");
    const small = registry.create("small");
    for (let i = 0; i < 2; i++) small.append(textDelta(i));
    for (let i = 0; i < 8; i++) large.append(textDelta(i));
    expect(large.firstRetainedIndex).toBe(0);
    large.append(textDelta(8));
    expect(registry.stats().bytes).toBeLessThanOrEqual(eventBytes * 10);
    expect(large.firstRetainedIndex).toBe(1);
    expect(small.firstRetainedIndex).toBe(0);
    // Appending to the small one still trims the large one.
    small.append(textDelta(2));
    expect(large.firstRetainedIndex).toBe(2);
    expect(small.firstRetainedIndex).toBe(0);
    expect(registry.stats().bytes).toBe(large.byteSize + small.byteSize);
  });
  it("spreads trimming over the largest streaming buffers instead of emptying one", () => {
    const registry = new StreamBufferRegistry({ maxBytesTotal: eventBytes * 10 });
    const steady = registry.create("steady");
    const bursty = registry.create("bursty");
    for (let i = 0; i < 6; i++) steady.append(textDelta(i));
    for (let i = 0; i < 4; i++) bursty.append(textDelta(i));
    // One event three times the usual size pushes the total three events over.
    bursty.append(textDelta(4, "x".repeat(eventBytes * 2)));
    expect(registry.stats().bytes).toBeLessThanOrEqual(eventBytes * 10);
    expect(steady.firstRetainedIndex).toBe(1);
    expect(bursty.firstRetainedIndex).toBe(2);
  });
});

describe("StreamBufferRegistry expiry", () => {
  it("removes a finished buffer expireAfterMs after finishing, not before", async () => {
    vi.useFakeTimers();
    const registry = new StreamBufferRegistry({ expireAfterMs: 1000 });
    const buffer = registry.create("exec-1", { conversationId: "conv" });
    buffer.append(textDelta(0));
    vi.advanceTimersByTime(5000);
    expect(registry.get("exec-1")).toBe(buffer);
    buffer.finish("completed");
    const lagging = buffer.read();
    vi.advanceTimersByTime(999);
    expect(registry.get("exec-1")).toBe(buffer);
    vi.advanceTimersByTime(1);
    expect(registry.get("exec-1")).toBeUndefined();
    expect(registry.currentForConversation("conv")).toBeUndefined();
    expect(registry.stats()).toMatchObject({ streams: 0, bytes: 0, readers: 0, liveBytes: 0 });
    const events = await collect(lagging);
    expect(reasonOf(events.at(-1))).toBe("expired");
  });

  it("a deleted buffer's timer does not remove a newer buffer with the same id", () => {
    vi.useFakeTimers();
    const registry = new StreamBufferRegistry({ expireAfterMs: 1000 });
    registry.create("exec-1").finish("completed");
    vi.advanceTimersByTime(500);
    registry.delete("exec-1");
    const replacement = registry.create("exec-1");
    replacement.finish("completed");
    vi.advanceTimersByTime(600);
    expect(registry.get("exec-1")).toBe(replacement);
    vi.advanceTimersByTime(400);
    expect(registry.get("exec-1")).toBeUndefined();
  });

  it("unrefs its timers", () => {
    const registry = new StreamBufferRegistry({ expireAfterMs: 60_000 });
    const unref = vi.fn();
    const spy = vi
      .spyOn(globalThis, "setTimeout")
      .mockImplementation((() => ({ unref }) as unknown as NodeJS.Timeout) as never);
    try {
      registry.create("exec-1").finish("completed");
    } finally {
      spy.mockRestore();
    }
    expect(unref).toHaveBeenCalledOnce();
  });
});

describe("StreamBufferRegistry shutdown", () => {
  it("ends live readers with cancelled, clears timers and refuses create", async () => {
    vi.useFakeTimers();
    const registry = new StreamBufferRegistry({ expireAfterMs: 1000 });
    const streaming = registry.create("exec-1");
    streaming.append(textDelta(0));
    const finished = registry.create("exec-2");
    finished.finish("completed");
    const reader = streaming.read();
    await reader.next();
    const pending = reader.next();
    registry.shutdown();
    const terminal = await pending;
    expect(reasonOf(terminal.value)).toBe("cancelled");
    expect(await reader.next()).toMatchObject({ done: true });
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(registry.get("exec-2")).toBe(finished);
    expect(() => registry.create("exec-3")).toThrow(StreamRegistryShutDownError);
    expect(registry.stats().readers).toBe(0);
  });
});

describe("getStreamBufferRegistry", () => {
  const key = Symbol.for("tether.stream-buffers");

  afterEach(() => {
    delete (globalThis as Record<symbol, unknown>)[key];
  });

  it("is shared by separately loaded copies of the module", async () => {
    vi.resetModules();
    const firstCopy = await import("./registry.js");
    vi.resetModules();
    const secondCopy = await import("./registry.js");
    expect(firstCopy.StreamBufferRegistry).not.toBe(secondCopy.StreamBufferRegistry);
    const registry = firstCopy.getStreamBufferRegistry();
    expect(secondCopy.getStreamBufferRegistry()).toBe(registry);
    expect((globalThis as Record<symbol, unknown>)[key]).toBe(registry);
    const buffer = registry.create("shared");
    expect(secondCopy.getStreamBufferRegistry().get("shared")).toBe(buffer);
  });

  it("applies options given later through configure", async () => {
    const { getStreamBufferRegistry } = await import("./registry.js");
    const registry = getStreamBufferRegistry();
    expect(getStreamBufferRegistry({ maxBytesPerStream: eventBytes })).toBe(registry);
    const buffer = registry.create("configured");
    buffer.append(textDelta(0));
    buffer.append(textDelta(1));
    expect(buffer.firstRetainedIndex).toBe(1);
  });
});
