/**
 * Durable-run benchmark: `npm run bench:durable [-- --quick] [-- --only concurrency,history] [-- --worlds local]`
 * (or BENCH_QUICK=1; `npx tsx bench/durable.ts …`). `--only` takes a comma list of the sections below by their
 * JSON names (default: all); `--worlds` a comma list of `local`, `postgres` (default: local, and postgres when
 * TEST_DATABASE_URL is set).
 *
 * One process: Tether with its Workflow SDK runtime on real loopback HTTP, the HTTP clients in a worker
 * thread (./durable-client.ts). Runs on the local world (over an embedded PGlite in a temp folder) and, when
 * TEST_DATABASE_URL is set, then on the Postgres world (over a throwaway database it creates and drops).
 * Prints ONE JSON document on stdout (headline numbers of every world side by side in `summary`, details in
 * `worlds`, method and findings in `notes`); progress goes to stderr. Per world:
 *   1. per-step overhead: Tether's `agentRun` (a durable chat turn on demo:0 = 3 steps, started in-process
 *      and over HTTP) vs the bench's bare workflow of the same shape (bench/workflows/durable-bare.ts: trivial
 *      steps, the middle one streaming as many chunks), in rotating order;
 *   2. chunk write → visible to a reader on the resume route GET /api/chat/:conversationId/stream
 *      (demo:50, `count to 60`), with a breakdown by stage; and a fast model's per-chunk cost, durable vs classic;
 *   3. approval POST → first event of round 1 on a live GET /api/executions/:id/stream;
 *   4. how cost grows with run length: bare runs of 1, 20 and 100 steps;
 *   5. `concurrency` (bench/durable-concurrency.ts): N durable turns POSTed at once, each with a deadline;
 *   6. `history` (bench/durable-history.ts): a small turn's cost after the world holds 0, 10^5, 10^6 stored
 *      stream chunks; always the last section of a world (its filled worlds stay until its end).
 * Sections 1–4 share one server; each concurrency level runs in a child process with a server of its own; the
 * history fills a world per size (new temp folder or database) in this process and times its turns in child
 * processes started over that world's data.
 * The bench workflows are compiled by the bench itself into temp folders (scripts/build.mjs never sees them).
 * Exit code: 0 when every run behaved (targets are reported, not enforced), 1 when a run was wrong or the
 * bench failed, 2 when it ran out of time.
 */
import { statSync } from "node:fs";
import os from "node:os";
import { getRun, start } from "workflow/api";
import { unpackEnvelope, type RoundEnvelope } from "../src/runs/durable/rounds";
import { AGENT_RUN_WORKFLOW_ID } from "../src/runs/durable/runtime";
import type { TimedEvent, TimedStream } from "./durable-client";
import { CONCURRENT_MODEL, concurrency, concurrencyRatios, concurrencyTarget } from "./durable-concurrency";
import { history } from "./durable-history";
import {
  benchmarkHeader,
  buildBenchWorkflow,
  buildTetherIfStale,
  createDurableAgent,
  log,
  median,
  nowMs,
  round2,
  roundStreamSuffix,
  sleep,
  startDurableBenchServer,
  startDurableClientWorker,
  summary,
  type BenchWorkflow,
  type DurableBenchServer,
  type DurableClientWorker,
  type DurableSectionContext,
  type FreshServer,
  type RunTiming,
  RUN_TIMEOUT_MS,
  waitForRun,
  type WorldKind,
  withTimeout,
} from "./durable-support";

const quick = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";

const settings = quick
  ? {
      overheadWarmUp: 1,
      overheadRounds: 6,
      chunkRuns: 1,
      fastCounts: [100, 300],
      fastRounds: 1,
      approvalRuns: 5,
      lengths: [1, 20, 100],
      lengthRepeats: 1,
      deadlineMs: 150_000,
      concurrency: { levels: [10, 30], deadlineMs: 120_000 },
      history: { sizes: [0, 100_000], rounds: 2, warmUpTurns: 3, turnsPerProcess: 3, turnTimeoutMs: 120_000 },
      historyBudgetMs: 600_000,
    }
  : {
      overheadWarmUp: 2,
      overheadRounds: 15,
      chunkRuns: 4,
      fastCounts: [100, 300],
      fastRounds: 5,
      approvalRuns: 20,
      lengths: [1, 20, 100],
      lengthRepeats: 3,
      deadlineMs: 900_000,
      concurrency: { levels: [10, 50, 100], deadlineMs: 300_000 },
      history: { sizes: [0, 100_000, 1_000_000], rounds: 3, warmUpTurns: 4, turnsPerProcess: 8, turnTimeoutMs: 120_000 },
      historyBudgetMs: 1_800_000,
    };

/** The sections by their names in `worlds.<kind>`, in the order they run (history last: see above). */
const SECTIONS = ["stepOverhead", "chunkLatency", "approvalLatency", "runLength", "concurrency", "history"] as const;
type SectionName = (typeof SECTIONS)[number];
const WORLD_KINDS: readonly WorldKind[] = ["local", "postgres"];

/** The value of `--name value` or `--name=value`, if given. */
function optionValue(name: string): string | undefined {
  const flag = `--${name}`;
  const index = process.argv.findIndex((argument) => argument === flag || argument.startsWith(`${flag}=`));
  if (index < 0) return undefined;
  const argument = process.argv[index]!;
  return argument === flag ? process.argv[index + 1] : argument.slice(flag.length + 1);
}

function commaList<T extends string>(name: string, allowed: readonly T[]): T[] | undefined {
  const value = optionValue(name);
  if (value === undefined) return undefined;
  const items = value.split(",").map((item) => item.trim()).filter(Boolean);
  const unknown = items.filter((item) => !allowed.includes(item as T));
  if (items.length === 0 || unknown.length > 0) {
    throw new Error(`--${name} takes a comma list of ${allowed.join(", ")} (got ${JSON.stringify(value)})`);
  }
  return items as T[];
}

/** Which sections and worlds this run measures (from --only and --worlds). */
function parseSelection() {
  const only = commaList("only", SECTIONS);
  const worlds = commaList("worlds", WORLD_KINDS);
  if (worlds?.includes("postgres") && !process.env.TEST_DATABASE_URL) throw new Error("--worlds postgres needs TEST_DATABASE_URL");
  return {
    sections: new Set<SectionName>(only ?? SECTIONS),
    worlds: worlds ?? (process.env.TEST_DATABASE_URL ? ["local", "postgres"] : ["local"]),
    chosenWorlds: worlds !== undefined,
  };
}
type Selection = ReturnType<typeof parseSelection>;

/** demo:0 with send_email: the chat turns of part 1, the approvals of part 3 and the history turns. */
const FAST_AGENT = "bench-durable-0";
/** demo:50 (timestamped by the bench's model instrument): part 2. */
const PACED_AGENT = "bench-durable-50";
const PACED_DELAY_MS = 50;
const PACED_COUNT = 60;
const CHAT_PROMPT = "hi";
const EMAIL_PROMPT = 'use send_email with {"to":"a@example.com","subject":"s","body":"b"}';
/** Part 3 waits a random 150–650 ms after the replay before POSTing, so that it samples every phase of
 * whatever periodic work stands between the POST and the reader (see notes). */
const SETTLE_MIN_MS = 150;
const SETTLE_SPAN_MS = 500;

const results: Record<string, unknown> = benchmarkHeader("tether durable runs", quick);
const notes: string[] = [];
/** Correctness problems (a run that failed, wrong text, a missing [DONE]…); any of them makes the exit code 1. */
const failures: string[] = [];
let uniqueCounter = 0;
const uniqueId = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++uniqueCounter}`;

/**
 * Per step, the time from the previous step's completion (the run's creation for the first) to its own
 * completion: the replay that decides to call it, its queue delivery, its body, and its completion event.
 */
function stepCycles(run: RunTiming): number[] {
  return run.steps.map((step, index) => step.completedAt - (index === 0 ? run.createdAt : run.steps[index - 1]!.completedAt));
}

interface BenchWorkflows {
  bare: BenchWorkflow;
}
let compiled: BenchWorkflows | undefined;

async function compileBenchWorkflows(): Promise<BenchWorkflows> {
  compiled = {
    bare: await buildBenchWorkflow("durable-bare", "bareSteps"),
  };
  return compiled;
}

// ---------------------------------------------------------------------------------------------------------
// 1. Per-step overhead: Tether's steps vs trivial steps

/** A durable chat turn through POST /api/chat, read to the end by the client worker. */
async function tetherTurnOverHttp(server: DurableBenchServer, client: DurableClientWorker) {
  const stream = await client.call("chat", {
    baseUrl: server.url,
    conversationId: uniqueId("overhead"),
    agentId: FAST_AGENT,
    text: CHAT_PROMPT,
  });
  if (stream.status !== 200 || !stream.executionId) throw new Error(`durable chat answered ${stream.status}`);
  if (!stream.done) failures.push(`overhead: chat stream of ${stream.executionId} ended without [DONE]`);
  const text = stream.events.flatMap((event) => (event.delta === undefined ? [] : [event.delta])).join("");
  if (text !== `You said: ${CHAT_PROMPT}`) failures.push(`overhead: chat answered ${JSON.stringify(text.slice(0, 60))}`);
  const execution = await server.tether.repositories.executions.get(stream.executionId);
  if (!execution.workflowRunId) throw new Error(`execution ${execution.id} has no workflow run`);
  const run = await waitForRun(execution.workflowRunId);
  if (run.status !== "completed") failures.push(`overhead: Tether run ${run.runId} ended ${run.status}`);
  const settled = await server.tether.repositories.executions.get(execution.id);
  if (settled.status !== "completed") failures.push(`overhead: execution ${execution.id} ended ${settled.status}`);
  // Every event of the response but [DONE] is a chunk the model step wrote.
  return { run, chunks: stream.events.filter((event) => event.type !== "[DONE]").length };
}

/**
 * The same turn started as the bare runs are: the rows POST /api/chat would write, then start() in-process,
 * with nobody reading the stream, so that only the workflow's own steps are timed. (The run service's chat
 * call would also time its own row update after start(), which runs beside the first step; the HTTP side
 * measures the turn with everything the route does.)
 */
async function tetherTurnInProcess(server: DurableBenchServer) {
  const { repositories } = server.tether;
  const conversationId = uniqueId("overhead");
  await repositories.conversations.ensure({ id: conversationId, ownerId: "local", agentId: FAST_AGENT, title: CHAT_PROMPT });
  await repositories.messages.upsert(conversationId, {
    id: `u_${conversationId}`,
    role: "user",
    parts: [{ type: "text", text: CHAT_PROMPT }],
  });
  const execution = await repositories.executions.create({
    mode: "durable",
    agentId: FAST_AGENT,
    conversationId,
    ownerId: "local",
    metadata: { round: 0 },
  });
  // The input of runs started before statusInRound: their status steps are Tether steps with no model in
  // them, the cleanest measure of what a Tether step costs over a trivial one.
  const started = await start({ workflowId: AGENT_RUN_WORKFLOW_ID }, [{ executionId: execution.id, approvalTimeoutMs: 60_000 }]);
  const run = await waitForRun(started.runId);
  if (run.status !== "completed") failures.push(`overhead: Tether run ${run.runId} ended ${run.status}`);
  const settled = await repositories.executions.get(execution.id);
  if (settled.status !== "completed") failures.push(`overhead: execution ${execution.id} ended ${settled.status}`);
  const answer = (await repositories.messages.list(conversationId)).at(-1);
  const text = answer?.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
  if (text !== `You said: ${CHAT_PROMPT}`) failures.push(`overhead: in-process turn answered ${JSON.stringify(text)}`);
  return run;
}

async function bareRun(steps: number, stream?: { at: number; chunks: number }) {
  const input = stream ? { steps, streamAt: stream.at, chunks: stream.chunks } : { steps };
  const started = await start({ workflowId: compiled!.bare.workflowId }, [input]);
  const run = await waitForRun(started.runId);
  if (run.status !== "completed") failures.push(`bare run ${run.runId} (${steps} steps) ended ${run.status}`);
  if (run.steps.length !== steps) failures.push(`bare run ${run.runId}: ${run.steps.length} steps, expected ${steps}`);
  return run;
}

type Side = "tether" | "tetherHttp" | "bare";

async function stepOverhead(server: DurableBenchServer, client: DurableClientWorker) {
  log(`[${server.kind}] 1. step overhead: warm-up (${settings.overheadWarmUp} of each)`);
  let shape: string[] = [];
  let chunksPerRound = 0;
  for (let index = 0; index < settings.overheadWarmUp; index++) {
    shape = (await tetherTurnInProcess(server)).steps.map((step) => step.name);
    chunksPerRound = (await tetherTurnOverHttp(server, client)).chunks;
  }
  const stepsPerTurn = shape.length;
  const streamAt = shape.indexOf("runModelRound");
  const bareShape = streamAt >= 0 ? { at: streamAt, chunks: chunksPerRound } : undefined;
  await bareRun(stepsPerTurn, bareShape);
  const runs: Record<Side, RunTiming[]> = { tether: [], tetherHttp: [], bare: [] };
  const pairedRatios: number[] = [];
  const sides: Side[] = ["tether", "tetherHttp", "bare"];
  for (let round = 0; round < settings.overheadRounds; round++) {
    // Rotated every round (T H B, H B T, B T H, …) so that drift in machine load hits every side alike.
    const order = sides.map((_, index) => sides[(index + round) % sides.length]!);
    const pair: Partial<Record<Side, RunTiming>> = {};
    for (const side of order) {
      const run =
        side === "tether"
          ? await tetherTurnInProcess(server)
          : side === "tetherHttp"
            ? (await tetherTurnOverHttp(server, client)).run
            : await bareRun(stepsPerTurn, bareShape);
      pair[side] = run;
      runs[side].push(run);
    }
    pairedRatios.push(pair.tether!.runMs / pair.bare!.runMs);
    log(
      `[${server.kind}] 1. round ${round + 1}/${settings.overheadRounds}: Tether turn ${pair.tether!.runMs} ms ` +
        `(over HTTP ${pair.tetherHttp!.runMs} ms), bare ${stepsPerTurn} steps ${pair.bare!.runMs} ms`,
    );
  }
  const names = runs.tether[0]?.steps.map((step) => step.name) ?? [];
  if (names.join(",") !== "recordStatus,runModelRound,recordStatus") {
    notes.push(`step overhead: agentRun's chat turn ran the steps ${names.join(", ")}; recordStatus positions were taken from that`);
  }
  const recordStatusAt = names.flatMap((name, index) => (name === "recordStatus" ? [index] : []));
  const at = (list: RunTiming[], positions: number[], measure: (run: RunTiming, index: number) => number) =>
    list.flatMap((run) => positions.filter((index) => index < run.steps.length).map((index) => measure(run, index)));
  const cycle = (run: RunTiming, index: number) => stepCycles(run)[index]!;
  const body = (run: RunTiming, index: number) => run.steps[index]!.completedAt - run.steps[index]!.startedAt;
  const dispatch = (run: RunTiming, index: number) =>
    run.steps[index]!.startedAt - (index === 0 ? run.createdAt : run.steps[index - 1]!.completedAt);
  const tail = (run: RunTiming) => run.completedAt - (run.steps.at(-1)?.completedAt ?? run.createdAt);
  const describe = (side: Side, what: string, bundleBytes: number | undefined) => {
    const list = runs[side];
    return {
      what,
      workflowBundleBytes: bundleBytes,
      stepsPerRun: list[0]?.steps.length,
      runMs: summary(list.map((run) => run.runMs)),
      msPerStep: summary(list.map((run) => run.runMs / run.steps.length)),
      // The recordStatus positions (first and last step) of agentRun, and the same positions of the bare runs.
      cycleMs: summary(at(list, recordStatusAt, cycle)),
      dispatchMs: summary(at(list, recordStatusAt, dispatch)),
      bodyMs: summary(at(list, recordStatusAt, body)),
      finalReplayMs: summary(list.map(tail)),
      byPosition: Array.from({ length: stepsPerTurn }, (_, index) => ({
        step: list[0]?.steps[index]?.name,
        cycleMs: round2(median(at(list, [index], cycle))),
        dispatchMs: round2(median(at(list, [index], dispatch))),
        bodyMs: round2(median(at(list, [index], body))),
      })),
    };
  };
  const cycleMedian = (side: Side) => median(at(runs[side], recordStatusAt, cycle));
  const perStepMedian = (side: Side) => median(runs[side].map((run) => run.runMs / run.steps.length));
  const ratio = cycleMedian("tether") / cycleMedian("bare");
  return {
    rounds: settings.overheadRounds,
    order: "rotated per round (in-process Tether, Tether over HTTP, bare; then over HTTP, bare, in-process; …); warm-up runs of each first, not counted; runs never overlap",
    tether: describe(
      "tether",
      `agentRun on demo:0 with "${CHAT_PROMPT}" (${names.join(" → ")}), started in-process with start() after writing the rows POST /api/chat writes; nobody reads its stream`,
      tetherBundleBytes(),
    ),
    tetherOverHttp: describe(
      "tetherHttp",
      `the same turn through a durable POST /api/chat whose response the client worker reads to the end (the server streams it while the steps run)`,
      tetherBundleBytes(),
    ),
    bare: describe(
      "bare",
      `bench/workflows/durable-bare.ts bareSteps({ steps: ${stepsPerTurn}${bareShape ? `, streamAt: ${bareShape.at}, chunks: ${bareShape.chunks}` : ""} }) ` +
        "started with start() in-process: trivial steps that return 1, the one in the model round's place writing as many chunks to r0 as the round did",
      compiled!.bare.bundleBytes,
    ),
    ratio: {
      recordStatusVsTrivialStep: round2(ratio),
      wholeRunPerStep: round2(perStepMedian("tether") / perStepMedian("bare")),
      pairedWholeRun: summary(pairedRatios),
    },
    target: "recordStatusVsTrivialStep <= 1.25",
    pass: ratio <= 1.25,
  };
}

function tetherBundleBytes(): number | undefined {
  try {
    return statSync(new URL("../dist/workflow/workflows.mjs", import.meta.url)).size;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. Chunk write → visible on the resume route

/** Reads a round's namespace straight from the world in this thread, timestamping each text delta. */
async function readWorldRound(runId: string, round: number, deadlineAt: number): Promise<TimedEvent[]> {
  const events: TimedEvent[] = [];
  const reader = getRun(runId)
    .getReadable<RoundEnvelope>({ namespace: `r${round}` })
    .getReader();
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), sleep(Math.max(0, deadlineAt - nowMs())).then(() => "timeout" as const)]);
      if (next === "timeout") throw new Error(`world reader of ${runId} r${round} timed out`);
      if (next.done) break;
      const at = nowMs();
      // A world chunk carries a burst of UI chunks: all of them became visible at the same moment.
      const chunks = unpackEnvelope(next.value).map((tagged) => tagged.chunk as { type: string; delta?: string });
      for (const chunk of chunks) events.push({ at, id: undefined, type: chunk.type, delta: chunk.delta });
      if (chunks.some((chunk) => chunk.type === "data-terminal")) break;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

const deltasOf = (events: TimedEvent[] | undefined) => (events ?? []).filter((event) => event.type === "text-delta");

async function chunkLatency(server: DurableBenchServer, client: DurableClientWorker) {
  return {
    ...(await measureChunkLatency(server, client, settings.chunkRuns)),
    fastModel: await fastModelThroughput(server, client),
  };
}

async function measureChunkLatency(server: DurableBenchServer, client: DurableClientWorker, runs: number) {
  const { instruments } = server;
  const lag = {
    worldWriteCalled: [] as number[],
    worldWriteDone: [] as number[],
    worldReader: [] as number[],
    resumeRoute: [] as number[],
    chatRoute: [] as number[],
  };
  const gaps = { worldWriteDuration: [] as number[], worldReaderToResumeRoute: [] as number[] };
  let live = 0;
  let replayed = 0;
  let noContent = 0;
  const expected = Array.from({ length: PACED_COUNT }, (_, index) => String(index + 1)).join(" ");
  for (let run = 0; run < runs; run++) {
    log(`[${server.kind}] 2. chunk latency run ${run + 1}/${runs}: count to ${PACED_COUNT} on demo:${PACED_DELAY_MS}`);
    instruments.reset();
    const conversationId = uniqueId("chunks");
    const clientDone = client.call("chatWithResume", {
      baseUrl: server.url,
      conversationId,
      agentId: PACED_AGENT,
      text: `count to ${PACED_COUNT}`,
      retryMs: 5,
      maxAttempts: 1000,
    });
    // The in-process world reader: opened as soon as the run exists.
    const deadlineAt = nowMs() + 60_000;
    let runId: string | undefined;
    while (!runId && nowMs() < deadlineAt) {
      const latest = await server.tether.repositories.executions.latestForConversation(conversationId).catch(() => undefined);
      runId = latest?.workflowRunId ?? undefined;
      if (!runId) await sleep(2);
    }
    if (!runId) throw new Error(`chunk run ${run}: no workflow run appeared`);
    const worldEvents = await readWorldRound(runId, 0, deadlineAt);
    const { original, resumed, noContent: retries } = await clientDone;
    noContent += retries;
    if (!resumed) {
      failures.push(`chunks run ${run}: the resume route never answered 200`);
      continue;
    }
    for (const [who, stream] of [["chat", original], ["resume", resumed]] as const) {
      const text = deltasOf(stream.events).map((event) => event.delta).join("");
      if (stream.status !== 200 || !stream.done || text !== expected) {
        failures.push(`chunks run ${run} ${who}: status ${stream.status}, [DONE] ${stream.done}, text starts ${JSON.stringify(text.slice(0, 20))}`);
      }
    }
    const emitted = [...instruments.emitted];
    const r0 = `${runId.replace("wrun_", "strm_")}${roundStreamSuffix(0)}`;
    const writes = instruments.worldWrites.filter((write) => write.stream === r0 && write.textDelta);
    const worldDeltas = deltasOf(worldEvents);
    const resumeDeltas = deltasOf(resumed.events);
    const chatDeltas = deltasOf(original.events);
    if (emitted.length !== PACED_COUNT || resumeDeltas.length !== PACED_COUNT || worldDeltas.length !== PACED_COUNT) {
      failures.push(
        `chunks run ${run}: ${emitted.length} deltas emitted, ${worldDeltas.length} read from the world, ${resumeDeltas.length} on the resume route`,
      );
      continue;
    }
    for (let index = 0; index < PACED_COUNT; index++) {
      const produced = emitted[index]!;
      if (resumeDeltas[index]!.delta !== produced.delta) {
        failures.push(`chunks run ${run}: delta ${index} is ${JSON.stringify(resumeDeltas[index]!.delta)} on the resume route, ${JSON.stringify(produced.delta)} at the model`);
        break;
      }
      // Only deltas produced after the resume route answered were read live; the rest were a replay.
      if (produced.at < resumed.headersAt) {
        replayed += 1;
        continue;
      }
      live += 1;
      lag.resumeRoute.push(resumeDeltas[index]!.at - produced.at);
      lag.worldReader.push(worldDeltas[index]!.at - produced.at);
      if (chatDeltas[index]) lag.chatRoute.push(chatDeltas[index]!.at - produced.at);
      if (writes.length === PACED_COUNT) {
        lag.worldWriteCalled.push(writes[index]!.startedAt - produced.at);
        lag.worldWriteDone.push(writes[index]!.at - produced.at);
        gaps.worldWriteDuration.push(writes[index]!.at - writes[index]!.startedAt);
      }
      gaps.worldReaderToResumeRoute.push(resumeDeltas[index]!.at - worldDeltas[index]!.at);
    }
    await waitForRun(runId);
  }
  if (!instruments.chunkTextVisible) {
    notes.push("chunks: serialized chunks were not readable as text at the world, so worldWrite lags are missing");
  }
  return {
    model: `demo:${PACED_DELAY_MS}`,
    prompt: `count to ${PACED_COUNT}`,
    runs,
    liveDeltas: live,
    replayedDeltas: replayed,
    resumeRoute204sBeforeRunning: noContent,
    route: "GET /api/chat/:conversationId/stream, opened right after POST /api/chat answered (retried every 5 ms while 204)",
    writeToResumeRouteMs: summary(lag.resumeRoute),
    breakdownFromModelEmitMs: {
      sdkCallsWorldWrite: summary(lag.worldWriteCalled),
      worldWriteResolved: summary(lag.worldWriteDone),
      inProcessWorldReader: summary(lag.worldReader),
      resumeRoute: summary(lag.resumeRoute),
      chatRoute: summary(lag.chatRoute),
    },
    stagesMs: {
      worldWriteDuration: summary(gaps.worldWriteDuration),
      inProcessWorldReaderToResumeRoute: summary(gaps.worldReaderToResumeRoute),
    },
  };
}

/**
 * How fast a fast model's chunks get through a durable round: `count to n` on demo:0, POST /api/chat to its
 * [DONE], durable vs the same agent in classic mode (executionMode override), alternating; at two lengths,
 * so that what a chunk costs (the slope) shows apart from what a turn costs whatever its length.
 */
async function fastModelThroughput(server: DurableBenchServer, client: DurableClientWorker) {
  type Variant = "durable" | "classic";
  const variants: Variant[] = ["durable", "classic"];
  const counts = settings.fastCounts;
  const timings = new Map(counts.map((n) => [n, { durable: { ms: [] as number[], events: [] as number[] }, classic: { ms: [] as number[], events: [] as number[] } }]));
  for (let round = 0; round < settings.fastRounds; round++) {
    const order = variants.map((_, index) => variants[(index + round) % variants.length]!);
    for (const n of counts) {
      const expected = Array.from({ length: n }, (_, index) => String(index + 1)).join(" ");
      for (const variant of order) {
        const stream = await client.call("chat", {
          baseUrl: server.url,
          conversationId: uniqueId(`fast-${variant}`),
          agentId: FAST_AGENT,
          text: `count to ${n}`,
          executionMode: variant,
        });
        if (variant === "durable" && stream.executionId) {
          const execution = await server.tether.repositories.executions.get(stream.executionId);
          if (execution.workflowRunId) await waitForRun(execution.workflowRunId);
        }
        const text = deltasOf(stream.events).map((event) => event.delta).join("");
        if (stream.status !== 200 || !stream.done || text !== expected) {
          failures.push(`fast model ${variant}: status ${stream.status}, [DONE] ${stream.done}, text starts ${JSON.stringify(text.slice(0, 20))}`);
          continue;
        }
        timings.get(n)![variant].ms.push(stream.endedAt - stream.startedAt);
        timings.get(n)![variant].events.push(stream.events.length);
      }
      const last = (variant: Variant) => round2(timings.get(n)![variant].ms.at(-1) ?? Number.NaN);
      log(
        `[${server.kind}] 2. fast model count to ${n}, round ${round + 1}/${settings.fastRounds}: durable ${last("durable")} ms, ` +
          `classic ${last("classic")} ms`,
      );
    }
  }
  const describe = (n: number, variant: Variant) => {
    const { ms, events } = timings.get(n)![variant];
    return { turnMs: summary(ms), events: median(events), msPerEvent: round2(median(ms.map((each, index) => each / events[index]!))) };
  };
  const byLength = counts.map((n) => {
    const durable = describe(n, "durable");
    const classic = describe(n, "classic");
    return { count: n, sseEventsPerTurn: durable.events, durable, classic, durableOverClassic: round2(durable.msPerEvent / classic.msPerEvent) };
  });
  const [short, long] = [byLength[0]!, byLength.at(-1)!];
  // The extra cost of the longer turn's extra chunks: what one more chunk costs, fixed turn costs cancelled out.
  const slope = (variant: Variant) =>
    round2((long[variant].turnMs.p50! - short[variant].turnMs.p50!) / (long.sseEventsPerTurn - short.sseEventsPerTurn));
  const marginal = long === short ? undefined : { durable: slope("durable"), classic: slope("classic") };
  return {
    what:
      `count to ${counts.join(" and ")} on demo:0 through POST /api/chat, request sent → [DONE] read by the client worker; the same ` +
      "agent durable and classic (executionMode override)",
    rounds: settings.fastRounds,
    byLength,
    sseEventsPerTurn: long.sseEventsPerTurn,
    durable: long.durable,
    classic: long.classic,
    durableOverClassic: long.durableOverClassic,
    ...(marginal
      ? { marginalMsPerEvent: { ...marginal, durableOverClassic: round2(marginal.durable / marginal.classic) } }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// 3. Approval POST → first event of round 1

async function waitForSuspension(server: DurableBenchServer, executionId: string) {
  const deadline = nowMs() + RUN_TIMEOUT_MS;
  for (;;) {
    const execution = await server.tether.repositories.executions.get(executionId);
    if (execution.status === "suspended") {
      const [pending] = await server.tether.repositories.approvals.pendingFor([executionId]);
      if (pending) return { execution, toolCallId: pending.toolCallId };
    } else if (execution.status !== "running") {
      throw new Error(`execution ${executionId} ended ${execution.status} before suspending`);
    }
    if (nowMs() > deadline) throw new Error(`execution ${executionId} did not suspend`);
    await sleep(5);
  }
}

async function approvalLatency(server: DurableBenchServer, client: DurableClientWorker) {
  const endToEnd: number[] = [];
  const postAnswered: number[] = [];
  const toFirstWrite: number[] = [];
  const writeToReader: number[] = [];
  const runTotal: number[] = [];
  const runSteps: number[] = [];
  for (let run = 0; run < settings.approvalRuns; run++) {
    const chat: TimedStream = await client.call("chat", {
      baseUrl: server.url,
      conversationId: uniqueId("approval"),
      agentId: FAST_AGENT,
      text: EMAIL_PROMPT,
    });
    if (chat.status !== 200 || !chat.executionId) throw new Error(`approval chat answered ${chat.status}`);
    const { execution, toolCallId } = await waitForSuspension(server, chat.executionId);
    server.instruments.reset();
    const settleMs = SETTLE_MIN_MS + Math.random() * SETTLE_SPAN_MS;
    const outcome = await client.call("approve", { baseUrl: server.url, executionId: execution.id, toolCallId, settleMs });
    if (outcome.postStatus !== 200) failures.push(`approval run ${run}: POST answered ${outcome.postStatus} ${outcome.postBody ?? ""}`);
    if (!outcome.firstRoundOne) {
      failures.push(`approval run ${run}: no round-1 event (last events ${outcome.lastEventTypes.join(", ")})`);
      continue;
    }
    if (!outcome.done) failures.push(`approval run ${run}: the execution stream ended without [DONE]`);
    const latency = outcome.firstRoundOne.at - outcome.postSentAt;
    endToEnd.push(latency);
    postAnswered.push(outcome.postAnsweredAt - outcome.postSentAt);
    const r1 = `${execution.workflowRunId!.replace("wrun_", "strm_")}${roundStreamSuffix(1)}`;
    const firstWrite = server.instruments.worldWrites.find((write) => write.stream === r1);
    if (firstWrite) {
      toFirstWrite.push(firstWrite.at - outcome.postSentAt);
      writeToReader.push(outcome.firstRoundOne.at - firstWrite.at);
    }
    const timing = await waitForRun(execution.workflowRunId!);
    if (timing.status !== "completed") failures.push(`approval run ${run}: run ended ${timing.status}`);
    runTotal.push(timing.runMs);
    runSteps.push(timing.steps.length);
    log(
      `[${server.kind}] 3. approval ${run + 1}/${settings.approvalRuns}: POST → first round-1 event ${round2(latency)} ms` +
        (firstWrite ? ` (written to the world after ${round2(firstWrite.at - outcome.postSentAt)} ms)` : ""),
    );
  }
  return {
    runs: settings.approvalRuns,
    samples: endToEnd.length,
    what:
      "POST /api/executions/:id/approvals/:toolCallId sent by the client worker → first SSE event with offset 1.* " +
      "on a GET /api/executions/:id/stream it opened before (after the replay of round 0 plus a random 150–650 ms)",
    postToFirstRoundOneEventMs: summary(endToEnd),
    postResponseMs: summary(postAnswered),
    breakdown: {
      postToFirstRoundOneChunkWrittenMs: summary(toFirstWrite),
      writtenToSeenByReaderMs: summary(writeToReader),
    },
    wholeRun: { runMsIncludingWaitForApproval: summary(runTotal), steps: summary(runSteps) },
    target: "reported only",
  };
}

// ---------------------------------------------------------------------------------------------------------
// 4. Cost against run length

async function runLength(server: DurableBenchServer) {
  const byLength = new Map<number, RunTiming[]>();
  for (let repeat = 0; repeat < settings.lengthRepeats; repeat++) {
    const order = repeat % 2 === 0 ? settings.lengths : [...settings.lengths].reverse();
    for (const steps of order) {
      const run = await bareRun(steps);
      byLength.set(steps, [...(byLength.get(steps) ?? []), run]);
      log(`[${server.kind}] 4. bare run of ${steps} steps: ${run.runMs} ms (${round2(run.runMs / steps)} ms/step)`);
    }
  }
  return {
    workflow: "bench/workflows/durable-bare.ts bareSteps({ steps: n }): n trivial steps in sequence",
    repeats: settings.lengthRepeats,
    lengths: Object.fromEntries(
      [...byLength.entries()].map(([steps, runs]) => {
        const cycles = runs.map(stepCycles);
        const window = Math.min(10, steps);
        return [
          String(steps),
          {
            totalMs: summary(runs.map((run) => run.runMs)),
            msPerStep: round2(median(runs.map((run) => run.runMs / steps))),
            firstStepsCycleMs: round2(median(cycles.flatMap((list) => list.slice(0, window)))),
            lastStepsCycleMs: round2(median(cycles.flatMap((list) => list.slice(-window)))),
            cycleWindow: window,
          },
        ];
      }),
    ),
  };
}

// ---------------------------------------------------------------------------------------------------------

async function createAgents(server: DurableBenchServer) {
  await createDurableAgent(server, FAST_AGENT, "demo:0", ["send_email"]);
  await createDurableAgent(server, PACED_AGENT, `demo:${PACED_DELAY_MS}`);
}

function sectionContext(server: DurableBenchServer, client: DurableClientWorker): DurableSectionContext {
  return {
    server,
    client,
    fail: (problem) => failures.push(problem),
    uniqueId,
    waitForRun,
  };
}

/** Removing a server is bounded too: a world still busy with runs may not let go. */
const DISPOSE_TIMEOUT_MS = 120_000;

function freshServers(kind: WorldKind, client: DurableClientWorker): FreshServer {
  return async (body) => {
    const server = await startDurableBenchServer(kind, [compiled!.bare]);
    let result!: Awaited<ReturnType<typeof body>>;
    let disposeMs = 0;
    try {
      await createAgents(server);
      result = await body(sectionContext(server, client));
    } finally {
      const disposing = nowMs();
      await withTimeout(server.dispose(), DISPOSE_TIMEOUT_MS, `disposing the ${kind} world`).catch((error: unknown) =>
        log(`[${kind}] dispose failed: ${String(error)}`),
      );
      disposeMs = Math.round(nowMs() - disposing);
      log(`[${kind}] server disposed in ${disposeMs} ms`);
    }
    return { result, startupMs: Math.round(server.startupMs), disposeMs };
  };
}

/** Runs one section; one that throws is recorded and the next one still runs. */
async function runSection(kind: WorldKind, section: WorldSection, name: SectionName, body: () => Promise<void>) {
  try {
    await body();
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    section.error = section.error ? `${section.error}\n${name}: ${message}` : `${name}: ${message}`;
    failures.push(`[${kind}] ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const SHARED_SERVER_SECTIONS: readonly SectionName[] = ["stepOverhead", "chunkLatency", "approvalLatency", "runLength"];

/**
 * Measures one world into `section` (already part of the results, so a watchdog exit still prints what was
 * measured). Sections 1–4 share one server, as they always have; each concurrency level runs in a process of
 * its own (bench/durable-concurrency-level.ts) and the history on worlds of its own, timed in processes of
 * their own, so that runs a timed-out level leaves going, the chunks earlier sections stored, or the process
 * that filled a world do not count against the next measurement.
 */
async function benchWorld(kind: WorldKind, client: DurableClientWorker, section: WorldSection, selection: Selection) {
  const started = nowMs();
  const fresh = freshServers(kind, client);
  const shared = SHARED_SERVER_SECTIONS.filter((name) => selection.sections.has(name));
  if (shared.length > 0) {
    log(`[${kind}] starting Tether on the ${kind} world`);
    const { startupMs } = await fresh(async ({ server }) => {
      for (const name of shared) await runSection(kind, section, name, () => runSharedSection(name, server, client, section));
    });
    section.startupMs = startupMs;
  }
  if (selection.sections.has("concurrency")) {
    await runSection(kind, section, "concurrency", async () => {
      section.concurrency = await concurrency(kind, settings.concurrency, (problem) => failures.push(problem));
    });
  }
  if (selection.sections.has("history")) {
    await runSection(kind, section, "history", async () => {
      section.history = await history({ kind, createAgents, fail: (problem) => failures.push(problem) }, settings.history, FAST_AGENT);
    });
  }
  section.durationMs = Math.round(nowMs() - started);
}

async function runSharedSection(name: SectionName, server: DurableBenchServer, client: DurableClientWorker, section: WorldSection) {
  if (name === "stepOverhead") section.stepOverhead = await stepOverhead(server, client);
  else if (name === "chunkLatency") section.chunkLatency = await chunkLatency(server, client);
  else if (name === "approvalLatency") section.approvalLatency = await approvalLatency(server, client);
  else if (name === "runLength") section.runLength = await runLength(server);
}

interface WorldSection {
  world: WorldKind;
  database: string;
  /** The server of sections 1–4 (each concurrency level and the history report their own). */
  startupMs?: number;
  stepOverhead?: Awaited<ReturnType<typeof stepOverhead>>;
  chunkLatency?: Awaited<ReturnType<typeof chunkLatency>>;
  approvalLatency?: Awaited<ReturnType<typeof approvalLatency>>;
  runLength?: Awaited<ReturnType<typeof runLength>>;
  concurrency?: Awaited<ReturnType<typeof concurrency>>;
  history?: Awaited<ReturnType<typeof history>>;
  error?: string;
  durationMs?: number;
}

/** The headline numbers of every world side by side, for the sections that ran. */
function sideBySide(worlds: Partial<Record<WorldKind, WorldSection>>, selection: Selection) {
  const headlines = allHeadlines(worlds);
  // Each headline starts with its section's number: SECTIONS[number - 1].
  const ran = (headline: string) => selection.sections.has(SECTIONS[Number.parseInt(headline, 10) - 1]!);
  return Object.fromEntries(Object.entries(headlines).filter(([headline]) => ran(headline)));
}

function allHeadlines(worlds: Partial<Record<WorldKind, WorldSection>>) {
  const pick = <T>(read: (section: WorldSection) => T) =>
    Object.fromEntries(Object.entries(worlds).map(([kind, section]) => [kind, read(section)]));
  return {
    "1. step overhead: recordStatus cycle vs trivial step cycle, medians in ms (target ratio <= 1.25)": pick((s) => ({
      tetherRecordStatus: s.stepOverhead?.tether.cycleMs.p50,
      tetherTurnOverHttp: { steps: s.stepOverhead?.tetherOverHttp.stepsPerRun, runMs: s.stepOverhead?.tetherOverHttp.runMs.p50 },
      bareTrivialStep: s.stepOverhead?.bare.cycleMs.p50,
      ratio: s.stepOverhead?.ratio.recordStatusVsTrivialStep,
      wholeRunMsPerStep: { tether: s.stepOverhead?.tether.msPerStep.p50, bare: s.stepOverhead?.bare.msPerStep.p50 },
      pass: s.stepOverhead?.pass,
    })),
    "2. chunk written (model emit) -> visible on the resume route, ms": pick((s) => ({
      ...s.chunkLatency?.writeToResumeRouteMs,
      fastModelMsPerEvent: {
        durable: s.chunkLatency?.fastModel.durable.msPerEvent,
        classic: s.chunkLatency?.fastModel.classic.msPerEvent,
        durablePerEventMsOverClassicPerEventMs: s.chunkLatency?.fastModel.durableOverClassic,
        byLength: s.chunkLatency?.fastModel.byLength.map((length) => ({
          events: length.sseEventsPerTurn,
          durable: length.durable.msPerEvent,
          classic: length.classic.msPerEvent,
          ratio: length.durableOverClassic,
        })),
        marginal: s.chunkLatency?.fastModel.marginalMsPerEvent,
      },
    })),
    "3. approval POST -> first round-1 event, ms": pick((s) => ({
      ...s.approvalLatency?.postToFirstRoundOneEventMs,
      firstChunkWrittenP50: s.approvalLatency?.breakdown.postToFirstRoundOneChunkWrittenMs.p50,
    })),
    "4. bare run length -> total ms (median) / ms per step": pick((s) =>
      Object.fromEntries(
        Object.entries(s.runLength?.lengths ?? {}).map(([steps, value]) => [steps, { totalMs: value.totalMs.p50, msPerStep: value.msPerStep }]),
      ),
    ),
    [`5. concurrency: N turns at once (count to 600 on ${CONCURRENT_MODEL}) -> ms until all done`]: pick((s) =>
      s.concurrency ? concurrencyHeadline(s.concurrency) : undefined,
    ),
    "5. concurrency: localWall / postgresWall per N (target: <= 2 at the largest N)": {
      ...concurrencyRatios(worlds.local?.concurrency, worlds.postgres?.concurrency),
      target: concurrencyTarget(worlds.local?.concurrency, worlds.postgres?.concurrency),
    },
    "6. history: a count-to-100 turn (median ms) after n stored stream chunks": pick((s) => (s.history ? historyHeadline(s.history) : undefined)),
  };
}

function concurrencyHeadline(section: NonNullable<WorldSection["concurrency"]>) {
  return Object.fromEntries(
    Object.entries(section.levels).map(([turns, level]) => {
      if ("processError" in level) return [turns, { processError: level.processError }];
      const { errors } = level;
      const errorCount =
        Object.values(errors.httpStatus).reduce((total, count) => total + count, 0) + errors.network + errors.wrongText + errors.missingDone;
      return [
        turns,
        {
          wallMs: level.wallMs,
          ...(level.timedOut ? { timedOut: true, finished: level.finished, afterMs: level.elapsedMs } : {}),
          perTurnMs: { p50: level.perTurnWallMs.p50, p95: level.perTurnWallMs.p95, max: level.perTurnWallMs.max },
          errors: errorCount,
          stallMaxMs: level.eventLoopStallMs.maxMs,
        },
      ];
    }),
  );
}

function historyHeadline(section: NonNullable<WorldSection["history"]>) {
  return {
    ...Object.fromEntries(
      Object.entries(section.sizes).map(([size, result]) => [
        size,
        "skipped" in result
          ? { skipped: result.skipped }
          : {
              turnWallMs: result.turnWallMs,
              firstByteMs: result.firstByteMs,
              fillChunksPerSecond: result.fill?.chunksPerSecond,
              processCpuMsPerTurn: result.processCpuMsPerTurn,
              serverHeapUsedMB: result.serverHeapUsedMB,
              ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}),
            },
      ]),
    ),
    growth: section.growth,
  };
}

/** What each number measures (printed with every run). */
function methodNotes(): string[] {
  return [
    "clocks: the bench's instruments and the client worker share process.hrtime (one monotonic clock for all threads); " +
      "run and step times come from the world's own records (createdAt/startedAt/completedAt, millisecond resolution)",
    "1. step overhead — Tether side: agentRun on demo:0 with the prompt \"hi\", started with the input of runs that " +
      "predate statusInRound, runs as 3 steps: recordStatus(running) → runModelRound → recordStatus(completed) (a turn " +
      "started now is the model round alone); it is started in-process with start() after writing the rows POST /api/chat " +
      "writes, as the bare runs are started, and nobody reads its stream. Bare side: bareSteps of " +
      "bench/workflows/durable-bare.ts with the same shape: steps that return 1, the middle one writing as many chunks to r0 " +
      "as the model round wrote (stream writes make the SDK's next replay slower, whoever writes). A step's cycle = its " +
      "completedAt minus the previous step's completedAt (the run's createdAt for the first): the workflow replay that " +
      "schedules it, its queue delivery, its body and its completion event. The ratio compares the cycles of the two " +
      "recordStatus steps (positions 1 and 3) with the trivial steps at the same positions (medians); dispatchMs = replay + " +
      "queue delivery, bodyMs = step startedAt → completedAt. wholeRunPerStep = (run createdAt → completedAt) / steps, which " +
      "also counts runModelRound's model call. tetherOverHttp: a turn as POST /api/chat starts it now (one step) with the " +
      "response read to the end, for comparison (the server streams the response on the same thread while the steps run)",
    "2. chunk latency — the demo:50 model is wrapped (through the step services' ModelSettings.provided hook; same demo " +
      "model) to timestamp each text delta when it is emitted, which is when runModelRound writes it (its writer.write " +
      "follows within the same turn of the loop); world.writeToStream/writeToStreamMulti are wrapped to timestamp when the " +
      "SDK hands the chunk to the world and when that resolves; a second reader reads the r0 namespace straight from the " +
      "world in-process (getRun().getReadable); the resume-route reader (GET /api/chat/:id/stream, opened right after the " +
      "POST answered) and the original chat response are read in the worker thread. Deltas are matched by position (the " +
      "texts are checked); only deltas emitted after the resume route answered count (live, not replayed)",
    "2. fastModel — the same agent at demo:0 with count to n: durable vs classic (the world's streamFlushIntervalMs is 0, " +
      "as Tether sets it: each chunk is handed to the world at once), at count to 100 (108 events) and 300 (308 events); " +
      "msPerEvent = turn / events (fixed turn costs included), marginalMsPerEvent = (p50 turn at 300 − p50 turn at 100) / " +
      "(events at 300 − events at 100): what a chunk costs once the turn is under way",
    "3. approval latency — each run: a durable chat with the send_email prompt (demo:0), wait for `suspended`, open GET " +
      "/api/executions/:id/stream in the worker, let it replay round 0, wait a random 150–650 ms (so periodic work is " +
      "sampled at every phase), POST the approval, time until the first event whose SSE id starts with `1.`. The breakdown " +
      "uses the world-write instrument: POST → first chunk of namespace r1 written, then written → seen by the reader",
    "4. run length — bare runs only: the demo model answers with text after a tool result, so a Tether run has at most " +
      "one approval round and longer Tether runs cannot be produced without a different model; Tether's 3-step turn " +
      "(part 1) and 9-step approval run (part 3, wholeRun) are the Tether data points. firstStepsCycleMs/lastStepsCycleMs " +
      "are the median cycles of the first and last 10 steps: the growth is the replay of a longer event log",
    `concurrency — per N: N POST /api/chat (count to 600 on ${CONCURRENT_MODEL}, durable) sent by the client worker in one tick, ` +
      "each read to its end; wallMs = first POST sent → last response ended; perTurnWallMs = each POST → its last byte; errors " +
      "by kind (HTTP status ≠ 200, network error, text-delta deltas ≠ `1 2 … 600`, no [DONE]); eventLoopStallMs = the longest " +
      "gap of a 10 ms interval on the server's thread while the level ran; past the level's deadline the unfinished requests " +
      "are aborted (timedOut, finished = how many ended); every N runs in a child process of its own with a fresh server and " +
      "world (a new temp folder or database) that exits after it: runs a timed-out level leaves going keep their process " +
      "busy even after its world is closed (their queue deliveries retry against whatever world is current)",
    "history — each size gets a world of its own (size 0: an empty one), filled by the bench process on a server of its own " +
      "straight through the world's stream API (writeToStreamMulti + closeStream) with closed streams of made-up runs, 1000 " +
      "chunks of 100 bytes each, named as the SDK names a round's stream (on PostgreSQL then VACUUM (ANALYZE), as autovacuum " +
      "would do after such a load); that server is disposed, and count to 100 turns on demo:0 are timed over HTTP by fresh " +
      "child processes started over the world's data (a server, client worker and world client of their own; never the process " +
      "that filled it: a million writes change a process's heap, caches and optimized code), one per size per round, the sizes " +
      "in rotated order so that a change in the machine's load meets every size alike; each process runs untimed warm-up turns " +
      "first (a fresh process's first turns are slower; warmUpTurn shows by how much). Medians of all timed turns of a size; " +
      "firstByteMs = POST sent → first body bytes; runMs from the world's records; processCpuMsPerTurn = the measuring " +
      "process's CPU time per turn (server thread and client worker; less sensitive than wall time to other work on the " +
      "machine); serverHeapUsedMB = its heapUsed right before its timed turns. A size whose fill the measured rate projects " +
      "beyond 8 minutes is skipped; it runs last in a world",
    "one process: Tether, PGlite (local world) or the postgres.js/pg pools (Postgres world), the SDK's queue and the " +
      "steps share the main thread; the HTTP clients run in a worker thread; compare ratios more than absolute numbers",
  ];
}

/** Observations derived from this run's numbers. */
function findingNotes(worlds: Partial<Record<WorldKind, WorldSection>>): string[] {
  const found: string[] = [];
  for (const [kind, section] of Object.entries(worlds)) {
    const fast = section.chunkLatency?.fastModel;
    if (fast && fast.durable.msPerEvent > 5 * fast.classic.msPerEvent) {
      found.push(
        `[${kind}] a fast model's chunks cross a durable round at ${fast.durable.msPerEvent} ms each (classic ` +
          `${fast.classic.msPerEvent} ms): every chunk is an awaited write to the world`,
      );
    }
    const approval = section.approvalLatency;
    const lag = approval?.breakdown.writtenToSeenByReaderMs;
    if (lag?.p50 !== null && lag?.p50 !== undefined && lag.p50 > 50) {
      found.push(
        `[${kind}] after an approval the first round-1 chunk is in the world ${approval!.breakdown.postToFirstRoundOneChunkWrittenMs.p50} ms ` +
          `(median) after the POST, and reaches the execution-stream reader ${lag.p50} ms later (p95 ${lag.p95}): ` +
          "readWholeRun polls the execution row every 500 ms before it opens the next round",
      );
    }
  }
  return found;
}

/** JSON.stringify(value, null, 2), except that anything fitting on one line of ~120 characters stays on one. */
function formatJson(value: unknown, indent = ""): string {
  const oneLine = JSON.stringify(value) ?? "null";
  if (value === null || typeof value !== "object" || indent.length + oneLine.length <= 120) return oneLine;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((item) => inner + formatJson(item ?? null, inner)).join(",\n")}\n${indent}]`;
  const fields = Object.entries(value).filter(([, field]) => field !== undefined);
  return `{\n${fields.map(([key, field]) => `${inner}${JSON.stringify(key)}: ${formatJson(field, inner)}`).join(",\n")}\n${indent}}`;
}

const benchStart = nowMs();

function emit(exitCode: number): never {
  results.durationMs = Math.round(nowMs() - benchStart);
  results.loadAverageAtEnd = os.loadavg().map(round2);
  results.correctnessFailures = failures.slice(0, 20);
  results.notes = notes;
  process.stdout.write(`${formatJson(results)}\n`);
  process.exit(exitCode);
}

/**
 * How long the whole run may take before the watchdog prints what it has: the budget of sections 1–4 (as
 * before) when any of them runs, plus, per world, each level's deadline with room to settle and the history
 * budget. Every wait inside a section is bounded on its own; this only catches what slips through.
 */
function watchdogMs(selection: Selection): number {
  const classicSections: SectionName[] = ["stepOverhead", "chunkLatency", "approvalLatency", "runLength"];
  const firstFour = classicSections.some((name) => selection.sections.has(name)) ? settings.deadlineMs : 0;
  const perLevelMs = settings.concurrency.deadlineMs + LEVEL_SETTLE_ALLOWANCE_MS;
  const concurrencyMs = selection.sections.has("concurrency") ? settings.concurrency.levels.length * perLevelMs : 0;
  const historyMs = selection.sections.has("history") ? settings.historyBudgetMs : 0;
  return firstFour + selection.worlds.length * (WORLD_SETUP_ALLOWANCE_MS + concurrencyMs + historyMs);
}
/** Per level: its server's start, the worker's grace, the wait for its runs to end, and its server's disposal. */
const LEVEL_SETTLE_ALLOWANCE_MS = 240_000;
/** Starting Tether on a world, and removing its data afterwards. */
const WORLD_SETUP_ALLOWANCE_MS = 120_000;

async function main() {
  const selection = parseSelection();
  results.sections = [...selection.sections];
  results.worldsSelected = selection.worlds;
  const budgetMs = watchdogMs(selection);
  const watchdog = setTimeout(() => {
    results.error = `ran out of time after ${budgetMs} ms`;
    try {
      results.summary = sideBySide(results.worlds as Partial<Record<WorldKind, WorldSection>>, selection);
    } catch {
      // a partial world: its sections are printed as they are
    }
    emit(2);
  }, budgetMs);
  log(`mode ${quick ? "quick" : "full"}; sections ${[...selection.sections].join(", ")}; worlds ${selection.worlds.join(", ")}`);
  log("building dist/ if stale and the bare workflow");
  const buildProblem = buildTetherIfStale();
  if (buildProblem) {
    notes.push(buildProblem);
    log(buildProblem);
  }
  const workflows = await compileBenchWorkflows();
  results.benchWorkflowsBuildMs = Math.round(workflows.bare.buildMs);
  const client = startDurableClientWorker();
  if (!selection.chosenWorlds && !process.env.TEST_DATABASE_URL) notes.push("TEST_DATABASE_URL is not set: the Postgres world was not measured");
  const worlds: Partial<Record<WorldKind, WorldSection>> = {};
  results.summary = undefined;
  results.worlds = worlds;
  try {
    for (const kind of selection.worlds) {
      const section: WorldSection = {
        world: kind,
        database: kind === "local" ? "PGlite (temp folder)" : "PostgreSQL (throwaway database)",
      };
      worlds[kind] = section;
      await benchWorld(kind, client, section, selection).catch((error: unknown) => {
        section.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
        failures.push(`[${kind}] ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  } finally {
    clearTimeout(watchdog);
    await client.terminate().catch(() => undefined);
    workflows.bare.dispose();
  }
  results.summary = sideBySide(worlds, selection);
  notes.push(...methodNotes(), ...findingNotes(worlds));
  emit(failures.length > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  results.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
  emit(1);
});
