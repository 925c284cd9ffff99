import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { stream } from "@durable-streams/client";
import { sign } from "hono/jwt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support/database";
import { settled } from "./support/executions";
import { startServerProcess, type ServerProcess } from "./support/server-process";
import {
  chunksOf,
  countText,
  eventually,
  parseSse,
  readSseIncrementally,
  textOf,
  userMessage,
  type SseEvent,
} from "./support/tether";
import { expectError, type ExecutionBody as Execution } from "./support/assertions";

/**
 * Scaling out (docs/api.md § Several processes): several server processes share one PostgreSQL — the app tables and the Workflow
 * SDK Postgres world with its queue — and any of them serves any durable run: reads its state, takes its
 * approvals and streams it, whichever process started it. A classic run's stream lives in the process that
 * runs it: the others forward its resumes there, and answer its end when that process is gone.
 */

const ADMIN_KEY = `admin-${randomBytes(12).toString("hex")}`;
const JWT_SECRET = `jwt-secret-${randomBytes(24).toString("hex")}`;

describe.runIf(process.env.TEST_DATABASE_URL)("two server processes on one PostgreSQL", () => {
  let database: TestDatabase | undefined;
  const dataDirs: string[] = [];
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let environmentOfA: Record<string, string> = {};
  const tokens = { alice: "", bob: "" };

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    // The servers open their own connections; only the url (and the final drop) are needed here.
    await database.handle.close();
    const environment = () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-multi-"));
      dataDirs.push(dataDir);
      return { DATABASE_URL: database!.url!, TETHER_DATA_DIR: dataDir, TETHER_API_KEYS: ADMIN_KEY, TETHER_JWT_SECRET: JWT_SECRET };
    };
    // Started together: concurrent start-ups on one database must set it up once, without a fight.
    environmentOfA = environment();
    [a, b] = await Promise.all([startServerProcess(environmentOfA), startServerProcess(environment())]);
    const expires = Math.floor(Date.now() / 1000) + 3600;
    tokens.alice = await sign({ sub: "alice", exp: expires }, JWT_SECRET, "HS256");
    tokens.bob = await sign({ sub: "bob", exp: expires }, JWT_SECRET, "HS256");
    for (const [id, model, executionMode] of [
      ["mail-durable", "demo", "durable"],
      ["count-durable", "demo:20", "durable"],
      ["count-classic", "demo:20", "classic"],
    ] as const) {
      const created = await fetch(`${a.baseUrl}/api/agents`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_KEY}` },
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

  /** A request as the admin, or as the holder of `token` (with `headers` besides). */
  const api = (
    server: ServerProcess,
    pathname: string,
    json?: unknown,
    options: { token?: string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${server.baseUrl}${pathname}`, {
      headers: {
        authorization: `Bearer ${options.token ?? ADMIN_KEY}`,
        ...(json === undefined ? {} : { "content-type": "application/json" }),
        ...options.headers,
      },
      ...(json === undefined ? {} : { method: "POST", body: JSON.stringify(json) }),
    });
  const execution = async (server: ServerProcess, id: string) => {
    const response = await api(server, `/api/executions/${id}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Execution;
  };
  /** Waits for a run's status as one process answers it. */
  const settledOn = (server: ServerProcess, id: string, status: Execution["status"]) =>
    settled((executionId) => execution(server, executionId), id, status, 30_000);

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
    const suspended = await settledOn(b!, executionId, "suspended");
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

    const doneOnA = await settledOn(a!, executionId, "completed");
    const doneOnB = await settledOn(b!, executionId, "completed");
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
    await settledOn(a!, executionId, "completed");
    await settledOn(b!, executionId, "completed");
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
    const failed = await settledOn(b!, onA, "failed");
    expect(failed.error).toBe("interrupted: the server process running it stopped");
    expect((await execution(b!, onB)).status).toBe("running");
    expect((await execution(a, onB)).status).toBe("running");

    const stopped = await api(b!, "/api/chat/classic-on-b/stop", {});
    expect(stopped.status).toBe(200);
    await settledOn(b!, onB, "cancelled");
  });
  describe("a classic turn is served from any process", () => {
    const asAlice = (headers: Record<string, string> = {}) => ({ token: tokens.alice, headers });
    const startClassic = async (server: ServerProcess, conversationId: string, text: string) => {
      const response = await api(server, "/api/chat", { id: conversationId, agentId: "count-classic", messages: [userMessage(text)] }, asAlice());
      expect(response.status).toBe(200);
      expect(response.headers.get("x-execution-mode")).toBe("classic");
      return { executionId: response.headers.get("x-execution-id")!, stream: readSseIncrementally(response) };
    };
    const indexOf = (event: SseEvent) => Number(event.id!.split(".")[1]);
    /** Classic offsets count the turn's events: `0.0`, `0.1`, … without a gap or a repeat. */
    const expectConsecutive = (events: SseEvent[], first = 0) =>
      expect(events.map((event) => event.id)).toEqual(events.map((_, index) => `0.${first + index}`));
    const within = <T>(ms: number, work: Promise<T>) =>
      Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms))]);
    const terminalOf = (events: SseEvent[]) => {
      expect(events.at(-1)!.data).toBe("[DONE]");
      return chunksOf(events).at(-1);
    };

    it("resumes a turn running on A from B: after Last-Event-ID, at a startIndex, or whole, with no gap or repeat", async () => {
      const { executionId, stream } = await startClassic(a!, "classic-resume-on-b", "count to 80");
      const head = await stream.take(12);
      // The client drops mid-turn and comes back through the other process.
      await stream.cancel();
      const cut = head.at(-1)!.id!;
      const [afterCut, atIndex, whole] = await Promise.all([
        api(b!, "/api/chat/classic-resume-on-b/stream", undefined, asAlice({ "last-event-id": cut })),
        api(b!, `/api/chat/classic-resume-on-b/stream?startIndex=${head.length}`, undefined, asAlice()),
        api(b!, `/api/executions/${executionId}/stream`, undefined, asAlice()),
      ]);
      // Still mid-turn: what B serves is A's live buffer.
      const meanwhile = await execution(b!, executionId);
      expect(meanwhile.status).toBe("running");
      expect(meanwhile).not.toHaveProperty("processUrl");
      for (const response of [afterCut, atIndex, whole]) {
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
        expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
        expect(response.headers.get("x-execution-id")).toBe(executionId);
        expect(response.headers.get("x-execution-mode")).toBe("classic");
      }
      const tail = parseSse(await afterCut.text());
      expect(indexOf(tail[0]!)).toBe(indexOf(head.at(-1)!) + 1);
      const stitched = [...head, ...tail.slice(0, -1)];
      expectConsecutive(stitched);
      expect(textOf(chunksOf(stitched))).toBe(countText(80));
      expect(terminalOf(tail)).toMatchObject({ type: "data-terminal", data: { reason: "completed" } });

      expect(parseSse(await atIndex.text())).toEqual(tail);
      const everything = parseSse(await whole.text());
      expect(everything.slice(0, -1)).toEqual(stitched);
      expect(everything.at(-1)!.data).toBe("[DONE]");
      await settledOn(a!, executionId, "completed");
    });

    it("serves a turn running on A to a Durable Streams reader on B: its position (HEAD), its catch-up, then live to its close", async () => {
      const { executionId, stream: onA } = await startClassic(a!, "classic-ds-on-b", "count to 80");
      await onA.take(12);
      const url = `${b!.baseUrl}/v1/stream/executions/${executionId}`;
      const headers = { authorization: `Bearer ${tokens.alice}` };
      const head = await fetch(url, { method: "HEAD", headers });
      expect(head.status).toBe(200);
      expect(head.headers.get("x-execution-id")).toBe(executionId);
      // The tail A holds now: at least the events the chat response already had.
      expect(Number(head.headers.get("stream-next-offset")!.split(".")[1])).toBeGreaterThanOrEqual(11);
      expect(head.headers.get("stream-closed")).toBeNull();

      const session = await stream<Record<string, unknown> & { type: string }>({ url, offset: "-1", live: "sse", headers });
      const items: Array<Record<string, unknown> & { type: string }> = [];
      for await (const item of session.jsonStream()) items.push(item);
      expect(session.streamClosed).toBe(true);
      expect(textOf(items)).toBe(countText(80));
      expect(items.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "completed" } });
      // What B relayed is A's buffer as A serves it.
      const onAItself = await stream<Record<string, unknown>>({ url: `${a!.baseUrl}/v1/stream/executions/${executionId}`, offset: "-1", headers });
      expect(await onAItself.json()).toEqual(items);
      await onA.cancel();
    });

    it.each([
      ["POST /api/chat/:id/stop", (conversationId: string) => `/api/chat/${conversationId}/stop`],
      ["POST /api/executions/:id/cancel", (_: string, executionId: string) => `/api/executions/${executionId}/cancel`],
    ])("%s on B stops the turn running on A: every reader, on A and through B, ends cancelled", async (_route, stopPath) => {
      const conversationId = `classic-stop-${randomBytes(4).toString("hex")}`;
      const { executionId, stream: onA } = await startClassic(a!, conversationId, "count to 3000");
      await onA.take(5);
      const throughB = readSseIncrementally(await api(b!, `/api/chat/${conversationId}/stream`, undefined, asAlice()));
      await throughB.take(5);

      const stopping = Date.now();
      const stopped = await api(b!, stopPath(conversationId, executionId), {}, asAlice());
      expect(stopped.status).toBe(200);
      expect(await stopped.json()).toMatchObject({ status: "cancelled" });
      // A notices within about a second, not at the end of a one-minute turn.
      const [readOnA, readThroughB] = await within(2_000, Promise.all([onA.rest(), throughB.rest()]));
      for (const { events } of [readOnA, readThroughB]) {
        expect(terminalOf(events)).toMatchObject({ type: "data-terminal", data: { reason: "cancelled" } });
        expectConsecutive(events.slice(0, -1));
        const text = textOf(chunksOf(events));
        expect(countText(3000).startsWith(text)).toBe(true);
        expect(text.length).toBeLessThan(countText(3000).length);
      }
      expect((await settledOn(a!, executionId, "cancelled")).metadata).toMatchObject({ cancelReason: "cancelled" });
    });

    it("a new turn sent to B supersedes the turn running on A: A's readers end superseded", async () => {
      const { executionId, stream: onA } = await startClassic(a!, "classic-superseded", "count to 3000");
      await onA.take(5);
      const next = await startClassic(b!, "classic-superseded", "count to 3");
      const { events } = await within(2_000, onA.rest());
      expect(terminalOf(events)).toMatchObject({ type: "data-terminal", data: { reason: "superseded" } });
      expect(textOf(chunksOf((await next.stream.rest()).events))).toBe(countText(3));
      expect((await settledOn(a!, executionId, "cancelled")).metadata).toMatchObject({ cancelReason: "superseded" });
    });

    it("answers a user who does not own the turn 404 through B, as A does, forwarded or not", async () => {
      const { executionId, stream } = await startClassic(a!, "classic-of-alice", "count to 3000");
      await stream.take(3);
      const asBob = (headers: Record<string, string> = {}) => ({ token: tokens.bob, headers });
      for (const server of [b!, a!]) {
        for (const headers of [{}, { "last-event-id": "0.1" }, { "x-tether-forwarded": "1" }] as Record<string, string>[]) {
          await expectError(await api(server, "/api/chat/classic-of-alice/stream", undefined, asBob(headers)), 404, "not_found");
          await expectError(await api(server, `/api/executions/${executionId}/stream`, undefined, asBob(headers)), 404, "not_found");
        }
        await expectError(await api(server, "/api/chat/classic-of-alice/stop", {}, asBob()), 404, "not_found");
        await expectError(await api(server, `/api/executions/${executionId}/cancel`, {}, asBob()), 404, "not_found");
      }
      expect((await api(b!, "/api/chat/classic-of-alice/stream", undefined, { token: "not-a-token" })).status).toBe(401);
      // A request that was forwarded once is answered where it lands, never forwarded again: B cannot serve
      // A's live turn itself, and says so.
      const bounced = await api(b!, "/api/chat/classic-of-alice/stream", undefined, asAlice({ "x-tether-forwarded": "1" }));
      await expectError(bounced, 503, "unavailable");
      // Alice's own resume through B goes on.
      const hers = readSseIncrementally(await api(b!, "/api/chat/classic-of-alice/stream", undefined, asAlice()));
      expect((await hers.take(3)).map((event) => event.id)).toEqual(["0.0", "0.1", "0.2"]);
      await hers.cancel();
      expect((await execution(a!, executionId)).status).toBe("running");
      expect((await api(a!, "/api/chat/classic-of-alice/stop", {}, asAlice())).status).toBe(200);
      await stream.cancel();
    });

    it("when A dies, B ends its readers with the run's end at once: failed mid-turn, 410 for a finished turn's lost tail", async () => {
      // A finished turn, whose buffer only A held…
      const finished = await startClassic(a!, "classic-finished-on-a", "count to 5");
      const finishedEvents = (await finished.stream.rest()).events;
      await settledOn(b!, finished.executionId, "completed");
      // …and a turn A is in the middle of, read through B.
      const { executionId, stream: onA } = await startClassic(a!, "classic-killed", "count to 3000");
      await onA.take(3);
      await onA.cancel();
      const throughB = readSseIncrementally(await api(b!, "/api/chat/classic-killed/stream", undefined, asAlice()));
      const before = await throughB.take(10);

      await a!.crash();
      const crashed = Date.now();
      const { events: relayed } = await throughB.rest();
      expect(Date.now() - crashed).toBeLessThan(3_000);
      const terminal = relayed.at(-2)!;
      expect(terminalOf(relayed)).toMatchObject({ type: "data-terminal", data: { reason: "failed" } });
      // Every event it had from A once, then the end at the last offset it got.
      expectConsecutive(relayed.slice(0, -2));
      expect(relayed.slice(0, before.length)).toEqual(before);
      expect(terminal.id).toBe(relayed.at(-3)!.id);

      const failed = await execution(b!, executionId);
      expect(failed.status).toBe("failed");
      expect(failed.error).toBe("interrupted: the server process running it stopped");

      const resuming = Date.now();
      const resumed = await api(b!, "/api/chat/classic-killed/stream", undefined, asAlice({ "last-event-id": before.at(-1)!.id! }));
      expect(resumed.status).toBe(200);
      const resumedEvents = parseSse(await resumed.text());
      expect(resumedEvents).toHaveLength(2);
      expect(resumedEvents[0]!.id).toBe(before.at(-1)!.id);
      expect(terminalOf(resumedEvents)).toMatchObject({ type: "data-terminal", data: { reason: "failed" } });
      const wholeRun = parseSse(await (await api(b!, `/api/executions/${executionId}/stream`, undefined, asAlice())).text());
      expect(wholeRun).toHaveLength(2);
      expect(terminalOf(wholeRun)).toMatchObject({ type: "data-terminal", data: { reason: "failed" } });
      // A Durable Streams reader gets the same end, in its protocol, and a closed stream.
      const read = await api(b!, `/v1/stream/executions/${executionId}?offset=-1`, undefined, asAlice());
      expect(read.status).toBe(200);
      expect(read.headers.get("stream-closed")).toBe("true");
      expect(await read.json()).toEqual([expect.objectContaining({ type: "data-terminal", data: { reason: "failed" } })]);
      // Without an offset an ended turn is nothing to resume, as on one process.
      expect((await api(b!, "/api/chat/classic-killed/stream", undefined, asAlice())).status).toBe(204);
      // The finished turn's text went with A: gone (410), as an expired buffer, never a silent end.
      const finishedResume = await api(b!, "/api/chat/classic-finished-on-a/stream", undefined, asAlice({ "last-event-id": finishedEvents[2]!.id! }));
      expect(finishedResume.status).toBe(410);
      expect(((await finishedResume.json()) as { error: { code: string } }).error.code).toBe("gone");
      expect(Date.now() - resuming).toBeLessThan(3_000);

      a = await startServerProcess(environmentOfA);
    });
  });
});
