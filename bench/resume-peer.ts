/**
 * Single-stream resume against a peer: `npm run bench:resume-peer [-- --quick] [--profile]` (issue 10).
 *
 * One process on loopback HTTP, both servers on the main thread, the HTTP client in a worker thread (this same
 * file, see the end):
 *   - Tether: a real Tether over PGlite in a temp folder; a classic turn `count to N` (N + 6 UI chunks);
 *   - peer:   `resumable-stream` 2.2.13 with node-redis on 127.0.0.1:6379, served by a Hono app on the same
 *             @hono/node-server stack; the same demo model through `streamText().toUIMessageStream()`, framed
 *             with Tether's own `formatSseEvent` and `0.<n>` ids, so both send the same bytes per event.
 * The client reads the first half of a turn (up to event N/2), drops the connection and resumes at that point:
 * Tether with `Last-Event-ID: 0.<N/2>`, the peer with its `resumeAt` character count (`skipCharacters`).
 * Measured from the client: (a) resume request sent → first body byte; (b) → the client holds every event the
 * server held when the request arrived (catch-up). Two cases: full speed (`demo:0`, every event produced before
 * the resume) and paced (`demo:1`, the turn streams live while the client catches up).
 * Sides alternate order per repetition; medians; ratios are Tether / peer (below 1 is Tether faster).
 * `--profile` then times the phases of Tether's resume (marks, and a CPU profile of the server thread, written
 * to $BENCH_PROFILE_DIR when set), and measures what the per-event JSON.parse of the SSE framing costs.
 * Prints ONE JSON document on stdout, progress on stderr. Exit code 0 when every resume was correct (targets are
 * reported, not enforced), 1 when one was wrong or the bench failed, 2 when it ran out of time.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";
import { serve, type ServerType } from "@hono/node-server";
import { streamText } from "ai";
import { Hono } from "hono";
import { createClient } from "redis";
import { createResumableStreamContext } from "resumable-stream";
import { createDemoModel } from "../src/agents/demo-model";
import { parseConfig } from "../src/config";
import { openPglite } from "../src/db/client";
import { createLogger } from "../src/logger";
import { StreamBufferRegistry, UI_MESSAGE_STREAM_HEADERS, formatSseEvent } from "../src/streams";
import { createTether, type Tether } from "../src/tether";
import { benchmarkHeader, emitReport, log, median, round2, sleep, summary } from "./support";
import { serveWorkerApi, startWorkerClient, type WorkerClient } from "./worker-rpc";

const quick = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";
const profiling = process.argv.includes("--profile");
const settings = quick
  ? { count: 2_000, fullSpeedRepetitions: 5, pacedRepetitions: 3, profiledResumes: 15, deadlineMs: 55_000 }
  : { count: 10_000, fullSpeedRepetitions: 9, pacedRepetitions: 5, profiledResumes: 40, deadlineMs: 300_000 };
/** The event the client had when it dropped: its offset is `0.<MID_INDEX>`. */
const MID_INDEX = Math.floor(settings.count / 2);
const PACED_TOKEN_DELAY_MS = 1;
/** A paced turn is resumed once it holds `count` events, and goes on for this many more tokens: it is still live. */
const PACED_TAIL = Math.floor(settings.count / 10);
const WARM_UP_TURNS = 2;
/** Tether's agents of the two cases. */
const AGENT = { fullSpeed: "resume-peer-demo-0", paced: `resume-peer-demo-${PACED_TOKEN_DELAY_MS}` };
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** A paced resume reads this many events past the head it was sent at, to be sure to pass the catch-up target. */
const PACED_READ_AHEAD = 50;
const REQUEST_TIMEOUT_MS = 60_000;

/** Milliseconds on a clock both threads share (each thread's performance.now() has its own origin). */
const clock = () => performance.timeOrigin + performance.now();

// =========================================================================================================
// Client (worker thread): reads SSE and times it. Identical for both sides but for how the resume names its point.

/** Reads SSE text as it arrives; reports each event carrying `id: 0.<index>` with the text position after it. */
class SseScanner {
  #pending = "";
  #consumed = 0;

  /** Calls `onEvent` per complete event; stops and returns true as soon as it returns true. */
  push(text: string, onEvent: (index: number, endChar: number) => boolean): boolean {
    this.#pending += text;
    let start = 0;
    for (let end = this.#pending.indexOf("\n\n"); end !== -1; end = this.#pending.indexOf("\n\n", start)) {
      const next = end + 2;
      if (this.#pending.startsWith("id: 0.", start)) {
        const index = Number.parseInt(this.#pending.slice(start + 6, this.#pending.indexOf("\n", start)), 10);
        if (onEvent(index, this.#consumed + next)) return true;
      }
      start = next;
    }
    this.#consumed += start;
    this.#pending = this.#pending.slice(start);
    return false;
  }
}

interface FirstHalf {
  executionId: string | undefined;
  /** Characters of the stream up to and including event MID_INDEX: the peer's resume position. */
  skipChars: number;
}

/** Sends the turn and reads it up to event `midIndex`, then drops the connection. */
async function readFirstHalf(request: { url: string; json: unknown; midIndex: number }): Promise<FirstHalf> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(request.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request.json),
      signal: abort.signal,
    });
    if (response.status !== 200 || !response.body) throw new Error(`POST ${request.url} answered ${response.status}`);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const scanner = new SseScanner();
    let skipChars = -1;
    while (skipChars === -1) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the turn ended before event ${request.midIndex}`);
      scanner.push(decoder.decode(value, { stream: true }), (index, endChar) => {
        if (index === request.midIndex) skipChars = endChar;
        return skipChars !== -1;
      });
    }
    return { executionId: response.headers.get("x-execution-id") ?? undefined, skipChars };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** A resume as the client saw it: when each event arrived (first one: `firstIndex`) and where it ended. */
export interface RawResume {
  sentAt: number;
  firstByteAt: number;
  arrivals: number[];
  endChars: number[];
  /** Why the resume is wrong (status, a gap, a repeat); undefined when it is right. */
  problem?: string;
}

/** Resumes and reads through event `readThroughIndex`, checking that no event is missed or repeated. */
async function resume(request: { url: string; headers?: Record<string, string>; firstIndex: number; readThroughIndex: number }) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
  const raw: RawResume = { sentAt: clock(), firstByteAt: NaN, arrivals: [], endChars: [] };
  try {
    const response = await fetch(request.url, { headers: request.headers, signal: abort.signal });
    if (response.status !== 200 || !response.body) return { ...raw, problem: `status ${response.status}` };
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const scanner = new SseScanner();
    for (;;) {
      const { done, value } = await reader.read();
      const at = clock();
      if (done) return { ...raw, problem: `the body ended before event ${request.readThroughIndex}` };
      if (Number.isNaN(raw.firstByteAt)) raw.firstByteAt = at;
      const finished = scanner.push(decoder.decode(value, { stream: true }), (index, endChar) => {
        if (index !== request.firstIndex + raw.arrivals.length) raw.problem ??= `event ${index} out of order`;
        raw.arrivals.push(at);
        raw.endChars.push(endChar);
        return index >= request.readThroughIndex;
      });
      if (finished) return raw;
    }
  } catch (error) {
    return { ...raw, problem: String(error) };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

const clientApi = { readFirstHalf, resume };
type ClientApi = typeof clientApi;

// =========================================================================================================
// Servers (main thread)

type Fetch = (request: Request) => Response | Promise<Response>;

function listen(fetch: Fetch): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) =>
      resolve({ server, url: `http://127.0.0.1:${info.port}` }),
    );
  });
}

function close(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as ServerType & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

/** Server-side times of the resume being profiled (see `--profile`); undefined, and so free, otherwise. */
let marks: Record<string, number> | undefined;
const mark = (name: string) => {
  if (marks) marks[name] = clock();
};
/** The index of the last event a server held when a resume request arrived, by conversation id (ids are unique). */
const heldAtArrival = new Map<string, number>();

const RESUME_ROUTE = /^\/api\/chat\/([^/]+)\/stream$/;

/**
 * The one addition to both servers: before any of their code runs, a resume request records the last event its
 * stream holds (the catch-up target). The response is left alone: touching its headers would turn
 * @hono/node-server's light Response into a full one for the peer (Tether's requestContext already does that).
 */
function recordingCatchUpTarget(fetch: Fetch, lastIndexOf: (conversationId: string) => number): Fetch {
  return async (request) => {
    const conversationId = RESUME_ROUTE.exec(new URL(request.url).pathname)?.[1];
    if (conversationId === undefined) return fetch(request);
    mark("arrived");
    heldAtArrival.set(conversationId, lastIndexOf(conversationId));
    const response = await fetch(request);
    mark("answered");
    return response;
  };
}

interface TetherSide {
  tether: Tether;
  url: string;
  lastIndexOf(conversationId: string): number;
  dispose(): Promise<void>;
}

/** As bench/support.ts starts one: PGlite in a temp folder, silent logs, a private buffer registry, no shedding. */
async function startTether(): Promise<TetherSide> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-resume-peer-"));
  process.once("exit", () => rmSync(dataDir, { recursive: true, force: true }));
  const config = parseConfig({ TETHER_DATA_DIR: dataDir, LOG_LEVEL: "silent", TETHER_MAX_EVENT_LOOP_UTILIZATION: "0" });
  const database = await openPglite({ dir: path.join(dataDir, "db") });
  const buffers = new StreamBufferRegistry();
  const tether = await createTether({ config, database, logger: createLogger({ level: "silent" }), buffers });
  const lastIndexOf = (conversationId: string) => (buffers.currentForConversation(conversationId)?.nextIndex ?? 0) - 1;
  const { server, url } = await listen(recordingCatchUpTarget(tether.app.fetch, lastIndexOf));
  for (const [id, model] of [[AGENT.fullSpeed, "demo:0"], [AGENT.paced, `demo:${PACED_TOKEN_DELAY_MS}`]]) {
    const response = await fetch(`${url}/api/agents`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, name: id, model, tools: [], executionMode: "classic" }),
    });
    if (response.status !== 201) throw new Error(`creating agent ${id} answered ${response.status}`);
  }
  return {
    tether,
    url,
    lastIndexOf,
    async dispose() {
      await tether.shutdown();
      await close(server);
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One turn on the peer side: the source resumable-stream reads, with what it has produced so far. */
interface PeerTurn {
  stream: ReadableStream<string>;
  produced: number;
  /** Settles once the model's last chunk went to resumable-stream. */
  drained: Promise<void>;
  /** Ends the stream (resumable-stream then marks it DONE) and stops the model. */
  stop(): void;
}

/**
 * The AI SDK pattern's producer: demo model → streamText → toUIMessageStream → SSE text. With `hold`, the
 * stream stays open after the last chunk until stopped: resumable-stream refuses to resume a stream that has
 * ended (its sentinel says DONE), so a full-speed turn is resumed "all produced, not yet closed".
 */
function startPeerTurn(count: number, tokenDelayMs: number, hold: boolean): PeerTurn {
  const abort = new AbortController();
  const result = streamText({
    model: createDemoModel({ tokenDelayMs }),
    prompt: `count to ${count}`,
    abortSignal: abort.signal,
    onError: () => undefined,
  });
  const reader = result.toUIMessageStream().getReader();
  let stopped = false;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let drainedResolve!: () => void;
  const turn: PeerTurn = {
    produced: 0,
    drained: new Promise<void>((resolve) => (drainedResolve = resolve)),
    stream: new ReadableStream<string>(
      {
        async pull(controller) {
          // resumable-stream's read loop has no rejection handler: a failed read here must close, not throw.
          const next = await reader.read().catch(() => ({ done: true as const, value: undefined }));
          if (next.done || stopped) {
            drainedResolve();
            if (hold) await released;
            controller.close();
            return;
          }
          controller.enqueue(formatSseEvent(`0.${turn.produced++}`, next.value));
        },
      },
      { highWaterMark: 0 },
    ),
    stop() {
      stopped = true;
      release();
      void reader.cancel().catch(() => undefined);
      abort.abort();
    },
  };
  return turn;
}

interface PeerSide {
  url: string;
  lastIndexOf(id: string): number;
  turns: Map<string, PeerTurn>;
  /** Waits for resumable-stream's bookkeeping of ended streams (DONE sentinel, unsubscribe). */
  settled(): Promise<void>;
  dispose(): Promise<void>;
}

async function startPeer(): Promise<PeerSide> {
  const publisher = createClient({ url: REDIS_URL });
  const subscriber = publisher.duplicate();
  await Promise.all([publisher.connect(), subscriber.connect()]);
  const keyPrefix = `tether-bench-${process.pid}`;
  const inFlight = new Set<Promise<unknown>>();
  const context = createResumableStreamContext({
    keyPrefix,
    publisher: publisher as never,
    subscriber: subscriber as never,
    waitUntil: (promise) => {
      inFlight.add(promise);
      void promise.finally(() => inFlight.delete(promise));
    },
  });
  const turns = new Map<string, PeerTurn>();
  const sse = (stream: ReadableStream<string>) =>
    new Response(stream.pipeThrough(new TextEncoderStream()), { status: 200, headers: UI_MESSAGE_STREAM_HEADERS });

  const app = new Hono();
  app.post("/api/chat", async (c) => {
    const body = (await c.req.json()) as { id: string; count: number; tokenDelayMs: number; hold: boolean };
    const turn = startPeerTurn(body.count, body.tokenDelayMs, body.hold);
    turns.set(body.id, turn);
    const stream = await context.createNewResumableStream(body.id, () => turn.stream);
    return stream ? sse(stream) : c.body(null, 409);
  });
  app.get("/api/chat/:id/stream", async (c) => {
    const stream = await context.resumeExistingStream(c.req.param("id"), Number(c.req.query("resumeAt") ?? 0));
    // undefined: no such stream; null: it has ended (resumable-stream serves only live streams).
    return stream ? sse(stream) : c.body(null, stream === null ? 422 : 204);
  });
  const lastIndexOf = (id: string) => (turns.get(id)?.produced ?? 0) - 1;
  const { server, url } = await listen(recordingCatchUpTarget(app.fetch, lastIndexOf));
  return {
    url,
    lastIndexOf,
    turns,
    settled: async () => void (await Promise.all(inFlight)),
    async dispose() {
      for (const turn of turns.values()) turn.stop();
      await Promise.race([Promise.all(inFlight), sleep(2_000)]);
      await close(server);
      for await (const keys of publisher.scanIterator({ MATCH: `${keyPrefix}:*`, COUNT: 1000 })) {
        if (keys.length > 0) await publisher.del(keys);
      }
      await Promise.all([publisher.close(), subscriber.close()]);
    },
  };
}

// =========================================================================================================
// Measurement

type Side = "tether" | "peer";
type Case = "fullSpeed" | "paced";

interface Servers {
  tether: TetherSide;
  peer: PeerSide;
  client: WorkerClient<ClientApi>;
}

const failures: string[] = [];
const notes: string[] = [];
let turnCounter = 0;

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

async function tetherExecutionEnded(servers: Servers, executionId: string): Promise<boolean> {
  const row = await servers.tether.tether.repositories.executions.find(executionId);
  return row !== undefined && row.status !== "running";
}

/** The chat request of either side: the same prompt, model and pace. */
function turnRequest(side: Side, kind: Case, id: string, count = kind === "paced" ? settings.count + PACED_TAIL : settings.count) {
  if (side === "peer") return { id, count, tokenDelayMs: kind === "paced" ? PACED_TOKEN_DELAY_MS : 0, hold: kind === "fullSpeed" };
  const text = `count to ${count}`;
  return { id, agentId: AGENT[kind], messages: [{ id: "u1", role: "user", parts: [{ type: "text", text }] }] };
}

/**
 * Where the client comes back: at full speed once everything is produced (Tether: the turn has ended and is
 * recorded); paced, once the live turn holds `count` events, so that both catch up the same second half.
 */
async function untilResumePoint(servers: Servers, side: Side, kind: Case, id: string, executionId?: string) {
  if (kind === "paced") {
    const lastIndexOf = side === "tether" ? servers.tether.lastIndexOf : servers.peer.lastIndexOf;
    await waitFor(() => lastIndexOf(id) >= settings.count - 1, `event ${settings.count - 1}`);
  } else if (side === "tether") {
    await waitFor(() => tetherExecutionEnded(servers, executionId!), "the turn to end");
  } else {
    await servers.peer.turns.get(id)!.drained;
  }
}

export interface ResumeResult {
  sentAt: number;
  firstByteAt: number;
  firstByteMs: number;
  catchUpMs: number;
  /** Events (and characters) from the first one after the resume point through the catch-up target. */
  events: number;
  chars: number;
  problem?: string;
}

/** Resumes conversation `id` after event `afterIndex`: first byte, and when the catch-up target arrived. */
async function timedResume(
  servers: Servers,
  request: { id: string; url: string; headers?: Record<string, string>; afterIndex: number; readThroughIndex: number },
): Promise<ResumeResult> {
  const { id, afterIndex, ...rest } = request;
  const raw = await servers.client.call("resume", { ...rest, firstIndex: afterIndex + 1 });
  const target = heldAtArrival.get(id) ?? -1;
  heldAtArrival.delete(id);
  const last = target - afterIndex - 1;
  const result = { sentAt: raw.sentAt, firstByteAt: raw.firstByteAt, firstByteMs: raw.firstByteAt - raw.sentAt };
  if (raw.problem || last < 0 || last >= raw.arrivals.length) {
    const problem = raw.problem ?? `catch-up target ${target} outside the ${raw.arrivals.length} events read after ${afterIndex}`;
    return { ...result, catchUpMs: NaN, events: 0, chars: 0, problem };
  }
  return { ...result, catchUpMs: raw.arrivals[last]! - raw.sentAt, events: last + 1, chars: raw.endChars[last]! };
}

/** How far a resume reads: everything when the turn is all produced, a little past the head when it is live. */
const readThrough = (lastIndex: number, kind: Case) => (kind === "paced" ? lastIndex + PACED_READ_AHEAD : lastIndex);

/** One turn: read the first half, drop, resume at the midpoint, read until caught up; then end the turn. */
async function resumeOnce(servers: Servers, side: Side, kind: Case): Promise<ResumeResult> {
  const id = `resume-peer-${kind}-${side}-${process.pid}-${++turnCounter}`;
  const base = side === "tether" ? servers.tether.url : servers.peer.url;
  const json = turnRequest(side, kind, id);
  const first = await servers.client.call("readFirstHalf", { url: `${base}/api/chat`, json, midIndex: MID_INDEX });
  if (side === "tether" && !first.executionId) throw new Error("Tether's chat answer had no x-execution-id");
  await untilResumePoint(servers, side, kind, id, first.executionId);
  const url = `${base}/api/chat/${id}/stream`;
  const readThroughIndex = readThrough((side === "tether" ? servers.tether : servers.peer).lastIndexOf(id), kind);
  const result = await timedResume(
    servers,
    side === "tether"
      ? { id, url, headers: { "last-event-id": `0.${MID_INDEX}` }, afterIndex: MID_INDEX, readThroughIndex }
      : { id, url: `${url}?resumeAt=${first.skipChars}`, afterIndex: MID_INDEX, readThroughIndex },
  );
  if (result.problem) failures.push(`${kind} ${side}: ${result.problem}`);
  await endTurn(servers, side, id, first.executionId);
  return result;
}

/** Stops what is still running and frees its buffer, so that no turn works in the background of the next one. */
async function endTurn(servers: Servers, side: Side, id: string, executionId: string | undefined): Promise<void> {
  if (side === "peer") {
    servers.peer.turns.get(id)?.stop();
    servers.peer.turns.delete(id);
    await servers.peer.settled();
    return;
  }
  const { tether, url } = servers.tether;
  await fetch(`${url}/api/chat/${id}/stop`, { method: "POST" });
  await waitFor(() => tetherExecutionEnded(servers, executionId!), "the stopped turn to end");
  tether.buffers.delete(executionId!);
}

const ratio = (tether: number, peer: number) => round2(tether / peer);

async function measureCase(servers: Servers, kind: Case, repetitions: number) {
  log(`${kind}: ${WARM_UP_TURNS} warm-up turns, then ${repetitions} repetitions per side (resume after 0.${MID_INDEX})`);
  for (let turn = 0; turn < WARM_UP_TURNS; turn++) for (const side of ["tether", "peer"] as const) await resumeOnce(servers, side, kind);
  const samples: Record<Side, ResumeResult[]> = { tether: [], peer: [] };
  const pairedFirstByte: number[] = [];
  const pairedCatchUp: number[] = [];
  for (let repetition = 0; repetition < repetitions; repetition++) {
    // Alternating order, so that drift in machine load and GC debt hit both sides alike.
    const order: Side[] = repetition % 2 === 0 ? ["tether", "peer"] : ["peer", "tether"];
    const round: Partial<Record<Side, ResumeResult>> = {};
    for (const side of order) samples[side].push((round[side] = await resumeOnce(servers, side, kind)));
    pairedFirstByte.push(round.tether!.firstByteMs / round.peer!.firstByteMs);
    pairedCatchUp.push(round.tether!.catchUpMs / round.peer!.catchUpMs);
    log(
      `${kind} ${repetition + 1}/${repetitions}: first byte tether ${round2(round.tether!.firstByteMs)} / peer ` +
        `${round2(round.peer!.firstByteMs)} ms; catch-up ${round2(round.tether!.catchUpMs)} / ${round2(round.peer!.catchUpMs)} ms`,
    );
  }
  const describe = (side: Side) => ({
    firstByteMs: summary(samples[side].map((sample) => sample.firstByteMs)),
    catchUpMs: summary(samples[side].map((sample) => sample.catchUpMs)),
    eventsCaughtUp: median(samples[side].map((sample) => sample.events)),
    charsCaughtUp: median(samples[side].map((sample) => sample.chars)),
  });
  const tether = describe("tether");
  const peer = describe("peer");
  const firstByte = ratio(tether.firstByteMs.p50!, peer.firstByteMs.p50!);
  const catchUp = ratio(tether.catchUpMs.p50!, peer.catchUpMs.p50!);
  return {
    repetitions,
    tether,
    peer,
    ratio: { firstByte, catchUp },
    pairedRatioMedian: { firstByte: round2(median(pairedFirstByte)), catchUp: round2(median(pairedCatchUp)) },
    pass: { firstByte: firstByte <= 0.5, catchUp: catchUp <= 1.0 },
  };
}

// =========================================================================================================
// Profile of Tether's resume: where its first-byte and catch-up time go

/** Times each call of `object[method]` into `marks` as `<name>:start` / `<name>:end` (profiling only). */
function timeCalls(object: object, method: string, name: string): void {
  const target = object as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = target[method]!;
  target[method] = async function timed(this: unknown, ...args: unknown[]) {
    mark(`${name}:start`);
    try {
      return await original.apply(this, args);
    } finally {
      mark(`${name}:end`);
    }
  };
}

/** Phases of one resume, in ms, from the client's send and first byte and the server's marks. */
function phasesOf(result: ResumeResult, at: Record<string, number>): Record<string, number> {
  const span = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? NaN : to - from);
  return {
    "client fetch() → server fetch handler (TCP connect, HTTP parse, node-server Request)": span(result.sentAt, at.arrived),
    "middleware + route (requestContext, auth, bodyLimit, jsonBodyGuard, zod, admitStream)": span(at.arrived, at["open:start"]),
    "conversations.find (ownership, PGlite)": span(at["conversation:start"], at["conversation:end"]),
    "executions.latestForConversation (PGlite)": span(at["execution:start"], at["execution:end"]),
    "runs.openConversationStream in all (lookups + buffer.read)": span(at["open:start"], at["open:end"]),
    "sseResponse + middleware unwind (Response built)": span(at["open:end"], at.answered),
    "Response → client's first byte (node-server head + first write, loopback)": span(at.answered, result.firstByteAt),
    "first byte → caught up": result.catchUpMs - result.firstByteMs,
    "total first byte": result.firstByteMs,
    "total catch-up": result.catchUpMs,
  };
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Where a sampled function lives: src/<dir>, a package, PGlite's WASM, node itself, or V8's pseudo-frames. */
function categoryOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "native (V8/libuv bindings)";
  if (url.startsWith("wasm://")) return "PGlite WASM (Postgres)";
  const source = /\/(src|bench)\/([^/]+\/)?/.exec(url);
  if (source && !url.includes("node_modules")) return source[1] === "bench" ? "bench harness" : `src/${source[2] ?? ""}`;
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1]!;
  return "node internals";
}

/** Self time per resume by category and by function (tsx-compiled sources report no useful line numbers). */
function summariseProfile(profile: CpuProfile, resumes: number) {
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  // The first samples are Profiler.start itself (V8 logging every compiled function), not the resumes.
  const isInspector = (nodeId: number) => frames.get(nodeId)!.functionName === "dispatch" && !frames.get(nodeId)!.url;
  const skip = profile.samples.findIndex((nodeId) => !isInspector(nodeId));
  profile.samples.forEach((nodeId, index) => {
    if (index < skip) return;
    const frame = frames.get(nodeId)!;
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    const category = categoryOf(frame.url, frame.functionName);
    byCategory.set(category, (byCategory.get(category) ?? 0) + ms);
    if (category === "(idle)" || category === "(program)") return;
    const file = frame.url.replace(/^.*\/(src|bench|node_modules)\//, "$1/").replace(/^file:\/\//, "");
    const name = `${frame.functionName || "(anonymous)"}${file ? ` ${file}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
  });
  const perResume = (entries: Map<string, number>, top: number) =>
    Object.fromEntries([...entries].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, ms]) => [key, round2(ms / resumes)]));
  return { selfMsPerResumeByCategory: perResume(byCategory, 16), selfMsPerResumeTopFunctions: perResume(byFunction, 25) };
}

/** One resume of Tether's turn `id` after event `afterIndex`. */
function resumeTether(servers: Servers, kind: Case, id: string, afterIndex: number): Promise<ResumeResult> {
  return timedResume(servers, {
    id,
    url: `${servers.tether.url}/api/chat/${id}/stream`,
    headers: { "last-event-id": `0.${afterIndex}` },
    afterIndex,
    readThroughIndex: readThrough(servers.tether.lastIndexOf(id), kind),
  });
}

/**
 * Starts a Tether turn for profiling and returns it at its resume point, with where each resume starts: an
 * ended turn always after 0.<MID_INDEX>; a live paced one (made longer, so that it lasts for all the resumes)
 * half a turn behind its head, so that every resume catches up the same number of events as in the comparison.
 */
async function profiledTurn(servers: Servers, kind: Case, name: string) {
  const id = `resume-peer-${name}-${process.pid}`;
  // Paced: long enough for two loops of resumes that each read PACED_READ_AHEAD live events past the head.
  const pacedCount = settings.count + 2 * settings.profiledResumes * (PACED_READ_AHEAD + 20);
  const json = turnRequest("tether", kind, id, kind === "paced" ? pacedCount : settings.count);
  const { executionId } = await servers.client.call("readFirstHalf", { url: `${servers.tether.url}/api/chat`, json, midIndex: MID_INDEX });
  await untilResumePoint(servers, "tether", kind, id, executionId);
  const behind = settings.count - 1 - MID_INDEX;
  const afterIndex = () => (kind === "paced" ? servers.tether.lastIndexOf(id) - behind : MID_INDEX);
  return { id, afterIndex, end: () => endTurn(servers, "tether", id, executionId), executionId: executionId! };
}

/** Marks first (no profiler running), then the same number of resumes under one CPU profile. */
async function profileCase(servers: Servers, session: Session, kind: Case) {
  const turn = await profiledTurn(servers, kind, `profile-${kind}`);
  const phases: Array<Record<string, number>> = [];
  for (let index = 0; index < settings.profiledResumes; index++) {
    marks = {};
    const result = await resumeTether(servers, kind, turn.id, turn.afterIndex());
    const at = marks;
    marks = undefined;
    if (result.problem) failures.push(`profile ${kind}: ${result.problem}`);
    else phases.push(phasesOf(result, at));
  }
  await session.post("Profiler.start");
  for (let index = 0; index < settings.profiledResumes; index++) await resumeTether(servers, kind, turn.id, turn.afterIndex());
  const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
  const directory = process.env.BENCH_PROFILE_DIR;
  if (directory) writeFileSync(path.join(directory, `tether-resume-${kind}.cpuprofile`), JSON.stringify(profile));
  await turn.end();
  const keys = Object.keys(phases[0] ?? {});
  return {
    resumes: phases.length,
    phaseMedianMs: Object.fromEntries(keys.map((key) => [key, round2(median(phases.map((phase) => phase[key]!)))])),
    cpu: summariseProfile(profile, settings.profiledResumes),
  };
}

/**
 * Runs `work` while buffered events answer `chunk` with undefined: what toSseByteStream would do if it did not
 * evaluate `event.chunk` (a JSON.parse per event in BufferedEvent) when `event.data` already holds the JSON.
 * Only for resumes of an ended turn, where nothing but the SSE framing reads the events.
 */
async function withoutChunkParse<T>(servers: Servers, executionId: string, work: () => Promise<T>): Promise<T> {
  const buffer = servers.tether.tether.buffers.get(executionId)!;
  const prototype = Object.getPrototypeOf(buffer.read().poll()!.value!) as object;
  const original = Object.getOwnPropertyDescriptor(prototype, "chunk")!;
  Object.defineProperty(prototype, "chunk", { configurable: true, get: () => undefined });
  try {
    return await work();
  } finally {
    Object.defineProperty(prototype, "chunk", original);
  }
}

/** What-if on one ended turn, interleaved: resumes as they are, and without the per-event JSON.parse. */
async function chunkParseExperiment(servers: Servers) {
  const turn = await profiledTurn(servers, "fullSpeed", "experiment");
  const samples = { asIs: [] as ResumeResult[], withoutChunkParse: [] as ResumeResult[] };
  const resumeOnce = () => resumeTether(servers, "fullSpeed", turn.id, MID_INDEX);
  for (let index = 0; index < settings.profiledResumes; index++) {
    samples.asIs.push(await resumeOnce());
    samples.withoutChunkParse.push(await withoutChunkParse(servers, turn.executionId, resumeOnce));
  }
  const serialisation = serialisationCost(servers, turn.executionId);
  await turn.end();
  const describe = (results: ResumeResult[]) => {
    for (const result of results) if (result.problem) failures.push(`experiment: ${result.problem}`);
    return {
      firstByteMs: round2(median(results.map((result) => result.firstByteMs))),
      catchUpMs: round2(median(results.map((result) => result.catchUpMs))),
    };
  };
  return {
    resumesPerVariant: settings.profiledResumes,
    note:
      "one ended turn resumed back to back, variants alternating; absolute times are lower than the comparison's " +
      "(no turn runs between resumes, less garbage), and each as-is resume follows a lighter one, so the gain is " +
      "if anything understated",
    asIs: describe(samples.asIs),
    withoutChunkParse: describe(samples.withoutChunkParse),
    serialisation,
  };
}

/**
 * The in-process CPU cost of what one catch-up sends, without HTTP: Tether reading and framing the second half
 * as toSseByteStream does (StreamReader.poll → formatSseEvent(offset, event.chunk, event.data) → TextEncoder per
 * 64 KB), the same without reading `event.chunk`, and the peer's `chunks.join("").slice(skip)`.
 */
function serialisationCost(servers: Servers, executionId: string) {
  const buffer = servers.tether.tether.buffers.get(executionId)!;
  const encoder = new TextEncoder();
  const timeIt = (work: () => void) => {
    const times: number[] = [];
    for (let round = 0; round < 21; round++) {
      const start = performance.now();
      work();
      times.push(performance.now() - start);
    }
    return round2(median(times));
  };
  const frameSecondHalf = (readChunk: boolean) => () => {
    const reader = buffer.read(`0.${MID_INDEX}`);
    let batch = "";
    for (let next = reader.poll(); next && !next.done; next = reader.poll()) {
      batch += formatSseEvent(next.value.offset, readChunk ? next.value.chunk : undefined, next.value.data);
      if (batch.length >= 64 * 1024) (encoder.encode(batch), (batch = ""));
    }
    encoder.encode(batch);
  };
  const frames: string[] = [];
  const all = buffer.read();
  for (let next = all.poll(); next && !next.done; next = all.poll()) frames.push(formatSseEvent(next.value.offset, undefined, next.value.data));
  const skip = frames.slice(0, MID_INDEX + 1).join("").length;
  return {
    events: frames.length - MID_INDEX - 1,
    tetherAsToSseByteStreamDoesMs: timeIt(frameSecondHalf(true)),
    tetherWithoutChunkGetterMs: timeIt(frameSecondHalf(false)),
    peerJoinSliceEncodeMs: timeIt(() => void encoder.encode(frames.join("").slice(skip))),
  };
}

async function profile(servers: Servers) {
  const { runs, repositories } = servers.tether.tether;
  timeCalls(runs, "openConversationStream", "open");
  timeCalls(repositories.conversations, "find", "conversation");
  timeCalls(repositories.executions, "latestForConversation", "execution");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  // 100 µs: a resume lasts a few ms, the default 1 ms interval would give a handful of samples.
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  try {
    log(`profile: ${settings.profiledResumes} resumes of an ended turn, then of a live paced turn, each twice`);
    const fullSpeed = await profileCase(servers, session, "fullSpeed");
    const paced = await profileCase(servers, session, "paced");
    log("profile: the chunk-parse experiment and the in-process serialisation cost");
    return {
      method:
        "Tether only, same resume as the comparison. Phases: marks of the bench's fetch wrapper (arrival, answer) and " +
        "of wrappers around runs.openConversationStream, repositories.conversations.find and " +
        "executions.latestForConversation, on a clock shared with the client thread, without the profiler. CPU: one " +
        "node:inspector profile (100 µs) of the server thread over the same number of resumes, self time divided by " +
        "the resumes; it covers the whole loop, so the paced case also holds the live turn's own work (ai, src/runs)",
      fullSpeed,
      paced,
      chunkParseExperiment: await chunkParseExperiment(servers),
    };
  } finally {
    await session.post("Profiler.disable");
    session.disconnect();
  }
}

// =========================================================================================================

const results: Record<string, unknown> = benchmarkHeader("single-stream resume: Tether vs resumable-stream 2.2.13 + Redis", quick);
const benchStart = performance.now();

function emit(exitCode: number): never {
  return emitReport(results, { startedAt: benchStart, failures, notes }, exitCode);
}

async function main() {
  const watchdog = setTimeout(() => {
    results.error = `ran out of time after ${settings.deadlineMs + (profiling ? 120_000 : 0)} ms`;
    emit(2);
  }, settings.deadlineMs + (profiling ? 120_000 : 0));
  log(`mode ${quick ? "quick" : "full"}; starting Tether (PGlite), the peer (Redis at ${REDIS_URL}) and the client worker`);
  const client = startWorkerClient<ClientApi>(new URL(import.meta.url));
  const [tether, peer] = await Promise.all([startTether(), startPeer()]);
  const servers: Servers = { tether, peer, client };
  results.settings = {
    chunksPerTurn: `count to ${settings.count}: ${settings.count + 6} UI chunks on Tether (with data-terminal), ${settings.count + 5} on the peer`,
    resumeAfter: `0.${MID_INDEX}`,
    pacedModel: `demo:${PACED_TOKEN_DELAY_MS}`,
    statistic: "median; ratio = Tether / peer",
  };
  try {
    const fullSpeed = await measureCase(servers, "fullSpeed", settings.fullSpeedRepetitions);
    const paced = await measureCase(servers, "paced", settings.pacedRepetitions);
    results.fullSpeed = { model: "demo:0", ...fullSpeed };
    results.paced = { model: `demo:${PACED_TOKEN_DELAY_MS}`, ...paced };
    results.targets = { firstByte: "<= 0.5 x peer", catchUp: "<= 1.0 x peer" };
    results.pass = [fullSpeed, paced].every((measured) => measured.pass.firstByte && measured.pass.catchUp);
    if (profiling) results.profile = await profile(servers);
  } finally {
    clearTimeout(watchdog);
    await client.terminate().catch(() => undefined);
    await Promise.all([tether.dispose(), peer.dispose()]).catch((error: unknown) => log(`dispose failed: ${String(error)}`));
  }
  notes.push(
    "one process: both servers (and PGlite's WASM Postgres) on the main thread, the client in a worker thread, Redis " +
      "a separate process on loopback; on a shared 2-CPU machine compare ratios, not absolute times",
    "first byte: client fetch() → first body chunk; catch-up: → the chunk completing the event the server held last " +
      "when the request arrived (recorded by a fetch wrapper before either server's own code runs)",
    "full speed: Tether's turn has ended and is recorded before the resume (GET /api/chat/:id/stream with " +
      "Last-Event-ID then looks the conversation and execution up in PGlite); the peer's turn has produced everything " +
      "but is held open, because resumable-stream answers null for a stream that has ended (its sentinel is DONE)",
    `paced: both turns stream live at ${PACED_TOKEN_DELAY_MS} ms per token (setTimeout); the client drops at ` +
      `0.${MID_INDEX} and comes back once the turn holds ${settings.count} events, with ${PACED_TAIL} tokens still ` +
      "to come, so it catches up the same second half while the turn goes on; Tether serves it from the in-memory " +
      "buffer without a database lookup",
    "the peer resumes at a position (resumeExistingStream(id, skipCharacters) with the characters the client had); " +
      "the AI SDK's useChat pattern resumes from the start instead (no skip), which would send twice as much",
    "each turn is stopped and its buffer deleted (peer: the stream ended) before the next, so none runs in the background",
  );
  emit(failures.length > 0 ? 1 : 0);
}

// The client worker loads this same file (and so, unused, the server modules too: a few seconds at start-up).
if (isMainThread) {
  main().catch((error: unknown) => {
    results.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    emit(1);
  });
} else {
  serveWorkerApi(clientApi);
}
