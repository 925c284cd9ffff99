import type { UIMessage, UIMessageChunk } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildToolSet } from "../../agents/tools";
import { createLogger } from "../../logger";
import { streamModel } from "../model-stream";
import { createModelWorkers, type ModelWorkers } from "./pool";
import { describeTools } from "./protocol";

const logger = createLogger({ level: "silent" });
const userMessage = (text: string): UIMessage[] => [{ id: "u1", role: "user", parts: [{ type: "text", text }] }];
const now = new Date("2026-01-02T03:04:05.000Z");
const sent: unknown[] = [];
const tools = buildToolSet(["get_time", "send_email"], {
  executionId: "exec-1",
  now: () => now,
  outbox: {
    sendOnce: async (email: unknown) => {
      sent.push(email);
      return { messageId: "m1" };
    },
  } as never,
});

async function collect(stream: { chunks: AsyncIterable<UIMessageChunk> }): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  for await (const chunk of stream.chunks) chunks.push(chunk);
  return chunks;
}

const request = async (text: string, tokenDelayMs = 0) => ({
  spec: { kind: "demo" as const, tokenDelayMs },
  history: userMessage(text),
  tools: (await describeTools(tools))!,
  maxSteps: 5,
  maxRetries: 0,
  messageId: "msg_fixed",
  sendStart: true,
});

describe("model workers", () => {
  let workers: ModelWorkers;
  beforeAll(() => {
    const created = createModelWorkers({ threads: 2, logger });
    if (!created) throw new Error("dist/model-worker.mjs is missing: run `npm run build`");
    workers = created;
  });
  afterAll(() => workers?.close());

  it("stream a turn chunk for chunk as the main thread does, and end with the same message", async () => {
    const { createDemoModel } = await import("../../agents/demo-model");
    const here = streamModel({ ...(await request("count to 30")), model: createDemoModel({ tokenDelayMs: 0 }), tools });
    const there = workers.streamTurn(await request("count to 30"), tools);
    const [local, remote] = await Promise.all([collect(here), collect(there)]);
    expect(remote.filter((chunk) => chunk.type === "text-delta")).toHaveLength(30);
    expect(remote).toEqual(local);
    expect(there.end.responseMessage).toEqual(here.end.responseMessage);
    expect(there.end.failure).toBeUndefined();
  });

  it("run the model's tool calls in the main thread, and stop at a call that needs approval", async () => {
    const timed = workers.streamTurn(await request("use get_time"), tools);
    const output = (await collect(timed)).find((chunk) => chunk.type === "tool-output-available");
    // The worker has no clock of the main thread's: this time can only come from the tool run here.
    expect(output).toMatchObject({ output: { iso: now.toISOString() } });

    const email = workers.streamTurn(
      await request('use send_email with {"to":"ada@example.com","subject":"hi","body":"hello"}'),
      tools,
    );
    const chunks = await collect(email);
    expect(chunks.some((chunk) => chunk.type === "tool-approval-request")).toBe(true);
    expect(sent).toEqual([]);
  });

  it("stop a turn in its worker when the turn is aborted", async () => {
    const controller = new AbortController();
    const slow = workers.streamTurn(await request("count to 200", 20), tools, controller.signal);
    const started = performance.now();
    let deltas = 0;
    for await (const chunk of slow.chunks) {
      if (chunk.type === "text-delta" && ++deltas === 3) controller.abort();
    }
    // 200 tokens at 20 ms would take 4 s.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(deltas).toBeLessThan(10);
  });

  it("end at once a turn whose signal was aborted before it started", async () => {
    const started = performance.now();
    const chunks = await collect(workers.streamTurn(await request("count to 200", 20), tools, AbortSignal.abort()));
    expect(chunks.filter((chunk) => chunk.type === "text-delta").length).toBeLessThan(10);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("fail the turns of a worker that dies, at once, and replace it", async () => {
    const controller = new AbortController();
    // One turn per worker (a turn goes to the one with the fewest): only the first worker dies.
    const turns = [];
    for (const _ of [0, 1]) turns.push(workers.streamTurn(await request("count to 200", 20), tools, controller.signal));
    const reading = turns.map((turn) => collect(turn).then(() => "ended", (error: Error) => error.message));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [dying] = workers.threads();
    await dying!.terminate();
    const first = await Promise.race([...reading, new Promise((resolve) => setTimeout(() => resolve("hung"), 3_000))]);
    expect(first).toBe("the model worker stopped: exit code 1");
    controller.abort();
    expect(await Promise.all(reading)).toContain("ended");

    expect(workers.threads()).toHaveLength(2);
    expect(workers.threads()).not.toContain(dying);
    const after = await collect(workers.streamTurn(await request("count to 3"), tools));
    expect(after.filter((chunk) => chunk.type === "text-delta")).toHaveLength(3);
  });
});
