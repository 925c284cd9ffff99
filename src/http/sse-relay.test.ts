import { describe, expect, it, vi } from "vitest";
import { createTerminalChunk, formatSseEvent, SSE_DONE, terminalEventOnly } from "../streams";
import { relaySse, type SseRelayOptions } from "./sse-relay";

const event = (index: number) => formatSseEvent(`0.${index}`, { type: "text-delta", id: "t", delta: `${index} ` });
const bytes = (text: string) => new TextEncoder().encode(text);

/** An upstream that sends `parts` (split wherever the test says) one per read, then ends or breaks off. */
function upstreamOf(parts: string[], end: "close" | "error" | "hang") {
  const queue = [...parts];
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = queue.shift();
      if (part !== undefined) controller.enqueue(bytes(part));
      else if (end === "close") controller.close();
      else if (end === "error") controller.error(new Error("other side closed"));
      else return new Promise(() => undefined);
    },
  });
}

function relayed(upstream: ReadableStream<Uint8Array>, overrides: Partial<SseRelayOptions> = {}) {
  const options = {
    onLost: vi.fn(async (lastOffset: string | undefined) => terminalEventOnly("failed", lastOffset ?? "0.0")),
    cancelUpstream: vi.fn(),
    onEnd: vi.fn(),
    ...overrides,
  };
  return { options, body: new Response(relaySse(upstream, options)) };
}

describe("relaySse", () => {
  it("passes a whole stream through unchanged and never calls onLost", async () => {
    const whole = event(0) + event(1) + SSE_DONE;
    const { options, body } = relayed(upstreamOf([whole.slice(0, 7), whole.slice(7, 30), whole.slice(30)], "close"));
    expect(await body.text()).toBe(whole);
    expect(options.onLost).not.toHaveBeenCalled();
    expect(options.onEnd).toHaveBeenCalledTimes(1);
  });

  it("drops a half-sent event when the upstream breaks off, and ends after the last whole one with onLost's events", async () => {
    const sent = event(0) + event(1) + event(2);
    const cut = sent.length - 10;
    const { options, body } = relayed(upstreamOf([sent.slice(0, 20), sent.slice(20, cut)], "error"));
    const terminal = formatSseEvent("0.1", createTerminalChunk("failed"));
    expect(await body.text()).toBe(event(0) + event(1) + terminal + SSE_DONE);
    expect(options.onLost).toHaveBeenCalledWith("0.1");
  });

  it("treats an upstream that closes without [DONE] as lost", async () => {
    const { options, body } = relayed(upstreamOf([event(0) + ": ping\n\n"], "close"));
    expect(await body.text()).toBe(event(0) + ": ping\n\n" + formatSseEvent("0.0", createTerminalChunk("failed")) + SSE_DONE);
    expect(options.onLost).toHaveBeenCalledWith("0.0");
  });

  it("errors the stream when onLost cannot tell the end", async () => {
    const onLost = vi.fn(async () => {
      throw new Error("unreachable");
    });
    const { body } = relayed(upstreamOf([event(0)], "error"), { onLost });
    await expect(body.text()).rejects.toThrow();
  });

  it("ends with [DONE] on shutdown and stops the upstream", async () => {
    const shutdown = new AbortController();
    const { options, body } = relayed(upstreamOf([event(0)], "hang"), { signal: shutdown.signal });
    const reader = body.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(event(0));
    shutdown.abort();
    const rest = await reader.read();
    expect(new TextDecoder().decode(rest.value)).toBe(SSE_DONE);
    expect((await reader.read()).done).toBe(true);
    expect(options.cancelUpstream).toHaveBeenCalled();
    expect(options.onEnd).toHaveBeenCalledTimes(1);
  });

  it("stops the upstream when the client goes", async () => {
    const { options, body } = relayed(upstreamOf([event(0)], "hang"));
    const reader = body.body!.getReader();
    await reader.read();
    await reader.cancel();
    expect(options.cancelUpstream).toHaveBeenCalledTimes(1);
    expect(options.onEnd).toHaveBeenCalledTimes(1);
    expect(options.onLost).not.toHaveBeenCalled();
  });
});
