import { afterEach, describe, expect, it, vi } from "vitest";
import { StreamBuffer } from "./buffer";
import { SSE_DONE, SSE_PING, formatSseEvent, toSseByteStream } from "./sse";
import { createTerminalChunk } from "./terminal-chunk";
import { textDelta, tick } from "./test-support";
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

  it("does not read ahead of the consumer", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    for (let i = 0; i < 100; i++) buffer.append(textDelta(i));
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
    await readText(bytes);
    await readText(bytes);
    await tick();
    expect(pulled).toBeLessThanOrEqual(3);
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
