import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DurableStream, stream, type JsonBatch, type LiveMode } from "@durable-streams/client";
import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "./support/database";
import { expectError } from "./support/assertions";
import { executionReader, settled } from "./support/executions";
import {
  chunksOf,
  countText,
  eventually,
  parseSse,
  readSse,
  startTestTether,
  textOf,
  userMessage,
  type TestTether,
} from "./support/tether";

/**
 * `GET /v1/stream/executions/:id` (docs/api.md § Routes, `GET /v1/stream/executions/:id`) read with the real
 * `@durable-streams/client`, against classic and durable runs on a real server.
 */

type Chunk = Record<string, unknown> & { type: string };

const COUNT = 200;
const COUNTED = countText(COUNT);
const EMAIL = `use send_email with ${JSON.stringify({ to: "ds@example.com", subject: "s", body: "b" })}`;

/** A fetch that remembers each request's URL and status. */
function recordingFetch() {
  const requests: Array<{ url: URL; method: string; status: number }> = [];
  const record: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    requests.push({ url: new URL(String(input)), method: init?.method ?? "GET", status: response.status });
    return response;
  };
  return { fetch: record, requests };
}

/** Every item of a session, until the stream closes. */
async function allItems(session: { jsonStream(): AsyncIterable<Chunk> }): Promise<Chunk[]> {
  const items: Chunk[] = [];
  for await (const item of session.jsonStream()) items.push(item);
  return items;
}

describe.each(databaseKinds())("Durable Streams reads on %s", (kind) => {
  let harness: TestTether;
  let baseUrl: string;

  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_STREAM_EXPIRE_AFTER: "60s", TETHER_APPROVAL_TIMEOUT: "60s" }, { workflows: true });
    baseUrl = await harness.listen();
    for (const executionMode of ["classic", "durable"] as const) {
      await harness.request("/api/agents", { json: { id: `${executionMode}-slow`, name: executionMode, model: "demo:20", executionMode } });
      await harness.request("/api/agents", {
        json: { id: `${executionMode}-tools`, name: executionMode, model: "demo", tools: ["send_email"], executionMode },
      });
    }
  });
  afterAll(() => harness.dispose());

  const urlOf = (executionId: string) => `${baseUrl}/v1/stream/executions/${executionId}`;
  const execution = executionReader((pathname) => harness.request(pathname));
  /** Starts a turn; answers its execution id and the uninterrupted chat response's chunks (read meanwhile). */
  const startTurn = async (agentId: string, text: string) => {
    const response = await harness.request("/api/chat", {
      json: { id: `ds-${Math.random().toString(36).slice(2)}`, agentId, messages: [userMessage(text)] },
    });
    expect(response.status).toBe(200);
    const uninterrupted = readSse(response).then(chunksOf);
    return { executionId: response.headers.get("x-execution-id")!, uninterrupted };
  };
  /** The whole run as `/api/executions/:id/stream` serves it, once it has ended. */
  const wholeRun = async (executionId: string) =>
    chunksOf(await readSse(await harness.request(`/api/executions/${executionId}/stream`)));
  /** The offset of a finished run's n-th event, as its SSE ids name it. */
  const offsetAfter = async (executionId: string, count: number) =>
    parseSse(await (await harness.request(`/api/executions/${executionId}/stream`)).text())[count - 1]!.id!;

  describe.each(["classic", "durable"] as const)("a %s execution", (mode) => {
    it.each<LiveMode>(["long-poll", "sse"])("catches up, then follows live (%s) until the stream closes", async (live) => {
      const { executionId, uninterrupted } = await startTurn(`${mode}-slow`, `count to ${COUNT}`);
      // Part of the run is there to catch up on; the rest is still to come.
      await new Promise((resolve) => setTimeout(resolve, 600));
      const recorder = recordingFetch();
      const session = await stream<Chunk>({ url: urlOf(executionId), offset: "-1", live, fetch: recorder.fetch });
      expect(session.contentType).toMatch(/^application\/json/);
      const items = await allItems(session);
      expect(session.streamClosed).toBe(true);
      expect(textOf(items)).toBe(COUNTED);
      expect(items).toEqual(await uninterrupted);
      expect(items.at(-1)).toEqual({ type: "data-terminal", data: { reason: "completed" }, transient: true });
      // The first request catches up (no `live`), later ones follow live in the mode asked for.
      expect(recorder.requests[0]!.url.searchParams.get("live")).toBeNull();
      expect(recorder.requests.some((request) => request.url.searchParams.get("live") === live)).toBe(true);
      await settled(execution, executionId, "completed");
      expect(items).toEqual(await wholeRun(executionId));
    });

    it("resumes from a saved Stream-Next-Offset after a dropped connection, with no gap and no duplicate", async () => {
      const { executionId } = await startTurn(`${mode}-slow`, `count to ${COUNT}`);
      const before: Chunk[] = [];
      let saved = "";
      const first = await stream<Chunk>({ url: urlOf(executionId), offset: "-1", live: "long-poll" });
      await new Promise<void>((resolve) => {
        const unsubscribe = first.subscribeJson<Chunk>((batch: JsonBatch<Chunk>) => {
          before.push(...batch.items);
          saved = batch.offset;
          // Dropped mid-run, after part of the text.
          if (textOf(before).split(" ").length >= 40) {
            unsubscribe();
            resolve();
          }
        });
      });
      expect(saved).toMatch(/^\d+\.\d+$/);
      expect(before.some((chunk) => chunk.type === "data-terminal")).toBe(false);
      const resumed = await stream<Chunk>({ url: urlOf(executionId), offset: saved, live: "long-poll" });
      const after = await allItems(resumed);
      await settled(execution, executionId, "completed");
      expect([...before, ...after]).toEqual(await wholeRun(executionId));
      expect(textOf([...before, ...after])).toBe(COUNTED);
    });

    it("serves a finished run as a closed stream, at every offset and in every mode", async () => {
      const { executionId, uninterrupted } = await startTurn(`${mode}-tools`, "count to 20");
      const chunks = await uninterrupted;
      await settled(execution, executionId, "completed");
      const caughtUp = await stream<Chunk>({ url: urlOf(executionId), live: false });
      expect(await caughtUp.json()).toEqual(chunks);
      expect(caughtUp.streamClosed).toBe(true);
      expect(caughtUp.upToDate).toBe(true);

      const raw = await fetch(`${urlOf(executionId)}?offset=-1`);
      expect(raw.status).toBe(200);
      expect(raw.headers.get("content-type")).toMatch(/^application\/json/);
      expect(raw.headers.get("stream-closed")).toBe("true");
      expect(raw.headers.get("stream-up-to-date")).toBe("true");
      expect(raw.headers.get("cache-control")).toBe("no-store");
      expect(raw.headers.get("access-control-expose-headers")).toMatch(/Stream-Next-Offset/);
      expect(await raw.json()).toEqual(chunks);
      const finalOffset = raw.headers.get("stream-next-offset")!;
      expect(finalOffset).toMatch(/^\d+\.\d+$/);

      // Resuming in the middle gets the rest; at the end, nothing, closed.
      const resumedFromFive = await stream<Chunk>({ url: urlOf(executionId), offset: await offsetAfter(executionId, 5), live: true });
      expect(await allItems(resumedFromFive)).toEqual(chunks.slice(5));

      const atEnd = await fetch(`${urlOf(executionId)}?offset=${finalOffset}`);
      expect([atEnd.status, await atEnd.json(), atEnd.headers.get("stream-closed")]).toEqual([200, [], "true"]);
      const started = Date.now();
      const longPoll = await fetch(`${urlOf(executionId)}?offset=${finalOffset}&live=long-poll`);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(longPoll.status).toBe(204);
      expect(longPoll.headers.get("stream-closed")).toBe("true");
      expect(longPoll.headers.get("stream-next-offset")).toBe(finalOffset);
      const sse = await fetch(`${urlOf(executionId)}?offset=${finalOffset}&live=sse`);
      expect(sse.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const frames = await sse.text();
      expect(frames).not.toContain("event: data");
      const control = JSON.parse(/event: control\ndata: (.*)\n\n$/.exec(frames)![1]!) as Record<string, unknown>;
      expect(control).toEqual({ streamNextOffset: finalOffset, streamClosed: true, upToDate: true });

      const now = await fetch(`${urlOf(executionId)}?offset=now`);
      expect([await now.json(), now.headers.get("stream-next-offset"), now.headers.get("stream-closed")]).toEqual([[], finalOffset, "true"]);
      expect(await DurableStream.head({ url: urlOf(executionId) })).toMatchObject({
        exists: true,
        offset: finalOffset,
        streamClosed: true,
        contentType: "application/json",
      });
    });

    it("waits while the run waits for an approval (204 on timeout), then follows it to its end", async () => {
      const { executionId, uninterrupted } = await startTurn(`${mode}-tools`, EMAIL);
      await uninterrupted;
      await settled(execution, executionId, "suspended");
      const tail = await fetch(`${urlOf(executionId)}?offset=now`);
      const tailOffset = tail.headers.get("stream-next-offset")!;
      if (mode === "classic") {
        // A classic turn ends at the approval request; its answer continues in a new execution.
        expect(tail.headers.get("stream-closed")).toBe("true");
        const chunks = await (await fetch(`${urlOf(executionId)}?offset=-1`)).json();
        expect(chunks.at(-1)).toEqual({ type: "data-terminal", data: { reason: "suspended" }, transient: true });
        return;
      }
      expect(tail.headers.get("stream-closed")).toBeNull();
      const started = Date.now();
      const idle = await fetch(`${urlOf(executionId)}?offset=${tailOffset}&live=long-poll&cursor=1`);
      expect(idle.status).toBe(204);
      expect(Date.now() - started).toBeGreaterThanOrEqual(14_000);
      expect(idle.headers.get("stream-next-offset")).toBe(tailOffset);
      expect(idle.headers.get("stream-up-to-date")).toBe("true");
      expect(idle.headers.get("stream-closed")).toBeNull();
      expect(idle.headers.get("stream-cursor")).toMatch(/^\d+$/);

      const session = await stream<Chunk>({ url: urlOf(executionId), offset: tailOffset, live: "sse" });
      const following = allItems(session);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { pendingApprovals } = await execution(executionId);
      const decided = await harness.request(`/api/executions/${executionId}/approvals/${pendingApprovals[0]!.toolCallId}`, {
        json: { approved: true },
      });
      expect(decided.status).toBe(200);
      const rest = await following;
      expect(rest.map((chunk) => chunk.type)).toContain("tool-output-available");
      expect(textOf(rest)).toMatch(/^send_email returned /);
      expect(rest.at(-1)).toEqual({ type: "data-terminal", data: { reason: "completed" }, transient: true });
      const whole = await wholeRun(executionId);
      expect(whole.slice(whole.length - rest.length)).toEqual(rest);
    }, 60_000);
  });

  it("answers 400 for a malformed offset or live mode, as the client expects of a bad request", async () => {
    const { executionId, uninterrupted } = await startTurn("classic-tools", "count to 3");
    await uninterrupted;
    await expectError(await fetch(`${urlOf(executionId)}?offset=zero`), 400, "invalid_input");
    await expectError(await fetch(`${urlOf(executionId)}?offset=-1&live=forever`), 400, "invalid_input");
    await expect(stream({ url: urlOf(executionId), offset: "0.999999" })).rejects.toMatchObject({ status: 400 });
  });

  it("passes the read-only parts of @durable-streams/server-conformance-tests", async () => {
    const report = await runConformance(baseUrl);
    expect(report.ran).toEqual(CONFORMANCE_READ_TESTS.map((name) => ({ name, status: "passed" })));
  }, 60_000);
});

describe.each(databaseKinds())("Durable Streams reads with auth on %s", (kind) => {
  const ADMIN_KEY = "ds-admin-key";
  const SECRET = "ds-jwt-secret-0123456789abcdef";
  let harness: TestTether;
  let baseUrl: string;
  const bearer = async (sub: string) => ({ authorization: `Bearer ${await sign({ sub }, SECRET, "HS256")}` });

  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_API_KEYS: ADMIN_KEY, TETHER_JWT_SECRET: SECRET });
    baseUrl = await harness.listen();
  });
  afterAll(() => harness.dispose());

  it("serves the owner and admins; another user and an unknown id get the same 404; no token 401", async () => {
    const response = await harness.request("/api/chat", {
      headers: await bearer("alice"),
      json: { id: "ds-alice", agentId: "assistant", messages: [userMessage("count to 5")] },
    });
    const chunks = chunksOf(await readSse(response));
    const url = `${baseUrl}/v1/stream/executions/${response.headers.get("x-execution-id")}`;
    for (const headers of [await bearer("alice"), { authorization: `Bearer ${ADMIN_KEY}` }]) {
      expect(await (await stream<Chunk>({ url, headers, live: false })).json()).toEqual(chunks);
    }
    for (const target of [url, `${baseUrl}/v1/stream/executions/ex-missing-1`]) {
      const headers = await bearer("bob");
      await expect(stream({ url: target, headers })).rejects.toMatchObject({ status: 404 });
      await expect(stream({ url: target, headers, offset: "now", live: "sse" })).rejects.toMatchObject({ status: 404 });
      expect(await DurableStream.head({ url: target, headers })).toEqual({ exists: false });
      await expectError(await fetch(`${target}?offset=-1&live=long-poll`, { headers }), 404, "not_found");
    }
    await expectError(await fetch(url), 401, "unauthorized");
  });
});

describe.each(databaseKinds())("Durable Streams reads of an expired classic buffer on %s", (kind) => {
  let harness: TestTether;
  let baseUrl: string;
  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_STREAM_EXPIRE_AFTER: "150ms" });
    baseUrl = await harness.listen();
  });
  afterAll(() => harness.dispose());

  it("answers 410 once the buffer has expired", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "ds-expiring", agentId: "assistant", messages: [userMessage("count to 3")] },
    });
    await readSse(response);
    const url = `${baseUrl}/v1/stream/executions/${response.headers.get("x-execution-id")}`;
    await eventually(async () => {
      await expectError(await fetch(`${url}?offset=-1`), 410, "gone", /expired/);
    });
    await expect(stream({ url, live: "long-poll" })).rejects.toMatchObject({ status: 410 });
    await expectError(await fetch(`${url}?offset=now&live=sse`), 410, "gone");
  });
});

/**
 * The conformance tests that only read: every other one creates or appends to a stream (PUT/POST), which
 * Tether does not offer, so they are not run (not skipped-and-counted: the report must list exactly these).
 */
const CONFORMANCE_READ_TESTS = [
  "Browser Security Headers should include security headers on error responses",
  "HEAD Metadata should return 404 for non-existent stream",
  "Offset Validation and Resumability should return 404 for offset=now on non-existent stream",
  "Offset Validation and Resumability should return 404 for offset=now with long-poll on non-existent stream",
  "Offset Validation and Resumability should return 404 for offset=now with SSE on non-existent stream",
];

/** Runs the package's own test runner (as its CLI does), with vitest selecting the read-only tests by name. */
async function runConformance(baseUrl: string): Promise<{ ran: Array<{ name: string; status: string }> }> {
  const root = path.resolve("node_modules/@durable-streams/server-conformance-tests/dist");
  const scratch = mkdtempSync(path.join(os.tmpdir(), "tether-ds-conformance-"));
  try {
    const config = path.join(scratch, "vitest.config.mjs");
    writeFileSync(config, `export default { test: { include: ["test-runner.js"], testTimeout: 30000 } };\n`);
    const reportFile = path.join(scratch, "report.json");
    const pattern = CONFORMANCE_READ_TESTS.map((name) => `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`).join("|");
    const child = spawn(
      process.execPath,
      [path.resolve("node_modules/vitest/vitest.mjs"), "run", "--root", root, "--config", config, "-t", pattern, "--reporter=json", `--outputFile=${reportFile}`],
      { env: { PATH: process.env.PATH, CONFORMANCE_TEST_URL: baseUrl }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    child.stderr.on("data", (data: Buffer) => (output += data.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as {
      testResults: Array<{ assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
    };
    const ran = report.testResults
      .flatMap((file) => file.assertionResults)
      .filter((result) => result.status !== "skipped" && result.status !== "pending")
      .map((result) => ({ name: result.fullName, status: result.status }))
      .sort((a, b) => CONFORMANCE_READ_TESTS.indexOf(a.name) - CONFORMANCE_READ_TESTS.indexOf(b.name));
    if (code !== 0) throw new Error(`conformance run failed (${code}): ${JSON.stringify(ran)}\n${output.slice(-2000)}`);
    return { ran };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
