import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTether } from "../src/tether";
import { createRepositories } from "../src/db/repositories";
import { parseConfig } from "../src/config";
import { createLogger } from "../src/logger";
import { INTERRUPTED_ERROR } from "../src/runs/interrupted-runs";
import { StreamBufferRegistry } from "../src/streams";
import { databaseKinds } from "./support/database";
import {
  chunksOf,
  eventually,
  parseSse,
  readSse,
  startTestTether,
  textOf,
  userMessage,
  type TestTether,
} from "./support/tether";
import type { ExecutionBody as Execution } from "./support/assertions";


describe.each(databaseKinds())("classic runs on %s", (kind) => {
  let harness: TestTether;

  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_STREAM_EXPIRE_AFTER: "60s" });
    await harness.request("/api/agents", { json: { id: "slow", name: "Slow", model: "demo:20", tools: ["send_email"] } });
  });
  afterAll(() => harness.dispose());

  const execution = async (id: string) => (await (await harness.request(`/api/executions/${id}`)).json()) as Execution;
  const chat = (conversationId: string, text: string, agentId = "assistant") =>
    harness.request("/api/chat", { json: { id: conversationId, agentId, messages: [userMessage(text)] } });
  const terminalOf = (chunks: Array<{ type: string; data?: unknown }>) =>
    (chunks.at(-1) as { type: string; data: { reason: string } }).data.reason;

  it("keeps running when the client goes away, and stop ends it as cancelled", async () => {
    const response = await chat("stop-me", "count to 2000", "slow");
    const executionId = response.headers.get("x-execution-id")!;
    await response.body!.cancel(); // the client disconnects
    await new Promise((resolve) => setTimeout(resolve, 100));
    const running = await execution(executionId);
    expect(running.status).toBe("running");
    // The row names the process running it (for interrupted-run sweeps); the API leaves that out.
    const stored = await createRepositories(harness.database.handle.db).executions.get(executionId);
    expect(stored.metadata.process).toMatch(/^proc_/);
    expect(running.metadata).not.toHaveProperty("process");

    const resumed = await harness.request("/api/chat/stop-me/stream");
    expect(resumed.status).toBe(200);
    const stop = await harness.request("/api/chat/stop-me/stop", { method: "POST" });
    expect(await stop.json()).toEqual({ executionId, status: "cancelled" });
    const events = await readSse(resumed);
    expect(events.at(-1)!.data).toBe("[DONE]");
    const chunks = chunksOf(events);
    expect(terminalOf(chunks)).toBe("cancelled");
    expect(textOf(chunks).length).toBeLessThan("1 2 3".length * 1000);
    expect((await execution(executionId)).status).toBe("cancelled");
  });

  it("ends the previous turn's readers with `superseded` when a new turn starts", async () => {
    const first = await chat("two-turns", "count to 2000", "slow");
    const firstId = first.headers.get("x-execution-id")!;
    const second = await chat("two-turns", "hello there", "slow");
    const firstChunks = chunksOf(await readSse(first));
    expect(terminalOf(firstChunks)).toBe("superseded");
    const secondChunks = chunksOf(await readSse(second));
    expect(textOf(secondChunks)).toBe("You said: hello there");
    expect(terminalOf(secondChunks)).toBe("completed");
    expect(await execution(firstId)).toMatchObject({ status: "cancelled", metadata: { cancelReason: "superseded" } });
  });

  it("records a model failure as failed, with the error, and ends the stream with `failed`", async () => {
    const response = await chat("failing", "fail");
    const chunks = chunksOf(await readSse(response));
    expect(chunks.some((chunk) => chunk.type === "error")).toBe(true);
    expect(terminalOf(chunks)).toBe("failed");
    const failed = await execution(response.headers.get("x-execution-id")!);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("demo model failure");
  });

  it("continues server-side after an approval through the endpoint; the tool runs once", async () => {
    const response = await chat("by-endpoint", 'use send_email with {"to":"b@example.com","subject":"s","body":"b"}');
    const executionId = response.headers.get("x-execution-id")!;
    expect(terminalOf(chunksOf(await readSse(response)))).toBe("suspended");
    const suspended = await execution(executionId);
    expect(suspended.status).toBe("suspended");
    const [pending] = suspended.pendingApprovals;
    // Nothing streams while the run waits for a person.
    expect((await harness.request("/api/chat/by-endpoint/stream")).status).toBe(204);

    const decide = () =>
      harness.request(`/api/executions/${executionId}/approvals/${pending!.toolCallId}`, { json: { approved: true } });
    const decisions = await Promise.all([decide(), decide(), decide()]);
    expect(decisions.map((decision) => decision.status)).toEqual([200, 200, 200]);

    const handedOver = await eventually(async () => {
      const current = await execution(executionId);
      expect(current.metadata.continuedBy).toBeTypeOf("string");
      return current;
    });
    expect(handedOver.status).toBe("completed");
    const continuationId = handedOver.metadata.continuedBy as string;
    await eventually(async () => expect((await execution(continuationId)).status).toBe("completed"));
    const replay = chunksOf(await readSse(await harness.request(`/api/executions/${continuationId}/stream`)));
    expect(textOf(replay)).toMatch(/^send_email returned \{"messageId":"msg_/);

    const outbox = (await (await harness.request("/api/outbox")).json()) as { messages: Array<{ toolCallId: string }> };
    expect(outbox.messages.filter((message) => message.toolCallId === pending!.toolCallId)).toHaveLength(1);
    // A conflicting decision after the fact is refused.
    const conflicting = await harness.request(`/api/executions/${executionId}/approvals/${pending!.toolCallId}`, {
      json: { approved: false },
    });
    expect(conflicting.status).toBe(409);
  });

  it("resumes after any offset with exactly the later events, during and after the run", async () => {
    const response = await chat("offsets", "count to 50", "slow");
    const executionId = response.headers.get("x-execution-id")!;
    const all = await readSse(response);
    const ids = all.filter((event) => event.id !== undefined).map((event) => event.id!);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [index, id] of ids.entries()) {
      const rest = await readSse(
        await harness.request(`/api/executions/${executionId}/stream`, { headers: { "last-event-id": id } }),
      );
      expect(rest.filter((event) => event.id !== undefined).map((event) => event.id)).toEqual(ids.slice(index + 1));
      expect(rest.at(-1)!.data).toBe("[DONE]");
    }
  });

  // Only embedded mode is one process by construction; on PostgreSQL this is reported as skipped.
  it.runIf(kind === "pglite")("marks classic runs cut off by a restart as failed (embedded mode)", async () => {
    const response = await chat("cut-off", "count to 5000", "slow");
    const executionId = response.headers.get("x-execution-id")!;
    await response.body!.cancel();
    // A second process on the same data starts, as after a crash of the first.
    const restarted = await createTether({
      config: parseConfig({ TETHER_DATA_DIR: "unused", TETHER_MAX_EVENT_LOOP_UTILIZATION: "0" }),
      database: harness.database.handle,
      logger: createLogger({ level: "silent" }),
      buffers: new StreamBufferRegistry(),
    });
    expect(await execution(executionId)).toMatchObject({ status: "failed", error: INTERRUPTED_ERROR });
    await restarted.shutdown();
  });
});

describe("stream expiry", () => {
  let harness: TestTether;
  beforeAll(async () => {
    harness = await startTestTether("pglite", { TETHER_STREAM_EXPIRE_AFTER: "150ms" });
  });
  afterAll(() => harness.dispose());

  it("answers 410 for a classic run's stream once its buffer has expired", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "expiring", agentId: "assistant", messages: [userMessage("count to 3")] },
    });
    const executionId = response.headers.get("x-execution-id")!;
    expect(parseSse(await response.text()).at(-1)!.data).toBe("[DONE]");
    expect((await harness.request(`/api/executions/${executionId}/stream`)).status).toBe(200);
    await eventually(async () => {
      const gone = await harness.request(`/api/executions/${executionId}/stream`);
      expect(gone.status).toBe(410);
      expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("gone");
    });
  });
});
