import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support/database";
import { startServerProcess, type ServerProcess } from "./support/server-process";
import { chunksOf, eventually, parseSse, textOf, userMessage } from "./support/tether";
import type { ExecutionBody as Execution } from "./support/assertions";

/**
 * Scaling out (DESIGN.md): several server processes share one PostgreSQL — the app tables and the Workflow
 * SDK Postgres world with its queue — and any of them serves any durable run: reads its state, takes its
 * approvals and streams it, whichever process started it.
 */


const countText = (n: number) => Array.from({ length: n }, (_, index) => index + 1).join(" ");

describe.runIf(process.env.TEST_DATABASE_URL)("two server processes on one PostgreSQL", () => {
  let database: TestDatabase | undefined;
  const dataDirs: string[] = [];
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let environmentOfA: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    // The servers open their own connections; only the url (and the final drop) are needed here.
    await database.handle.close();
    const environment = () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-multi-"));
      dataDirs.push(dataDir);
      return { DATABASE_URL: database!.url!, TETHER_DATA_DIR: dataDir };
    };
    // Started together: concurrent start-ups on one database must set it up once, without a fight.
    environmentOfA = environment();
    [a, b] = await Promise.all([startServerProcess(environmentOfA), startServerProcess(environment())]);
    for (const [id, model, executionMode] of [
      ["mail-durable", "demo", "durable"],
      ["count-durable", "demo:20", "durable"],
      ["count-classic", "demo:20", "classic"],
    ] as const) {
      const created = await fetch(`${a.baseUrl}/api/agents`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id, name: id, model, tools: ["send_email"], executionMode }),
      });
      expect(created.status).toBe(201);
    }
  });
  afterEach((context) => {
    if (context.task.result?.state === "fail" || process.env.TEST_SHOW_SERVER_OUTPUT) {
      console.log(`server A:\n${a?.output()}\nserver B:\n${b?.output()}`);
    }
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    // The handle was closed above; dispose() only drops the database.
    await database?.dispose().catch(() => undefined);
    for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
  });

  const api = (server: ServerProcess, pathname: string, json?: unknown) =>
    fetch(`${server.baseUrl}${pathname}`, {
      ...(json === undefined
        ? {}
        : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) }),
    });
  const execution = async (server: ServerProcess, id: string) => {
    const response = await api(server, `/api/executions/${id}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Execution;
  };
  const settled = (server: ServerProcess, id: string, status: string) =>
    eventually(async () => {
      const current = await execution(server, id);
      expect(current.status).toBe(status);
      return current;
    }, 30_000);

  it("serves a run started on A from B: its state, its approval and its whole stream", async () => {
    const started = await api(a!, "/api/chat", {
      id: "multi-approve",
      agentId: "mail-durable",
      messages: [userMessage('use send_email with {"to":"x@example.com","subject":"s","body":"b"}')],
    });
    expect(started.status).toBe(200);
    expect(started.headers.get("x-execution-mode")).toBe("durable");
    const executionId = started.headers.get("x-execution-id")!;
    const firstRound = chunksOf(parseSse(await started.text()));
    expect(firstRound.map((chunk) => chunk.type)).toContain("tool-approval-request");

    // B sees the run A started, down to the approval it waits for…
    const suspended = await settled(b!, executionId, "suspended");
    expect(suspended.pendingApprovals).toEqual([expect.objectContaining({ toolName: "send_email" })]);
    const { toolCallId } = suspended.pendingApprovals[0]!;

    // …takes the decision…
    const decided = await api(b!, `/api/executions/${executionId}/approvals/${toolCallId}`, { approved: true });
    expect(decided.status).toBe(200);
    expect(await decided.json()).toEqual({ toolCallId, status: "approved" });

    // …and streams the whole run, live until it ends, both rounds stitched.
    const whole = await api(b!, `/api/executions/${executionId}/stream`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseSse(await whole.text());
    expect(events.at(-1)!.data).toBe("[DONE]");
    const chunks = chunksOf(events);
    expect(chunks.at(-1)).toEqual(expect.objectContaining({ type: "data-terminal", data: { reason: "completed" } }));
    expect(chunks.filter((chunk) => chunk.type === "data-terminal")).toHaveLength(1);
    const approvalRequest = chunks.find((chunk) => chunk.type === "tool-approval-request");
    expect(approvalRequest).toMatchObject({ toolCallId });
    const output = chunks.find((chunk) => chunk.type === "tool-output-available") as
      | { toolCallId: string; output: { messageId: string } }
      | undefined;
    expect(output).toMatchObject({ toolCallId, output: { messageId: expect.any(String) } });
    expect(textOf(chunks)).toBe(`send_email returned {"messageId":"${output!.output.messageId}"}`);
    // The replay carries the first round as A served it.
    expect(chunks.slice(0, firstRound.length - 1)).toEqual(firstRound.slice(0, -1));

    const doneOnA = await settled(a!, executionId, "completed");
    const doneOnB = await settled(b!, executionId, "completed");
    expect(doneOnB.workflowRunId).toBe(doneOnA.workflowRunId);

    // The email went out once, whichever process ran the step.
    for (const server of [a!, b!]) {
      const outbox = (await (await api(server, "/api/outbox")).json()) as {
        messages: Array<{ toolCallId: string; messageId: string; executionId: string; to: string }>;
      };
      expect(outbox.messages.filter((message) => message.toolCallId === toolCallId)).toEqual([
        expect.objectContaining({ messageId: output!.output.messageId, executionId, to: "x@example.com" }),
      ]);
    }
  });

  it("streams a run started on B live from A through the resume route", async () => {
    const started = await api(b!, "/api/chat", {
      id: "multi-count",
      agentId: "count-durable",
      messages: [userMessage("count to 100")],
    });
    expect(started.status).toBe(200);
    const executionId = started.headers.get("x-execution-id")!;
    // B's own response is read alongside; a disconnect would not stop the run anyway.
    const onB = started.text();

    const live = await eventually(async () => {
      const response = await api(a!, "/api/chat/multi-count/stream");
      expect(response.status).toBe(200);
      return response;
    }, 15_000);
    expect(live.headers.get("x-execution-id")).toBe(executionId);
    expect(live.headers.get("x-execution-mode")).toBe("durable");
    const events = parseSse(await live.text());
    expect(events.at(-1)!.data).toBe("[DONE]");
    const chunks = chunksOf(events);
    // From the turn's start, whatever had been written before A was asked.
    expect(chunks[0]).toMatchObject({ type: "start" });
    expect(textOf(chunks)).toBe(countText(100));
    expect(chunks.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "completed" } });

    expect(textOf(chunksOf(parseSse(await onB)))).toBe(countText(100));
    await settled(a!, executionId, "completed");
    await settled(b!, executionId, "completed");
    // Once it has ended, nothing streams there any more, on either process.
    expect((await api(a!, "/api/chat/multi-count/stream")).status).toBe(204);
    expect((await api(b!, "/api/chat/multi-count/stream")).status).toBe(204);
  });
  it("marks the classic runs of a process that died as failed, and leaves the other process's runs alone", async () => {
    const startOn = async (server: ServerProcess, conversationId: string) => {
      const response = await api(server, "/api/chat", {
        id: conversationId,
        agentId: "count-classic",
        messages: [userMessage("count to 3000")],
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-execution-mode")).toBe("classic");
      // Classic runs do not stop when their client goes; only the process dying stops this one.
      await response.body!.cancel();
      return response.headers.get("x-execution-id")!;
    };
    const onA = await startOn(a!, "classic-on-a");
    const onB = await startOn(b!, "classic-on-b");
    expect((await execution(b!, onA)).status).toBe("running");

    await a!.crash();
    // A restarted process looks for runs left behind as it starts (every process also does every 30 s).
    a = await startServerProcess(environmentOfA);
    const failed = await settled(b!, onA, "failed");
    expect(failed.error).toBe("interrupted: the server process running it stopped");
    expect((await execution(b!, onB)).status).toBe("running");
    expect((await execution(a, onB)).status).toBe("running");

    const stopped = await api(b!, "/api/chat/classic-on-b/stop", {});
    expect(stopped.status).toBe(200);
    await settled(b!, onB, "cancelled");
  });
});
