import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, databaseKinds, type TestDatabase } from "./support/database";
import { startServerProcess, type ServerProcess } from "./support/server-process";
import { chunksOf, countText, eventually, parseSse, readUntil, textOf, userMessage } from "./support/tether";
import { executionReader, settled } from "./support/executions";
import { isWaitingWithSettledSteps, readRunEvents, type WorldLocation } from "./support/workflow-log";

/** How long a run may take to settle: a restarted server first starts its world and re-delivers steps. */
const AFTER_RESTART_MS = 60_000;

describe.each(databaseKinds())("a durable run survives kill -9 (%s world)", (kind) => {
  let dataDir: string;
  let database: TestDatabase | undefined;
  let environment: Record<string, string>;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-crash-"));
    environment = { TETHER_DATA_DIR: dataDir };
    if (kind === "postgres") {
      database = await createTestDatabase("postgres");
      await database.handle.close();
      environment.DATABASE_URL = database.url!;
    }
    server = await startServerProcess(environment);
    for (const [id, model] of [["slow-durable", "demo:15"], ["durable", "demo"]] as const) {
      const created = await fetch(`${server.baseUrl}/api/agents`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id, name: id, model, tools: ["send_email"], executionMode: "durable" }),
      });
      expect(created.status).toBe(201);
    }
  });
  afterEach(() => {
    if (server && process.env.TEST_SHOW_SERVER_OUTPUT) console.log(server.output());
  });
  afterAll(async () => {
    await server?.stop();
    if (database) {
      // The handle was closed above; dispose() only drops the database.
      await database.dispose().catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  const api = (pathname: string, init?: RequestInit & { json?: unknown }) =>
    fetch(`${server!.baseUrl}${pathname}`, {
      ...init,
      ...(init?.json === undefined
        ? {}
        : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(init.json) }),
    });
  const execution = executionReader((pathname) => api(pathname));
  const restart = async () => {
    await server!.crash();
    server = await startServerProcess(environment);
  };

  it("waits through a crash while suspended; the approval after the restart completes it", async () => {
    const response = await api("/api/chat", {
      json: {
        id: `crash-suspended-${kind}`,
        agentId: "durable",
        messages: [userMessage('use send_email with {"to":"ops@example.com","subject":"s","body":"b"}')],
      },
    });
    const executionId = response.headers.get("x-execution-id")!;
    await response.text();
    const suspended = await settled(execution, executionId, "suspended", AFTER_RESTART_MS);
    const toolCallId = suspended.pendingApprovals[0]!.toolCallId;
    // `suspended` is written by a step, before the run registers its hook; the crash this test is about
    // comes once the run really waits (a kill inside the SDK's own step bookkeeping is another matter:
    // vercel/workflow#3081).
    const world: WorldLocation = kind === "postgres" ? { kind, url: database!.url! } : { kind: "local", dataDir };
    await eventually(async () => {
      expect(isWaitingWithSettledSteps(await readRunEvents(world, suspended.workflowRunId!))).toBe(true);
    }, 30_000);

    await restart();
    expect((await execution(executionId)).status).toBe("suspended");
    const decided = await api(`/api/executions/${executionId}/approvals/${toolCallId}`, { json: { approved: true } });
    expect(decided.status).toBe(200);
    await settled(execution, executionId, "completed", AFTER_RESTART_MS);
    const outbox = (await (await api("/api/outbox")).json()) as { messages: Array<{ toolCallId: string }> };
    expect(outbox.messages.filter((message) => message.toolCallId === toolCallId)).toHaveLength(1);
  });

  it("finishes a model round cut by a crash; the replay has no duplicate text", async () => {
    const response = await api("/api/chat", {
      json: { id: `crash-mid-round-${kind}`, agentId: "slow-durable", messages: [userMessage("count to 300")] },
    });
    const executionId = response.headers.get("x-execution-id")!;
    // Read until the run is well into the round, then pull the plug.
    const read = await readUntil(response, '"delta":" 40"');
    const received = read.text;
    await restart();
    await read.cancel();

    const done = await settled(execution, executionId, "completed", AFTER_RESTART_MS);
    // The round really ran twice: its step shows an attempt the crash cut short, then one that completed
    // (the step finishes just after it recorded the run's end)…
    await eventually(async () => {
      const { steps } = (await (await api(`/api/executions/${executionId}/steps`)).json()) as {
        steps: Array<{ name: string; attempts: Array<{ outcome: string }> }>;
      };
      const round = steps.find((step) => step.name === "runModelRound")!;
      expect(round.attempts.map((attempt) => attempt.outcome)).toEqual(["interrupted", "completed"]);
    });
    // …which the execution's metadata leaves to the timeline: no step bookkeeping in the API.
    expect(Object.keys(done.metadata).filter((key) => key.startsWith("attempt:") || key.startsWith("stepResult:"))).toEqual([]);
    // …and the replay shows the surviving attempt only.
    const replay = chunksOf(parseSse(await (await api(`/api/executions/${executionId}/stream`)).text()));
    expect(textOf(replay)).toBe(countText(300));
    expect(replay.filter((chunk) => chunk.type === "start")).toHaveLength(1);
    expect(replay.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "completed" } });
    // A client cut off by the crash resumes after the last event it holds: it gets the rest of the text
    // once (the retry repeats what it already has), not the retry from its start.
    const held = parseSse(received.slice(0, received.lastIndexOf("\n\n") + 2));
    const rest = await api(`/api/executions/${executionId}/stream`, { headers: { "last-event-id": held.at(-1)!.id! } });
    expect(textOf(chunksOf(held)) + textOf(chunksOf(parseSse(await rest.text())))).toBe(countText(300));
  });

  it("runs an approved tool once when the crash cuts the round after it", async () => {
    await api("/api/agents/slow-durable", { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "demo:400" }) });
    const response = await api("/api/chat", {
      json: {
        id: `crash-after-tool-${kind}`,
        agentId: "slow-durable",
        messages: [userMessage('use send_email with {"to":"once@example.com","subject":"s","body":"b"}')],
      },
    });
    const executionId = response.headers.get("x-execution-id")!;
    await response.text();
    const toolCallId = (await settled(execution, executionId, "suspended", AFTER_RESTART_MS)).pendingApprovals[0]!.toolCallId;
    const answer = await api(`/api/executions/${executionId}/approvals/${toolCallId}`, { json: { approved: true } });
    expect(answer.status).toBe(200);
    // Follow the next round until the tool's result is out and the model has begun to answer.
    const resumed = await eventually(async () => {
      const stream = await api(`/api/chat/crash-after-tool-${kind}/stream`);
      expect(stream.status).toBe(200);
      return stream;
    });
    const read = await readUntil(resumed, '"text-delta"');
    expect(read.text).toContain("tool-output-available");
    await restart();
    await read.cancel();

    await settled(execution, executionId, "completed", AFTER_RESTART_MS);
    const outbox = (await (await api("/api/outbox")).json()) as { messages: Array<{ toolCallId: string; messageId: string }> };
    const sent = outbox.messages.filter((message) => message.toolCallId === toolCallId);
    expect(sent).toHaveLength(1);
    const replay = chunksOf(parseSse(await (await api(`/api/executions/${executionId}/stream`)).text()));
    expect(textOf(replay)).toBe(`send_email returned {"messageId":"${sent[0]!.messageId}"}`);
  });
});
