import { promiseHooks } from "node:v8";
import { afterEach, describe, expect, it, vi } from "vitest";
import { StreamBuffer } from "./buffer";
import { SSE_DONE, SSE_PING, UI_MESSAGE_STREAM_HEADERS, formatSseEvent, toSseByteStream } from "./sse";
import { createTerminalChunk } from "./terminal-chunk";
import { collect, textDelta, tick } from "./test-support";
import type { StreamEvent } from "./types";

const decoder = new TextDecoder();

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}

async function readText(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { done, value } = await reader.read();
  return done ? "<end>" : decoder.decode(value);
}

afterEach(() => {
  vi.useRealTimers();
});

describe("SSE framing", () => {
  it("formats id and JSON data lines", () => {
    expect(formatSseEvent("0.3", { type: "text-delta", id: "t", delta: "a\nb" })).toBe(
      'id: 0.3\ndata: {"type":"text-delta","id":"t","delta":"a\\nb"}\n\n',
    );
    expect(SSE_DONE).toBe("data: [DONE]\n\n");
    expect(SSE_PING).toBe(": ping\n\n");
    expect(() => formatSseEvent("0.1\nevil", {})).toThrow(TypeError);
  });

  it("sends exactly the documented headers (ai's set without connection)", () => {
    expect(UI_MESSAGE_STREAM_HEADERS).toEqual({
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-vercel-ai-ui-message-stream": "v1",
      "x-accel-buffering": "no",
    });
  });
});

describe("toSseByteStream", () => {
  it("frames every buffered event with its offset and ends with DONE", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    buffer.append(textDelta(0));
    buffer.append(textDelta(1));
    buffer.finish("completed");
    const text = await readAll(toSseByteStream(buffer.read("0.0")));
    expect(text).toBe(
      formatSseEvent("0.1", textDelta(1)) +
        formatSseEvent("0.2", createTerminalChunk("completed")) +
        SSE_DONE,
    );
  });

  it("accepts a ReadableStream source", async () => {
    const events: StreamEvent[] = [{ offset: "0.0", chunk: textDelta(0) }];
    const source = new ReadableStream<StreamEvent>({
      start(controller) {
        for (const event of events) controller.enqueue(event);
        controller.close();
      },
    });
    expect(await readAll(toSseByteStream(source))).toBe(
      formatSseEvent("0.0", textDelta(0)) + SSE_DONE,
    );
  });

  it("sends a ping after keepAliveMs of silence, not before", async () => {
    vi.useFakeTimers();
    const buffer = new StreamBuffer({ executionId: "exec" });
    const reader = toSseByteStream(buffer.read(), { keepAliveMs: 1000 }).getReader();
    const first = readText(reader);
    await vi.advanceTimersByTimeAsync(999);
    buffer.append(textDelta(0));
    expect(await first).toBe(formatSseEvent("0.0", textDelta(0)));
    const second = readText(reader);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await second).toBe(SSE_PING);
    // The pending read survives the ping: the next event is neither lost nor read twice.
    const third = readText(reader);
    buffer.append(textDelta(1));
    expect(await third).toBe(formatSseEvent("0.1", textDelta(1)));
    buffer.finish("completed");
    expect(await readText(reader)).toBe(formatSseEvent("0.2", createTerminalChunk("completed")));
    expect(await readText(reader)).toBe(SSE_DONE);
    expect(await readText(reader)).toBe("<end>");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("ends with DONE when the source throws, emitting nothing extra", async () => {
    async function* failing(): AsyncGenerator<StreamEvent> {
      yield { offset: "0.0", chunk: textDelta(0) };
      throw new Error("boom");
    }
    expect(await readAll(toSseByteStream(failing()))).toBe(
      formatSseEvent("0.0", textDelta(0)) + SSE_DONE,
    );
  });

  it("ends with DONE when the source's next() throws synchronously", async () => {
    let calls = 0;
    const throwing: AsyncIterable<StreamEvent> = {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          calls += 1;
          if (calls === 1) return Promise.resolve({ done: false, value: { offset: "0.0", chunk: textDelta(0) } });
          throw new Error("boom");
        },
      }),
    };
    expect(await readAll(toSseByteStream(throwing))).toBe(formatSseEvent("0.0", textDelta(0)) + SSE_DONE);
  });

  it("errors the response, without DONE, on an event it cannot frame, and cancels the source", async () => {
    let cancelled = false;
    const source = new ReadableStream<StreamEvent>({
      pull(controller) {
        controller.enqueue({ offset: "0.0\nid: forged", chunk: textDelta(0) });
      },
      cancel() {
        cancelled = true;
      },
    });
    const ended = vi.fn();
    const reader = toSseByteStream(source, { onEnd: ended }).getReader();
    await expect(reader.read()).rejects.toThrow(TypeError);
    expect(cancelled).toBe(true);
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it("does not read ahead of the consumer", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    // ~2 KB each, so that a chunk holds only part of them.
    for (let i = 0; i < 100; i++) buffer.append(textDelta(i, "x".repeat(2000)));
    let pulled = 0;
    const reader = buffer.read();
    const counting: AsyncIterable<StreamEvent> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          pulled += 1;
          return reader.next();
        },
        return: () => reader.return(),
      }),
    };
    const bytes = toSseByteStream(counting).getReader();
    const delivered = (await readText(bytes)) + (await readText(bytes));
    await tick();
    const framed = delivered.split("\n\n").length - 1;
    expect(framed).toBeGreaterThan(0);
    expect(framed).toBeLessThan(100);
    // At most one read is outstanding beyond what was delivered.
    expect(pulled).toBeLessThanOrEqual(framed + 1);
    await bytes.cancel();
  });

  it("cancelling the byte stream cancels the reader and removes its listener", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    buffer.append(textDelta(0));
    const reader = toSseByteStream(buffer.read(), { keepAliveMs: 60_000 }).getReader();
    expect(await readText(reader)).toBe(formatSseEvent("0.0", textDelta(0)));
    const pending = reader.read();
    await tick();
    expect(buffer.listenerCount).toBe(1);
    await reader.cancel();
    await pending;
    expect(buffer.listenerCount).toBe(0);
    expect(buffer.readerCount).toBe(0);
    buffer.append(textDelta(1));
  });

  it("an aborted signal ends the response with DONE and releases the reader", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    const controller = new AbortController();
    const stream = toSseByteStream(buffer.read(), { signal: controller.signal });
    const text = readAll(stream);
    await tick();
    expect(buffer.listenerCount).toBe(1);
    controller.abort();
    expect(await text).toBe(SSE_DONE);
    expect(buffer.readerCount).toBe(0);
    expect(buffer.listenerCount).toBe(0);
  });
});

async function* immediate(count: number): AsyncGenerator<StreamEvent> {
  for (let i = 0; i < count; i++) yield { offset: `0.${i}`, chunk: textDelta(i) };
}

function expectedText(count: number): string {
  let text = "";
  for (let i = 0; i < count; i++) text += formatSseEvent(`0.${i}`, textDelta(i));
  return text + SSE_DONE;
}

describe("toSseByteStream costs", () => {
  it("attaches no growing number of reactions to any promise (no signal)", async () => {
    // Counts, per promise, the promises derived from it (then/await/race reactions). A
    // waiter that every pull attaches to one long-lived promise would count once per pull.
    const reactions = new Map<Promise<unknown>, number>();
    const stopCounting = promiseHooks.onInit((_promise, parent) => {
      if (parent !== undefined) reactions.set(parent, (reactions.get(parent) ?? 0) + 1);
    });
    let text: string;
    try {
      // A source that waits for every event, so that each event takes its own pull.
      async function* live(): AsyncGenerator<StreamEvent> {
        for await (const event of immediate(50_000)) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          yield event;
        }
      }
      text = await readAll(toSseByteStream(live()));
    } finally {
      stopCounting();
    }
    expect(text).toBe(expectedText(50_000));
    let most = 0;
    for (const count of reactions.values()) most = Math.max(most, count);
    expect(most).toBeLessThan(100);
  }, 60_000);

  it("adds one abort listener for the whole stream and removes it at the end", async () => {
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, "addEventListener");
    const remove = vi.spyOn(controller.signal, "removeEventListener");
    const text = await readAll(toSseByteStream(immediate(1000), { signal: controller.signal }));
    expect(text).toBe(expectedText(1000));
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledTimes(1);
  });

  it("creates no timer per event while events are available at once", async () => {
    const timeouts = vi.spyOn(globalThis, "setTimeout");
    const immediates = vi.spyOn(globalThis, "setImmediate");
    try {
      const text = await readAll(toSseByteStream(immediate(20_000), { keepAliveMs: 1000 }));
      expect(text).toBe(expectedText(20_000));
      expect(timeouts.mock.calls.length).toBeLessThanOrEqual(2);
      // One turn of the event loop per ~64 KB chunk, not per event.
      expect(immediates.mock.calls.length).toBeLessThanOrEqual(Math.ceil(text.length / 65_536) + 1);
    } finally {
      timeouts.mockRestore();
      immediates.mockRestore();
    }
  });

  it("replays an ended buffer in few chunks, yielding to the event loop between them", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    for (let i = 0; i < 10_000; i++) buffer.append(textDelta(i));
    buffer.finish("completed");
    let expected = "";
    for (const event of await collect(buffer.read())) {
      expected += formatSseEvent(event.offset, event.chunk);
    }
    expected += SSE_DONE;

    let turns = 0;
    const turnsAtChunk: number[] = [];
    let counting = true;
    const countTurn = (): void => {
      turns += 1;
      if (counting) setImmediate(countTurn);
    };
    setImmediate(countTurn);
    const reader = toSseByteStream(buffer.read()).getReader();
    const chunks: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(decoder.decode(value));
      turnsAtChunk.push(turns);
    }
    counting = false;
    expect(chunks.join("")).toBe(expected);
    expect(chunks.at(-1)).toBe(SSE_DONE);
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil(expected.length / 65_536) + 2);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.slice(0, -2).every((chunk) => chunk.length >= 65_536)).toBe(true);
    // After each full chunk the event loop ran before the next one was framed.
    for (let i = 1; i < chunks.length - 1; i++) {
      expect(turnsAtChunk[i]).toBeGreaterThan(turnsAtChunk[i - 1]!);
    }
    expect(buffer.readerCount).toBe(0);
  });

  it("cancelling in the middle of a replay releases the reader", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    for (let i = 0; i < 10_000; i++) buffer.append(textDelta(i));
    buffer.finish("completed");
    const reader = toSseByteStream(buffer.read()).getReader();
    const first = await readText(reader);
    expect(first.startsWith(formatSseEvent("0.0", textDelta(0)))).toBe(true);
    expect(first.length).toBeGreaterThanOrEqual(65_536);
    await reader.cancel();
    await tick();
    expect(buffer.readerCount).toBe(0);
  });

  it("an abort in the middle of a replay ends with DONE after whole events", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    for (let i = 0; i < 10_000; i++) buffer.append(textDelta(i));
    const controller = new AbortController();
    const reader = toSseByteStream(buffer.read(), { signal: controller.signal }).getReader();
    let text = await readText(reader);
    controller.abort();
    for (;;) {
      const next = await readText(reader);
      if (next === "<end>") break;
      text += next;
    }
    expect(text.endsWith(`\n\n${SSE_DONE}`)).toBe(true);
    expect(text.split(SSE_DONE)).toHaveLength(2);
    expect(buffer.readerCount).toBe(0);
    expect(buffer.listenerCount).toBe(0);
  });
});

