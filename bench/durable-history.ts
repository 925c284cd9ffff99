/**
 * Section "history" of bench/durable.ts: whether the cost of one small durable turn grows with the stream
 * data the world already holds. Each size gets a world of its own (temp folder or throwaway database),
 * filled by this process straight through the world's stream API for made-up runs (streams of ~1000 chunks
 * of 100 bytes, named as the SDK names a round's stream). Its `count to 100` turns on demo:0 are then timed
 * over HTTP by fresh processes started over that world's data (this file run as a script: a server, a
 * client worker and a world client of their own), never by the process that did the filling, whose heap,
 * caches and optimized code a million writes have changed. The sizes take turns, a process each per round,
 * so that a change in the load of the machine meets every size alike. The filled worlds stay until the end
 * of the section, so it is the last section of a world.
 *
 * As a process of its own: `<node + tsx> bench/durable-history.ts <MeasuringRequest as JSON>`; prints one
 * line on stdout, PROCESS_RESULT_MARK + JSON (ProcessOutput); progress goes to stderr.
 */
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { monotonicFactory } from "ulid";
import { getWorld } from "workflow/runtime";
import type { TimedStream } from "./durable-client";
import {
  createBenchWorldData,
  log,
  median,
  nowMs,
  round2,
  roundStreamSuffix,
  startDurableBenchServer,
  startDurableClientWorker,
  startStallMonitor,
  summary,
  waitForRun,
  withTimeout,
  type BenchWorldData,
  type DurableBenchServer,
  type DurableSectionContext,
  type WorldKind,
} from "./durable-support";

export interface HistorySettings {
  /** Stored chunks at which the turn is measured, ascending. */
  sizes: number[];
  /** Measuring processes per size: each round starts one per size, the sizes in a rotated order. */
  rounds: number;
  /** Untimed turns first in each measuring process: a fresh process runs its first turns slower (its code is not optimized yet). */
  warmUpTurns: number;
  /** Timed turns per measuring process. */
  turnsPerProcess: number;
  turnTimeoutMs: number;
}

/** What the section needs of the bench around it. */
export interface HistoryBench {
  kind: WorldKind;
  /** Creates the bench's agents on the first server over a new world. */
  createAgents(server: DurableBenchServer): Promise<void>;
  /** Records a correctness problem (a wrong answer, a failed run). */
  fail(problem: string): void;
}

const CHUNKS_PER_STREAM = 1000;
const CHUNK_BYTES = 100;
/** The fill rate is measured on this many chunks before a size is committed to. */
const PROBE_CHUNKS = 10_000;
/** A size whose fill is projected to take longer is skipped. */
const FILL_BUDGET_MS = 8 * 60_000;
/** A fill slower than its projection stops here, and the turn is measured at the size reached. */
const FILL_LIMIT_MS = 12 * 60_000;
const STREAMS_IN_FLIGHT = 4;
const FILL_PROGRESS_EVERY = 100_000;
const COUNT = 100;
const PROMPT = `count to ${COUNT}`;
const EXPECTED_TEXT = Array.from({ length: COUNT }, (_, index) => String(index + 1)).join(" ");
/** Removing a server is bounded too: a world still busy with runs may not let go. */
const DISPOSE_TIMEOUT_MS = 60_000;
/** Beyond its turns' timeouts, a measuring process gets this long for its start, its server's and its disposal. */
const PROCESS_ALLOWANCE_MS = 240_000;
/** The prefix of the one stdout line that carries a measuring process's result. */
const PROCESS_RESULT_MARK = "history-process-result ";
const ENTRY = fileURLToPath(import.meta.url);

/** The stream half of the world's interface (the SDK's World type keeps it internal). */
interface WorldStreams {
  writeToStream(name: string, runId: string, chunk: Uint8Array): Promise<void>;
  writeToStreamMulti?(name: string, runId: string, chunks: Uint8Array[]): Promise<void>;
  closeStream(name: string, runId: string): Promise<void>;
}

const nextUlid = monotonicFactory();
/** Printable bytes, about the size of a small serialized UI message chunk. */
const FILLER_CHUNK = new Uint8Array(CHUNK_BYTES).fill("x".charCodeAt(0));

const heapUsedMb = () => round2(process.memoryUsage().heapUsed / (1024 * 1024));

/** A world filled for one size, and where its data is. */
interface FilledWorld {
  size: number;
  data: BenchWorldData & { remove(): Promise<void> };
  storedChunks: number;
  fill: FillReport | undefined;
}

type SkippedSize = { storedChunks: number; skipped: string };
type MeasuredSize = { storedChunks: number; fill?: FillReport } & ReturnType<typeof summarizeSize>;
type SizeResult = SkippedSize | MeasuredSize;

export async function history(bench: HistoryBench, settings: HistorySettings, agentId: string) {
  const { kind } = bench;
  const rate: FillRate = { chunksPerSecond: undefined };
  const worlds: FilledWorld[] = [];
  const sizes: Record<string, SizeResult> = {};
  const outputs: ProcessOutput[] = [];
  try {
    for (const size of settings.sizes) {
      const filled = await fillWorld(bench, size, rate);
      if ("skipped" in filled) {
        sizes[String(size)] = filled;
        log(`[${kind}] history: ${size} chunks skipped: the ${filled.skipped}`);
      } else {
        worlds.push(filled);
      }
    }
    const measured = new Map<FilledWorld, ProcessResult[]>(worlds.map((world) => [world, []]));
    for (let round = 0; round < settings.rounds; round++) {
      // Rotated, so that no size is always the first (or the last) to run after the others.
      const order = worlds.map((_, index) => worlds[(index + round) % worlds.length]!);
      for (const world of order) {
        const results = measured.get(world)!;
        // A size whose turns stopped (a timeout) is not timed again: its next process would wait as long.
        if (results.some((result) => "output" in result && result.output.stoppedBy)) continue;
        log(`[${kind}] history: round ${round + 1}/${settings.rounds}, ${world.storedChunks} chunks: a measuring process`);
        const result = await measureInProcess(kind, world.data, agentId, settings, round);
        if ("output" in result) {
          outputs.push(result.output);
          for (const problem of result.output.failures) bench.fail(problem);
        } else bench.fail(`[${kind}] history ${world.storedChunks} chunks, round ${round + 1}: ${result.processError}`);
        results.push(result);
      }
    }
    for (const world of worlds) {
      const result = summarizeSize(measured.get(world)!);
      sizes[String(world.size)] = { storedChunks: world.storedChunks, fill: world.fill, ...result };
      log(`[${kind}] history: ${world.storedChunks} chunks: turn ${result.turnWallMs} ms (median of ${result.turns}), server heap ${result.serverHeapUsedMB} MB`);
    }
  } finally {
    for (const world of worlds) await world.data.remove().catch((error: unknown) => log(`[${kind}] history: removing a world: ${String(error)}`));
  }
  const firstWarmUps = outputs.flatMap((output) => output.warmUpWallMs.slice(0, 1));
  const lastWarmUps = outputs.flatMap((output) => output.warmUpWallMs.slice(-1));
  return {
    what:
      `a durable turn (${PROMPT} on demo:0, POST /api/chat read to [DONE] by the client worker, then its run awaited) after the ` +
      `world holds n stored stream chunks of made-up runs; each size on a world of its own, its turns timed by ${settings.rounds} ` +
      `fresh processes (a server, client worker and world client started over that world's data; never the process that filled ` +
      `it), one per round with the sizes in rotated order, each ${settings.warmUpTurns} untimed turns then ${settings.turnsPerProcess} ` +
      `timed; medians of all timed turns of a size; processCpuMsPerTurn = CPU time of the measuring process (server thread and ` +
      `client worker) per turn; serverHeapUsedMB = its heapUsed right before its timed turns`,
    fillMethod:
      `world.writeToStreamMulti (writeToStream where absent) then closeStream, ${CHUNKS_PER_STREAM} chunks of ${CHUNK_BYTES} bytes ` +
      `per stream, ${STREAMS_IN_FLIGHT} streams at a time, by the bench process on a server of its own over the size's world; ` +
      `run wrun_<ulid>, stream strm_<same ulid>${roundStreamSuffix(0)} (namespace r0); on PostgreSQL then VACUUM (ANALYZE) of ` +
      `the database (vacuumMs), as autovacuum would do after such a load; the rate is measured on the first ${PROBE_CHUNKS} ` +
      `chunks, and a size projected to take over ${FILL_BUDGET_MS / 1000} s is skipped`,
    warmUpTurn: { wallMs: medianOrNull(firstWarmUps), lastWallMs: medianOrNull(lastWarmUps), processes: firstWarmUps.length },
    sizes,
    growth: growthOf(sizes),
    serverStartupMs: medianOrNull(outputs.map((output) => output.serverStartupMs)),
    serverDisposeMs: medianOrNull(outputs.map((output) => output.serverDisposeMs)),
  };
}

const medianOrNull = (values: number[]) => (values.length ? round2(median(values)) : null);

// ---------------------------------------------------------------------------------------------------------
// Filling

interface Fill {
  chunks: number;
  ms: number;
  chunksPerSecond: number;
  stoppedEarly?: true;
}

type FillReport = Fill & {
  probe?: Fill;
  /** The filling process's heapUsed before and after the fill (what the measuring processes are spared). */
  fillerHeapUsedMB: { before: number; after: number };
  vacuumMs?: number;
};

/** The fill rate measured last (by the first fill, on PROBE_CHUNKS, before any size is committed to). */
interface FillRate {
  chunksPerSecond: number | undefined;
}

/** A new world for `size`, filled on a server of this process that is disposed before anyone measures. */
async function fillWorld(bench: HistoryBench, size: number, rate: FillRate): Promise<FilledWorld | SkippedSize> {
  const { kind } = bench;
  const data = await createBenchWorldData(kind);
  try {
    const server = await startDurableBenchServer(kind, [], data);
    let reached: Awaited<ReturnType<typeof fillTo>>;
    try {
      // A million world writes would each be timestamped (and kept) by the chunk-latency instruments otherwise.
      server.instruments.recording = false;
      await bench.createAgents(server);
      reached = await fillTo(getWorld() as unknown as WorldStreams, kind, size, rate);
    } finally {
      await withTimeout(server.dispose(), DISPOSE_TIMEOUT_MS, `disposing the ${kind} world`).catch((error: unknown) =>
        log(`[${kind}] history: dispose failed: ${String(error)}`),
      );
    }
    if ("skipped" in reached) {
      await data.remove();
      return reached;
    }
    const fill = reached.fill && data.databaseUrl ? { ...reached.fill, vacuumMs: await vacuumAnalyze(data.databaseUrl) } : reached.fill;
    log(`[${kind}] history: a world of ${reached.storedChunks} chunks${fill ? ` (filled at ${fill.chunksPerSecond} chunks/s)` : ""}`);
    return { size, data, storedChunks: reached.storedChunks, fill };
  } catch (error) {
    await data.remove().catch(() => undefined);
    throw error;
  }
}

/**
 * Fills an empty world with `size` chunks: the first fill of the section measures the rate on PROBE_CHUNKS,
 * and a size the rate projects beyond FILL_BUDGET_MS is skipped.
 */
async function fillTo(
  world: WorldStreams,
  kind: string,
  size: number,
  rate: FillRate,
): Promise<{ storedChunks: number; fill: FillReport | undefined } | SkippedSize> {
  if (size === 0) return { storedChunks: 0, fill: undefined };
  const heapBefore = heapUsedMb();
  let stored = 0;
  let probe: Fill | undefined;
  if (rate.chunksPerSecond === undefined) {
    probe = await fillChunks(world, kind, Math.min(PROBE_CHUNKS, size));
    stored += probe.chunks;
    rate.chunksPerSecond = probe.chunksPerSecond;
  }
  const projectedMs = ((size - stored) / rate.chunksPerSecond) * 1000;
  if (projectedMs > FILL_BUDGET_MS) return { storedChunks: stored, skipped: `fill would take ${Math.round(projectedMs / 1000)} s` };
  const rest = size > stored ? await fillChunks(world, kind, size - stored) : undefined;
  if (rest && rest.chunks > 0) rate.chunksPerSecond = rest.chunksPerSecond;
  stored += rest?.chunks ?? 0;
  return { storedChunks: stored, fill: { ...combineFills(probe, rest), fillerHeapUsedMB: { before: heapBefore, after: heapUsedMb() } } };
}

async function fillChunks(world: WorldStreams, kind: string, chunks: number): Promise<Fill> {
  const started = nowMs();
  let written = 0;
  let nextProgress = FILL_PROGRESS_EVERY;
  while (written < chunks && nowMs() - started < FILL_LIMIT_MS) {
    const batch: Promise<void>[] = [];
    for (let stream = 0; stream < STREAMS_IN_FLIGHT && written < chunks; stream++) {
      const size = Math.min(CHUNKS_PER_STREAM, chunks - written);
      batch.push(writeMadeUpStream(world, size));
      written += size;
    }
    await Promise.all(batch);
    if (written >= nextProgress) {
      log(`[${kind}] history: filled ${written}/${chunks} chunks in ${Math.round((nowMs() - started) / 1000)} s`);
      nextProgress += FILL_PROGRESS_EVERY;
    }
  }
  const ms = nowMs() - started;
  return { chunks: written, ms: round2(ms), chunksPerSecond: Math.round(written / (ms / 1000)), ...(written < chunks ? { stoppedEarly: true as const } : {}) };
}

/** One closed stream of a run that never existed, named as the SDK names round r0 of a real one. */
async function writeMadeUpStream(world: WorldStreams, chunks: number) {
  const id = nextUlid();
  const runId = `wrun_${id}`;
  const name = `strm_${id}${roundStreamSuffix(0)}`;
  const payload = Array.from({ length: chunks }, () => FILLER_CHUNK);
  if (world.writeToStreamMulti) await world.writeToStreamMulti(name, runId, payload);
  else for (const chunk of payload) await world.writeToStream(name, runId, chunk);
  await world.closeStream(name, runId);
}

function combineFills(probe: Fill | undefined, rest: Fill | undefined): Fill & { probe?: Fill } {
  if (!probe || !rest) return (probe ?? rest)!;
  const chunks = probe.chunks + rest.chunks;
  const ms = round2(probe.ms + rest.ms);
  return { chunks, ms, chunksPerSecond: Math.round(chunks / (ms / 1000)), ...(rest.stoppedEarly ? { stoppedEarly: true } : {}), probe };
}

/**
 * Statistics and the visibility map for the rows just loaded, as autovacuum gives a table after a bulk load
 * (a server with autovacuum on would otherwise do it at some moment of the measurement, beside the turns).
 */
async function vacuumAnalyze(databaseUrl: string): Promise<number> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const started = nowMs();
  try {
    await sql.unsafe("vacuum (analyze)");
    return Math.round(nowMs() - started);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Measuring processes

/** What a measuring process is asked to do (its one argument, as JSON). */
interface MeasuringRequest {
  data: BenchWorldData;
  agentId: string;
  warmUpTurns: number;
  turns: number;
  turnTimeoutMs: number;
}

interface TurnTiming {
  wallMs: number;
  firstByteMs: number;
  postAnsweredMs: number;
  runMs: number;
  /** CPU time of the whole process (server thread and client worker) during the turn. */
  processCpuMs: number;
}

/** What a measuring process prints (after PROCESS_RESULT_MARK, as JSON). */
interface ProcessOutput {
  timings: TurnTiming[];
  warmUpWallMs: number[];
  wrongAnswers: string[];
  stoppedBy?: string;
  /** heapUsed of the measuring process right before its timed turns, and right after them. */
  heapUsedMB: { beforeTurns: number; afterTurns: number };
  eventLoopStallMs: { p99Ms: number; maxMs: number };
  loadAverage1m: number;
  serverStartupMs: number;
  serverDisposeMs: number;
  failures: string[];
}

type ProcessResult = { round: number; output: ProcessOutput } | { round: number; processError: string };

/** Runs a measuring process over `data` (the same Node and tsx loader as this one); killed if it overstays. */
function measureInProcess(kind: WorldKind, data: BenchWorldData, agentId: string, settings: HistorySettings, round: number): Promise<ProcessResult> {
  const request: MeasuringRequest = {
    data: { kind: data.kind, dataDir: data.dataDir, databaseUrl: data.databaseUrl },
    agentId,
    warmUpTurns: settings.warmUpTurns,
    turns: settings.turnsPerProcess,
    turnTimeoutMs: settings.turnTimeoutMs,
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ENTRY, JSON.stringify(request)], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => (stdout += text));
    const limitMs = (settings.warmUpTurns + settings.turnsPerProcess) * settings.turnTimeoutMs + PROCESS_ALLOWANCE_MS;
    const timer = setTimeout(() => {
      log(`[${kind}] history: a measuring process overstayed ${limitMs} ms; killing it`);
      child.kill("SIGKILL");
    }, limitMs);
    // If the bench itself exits early (its watchdog), the measuring process goes with it.
    const killChild = () => child.kill("SIGKILL");
    process.once("exit", killChild);
    const settle = (result: ProcessResult) => {
      clearTimeout(timer);
      process.removeListener("exit", killChild);
      resolve(result);
    };
    child.on("error", (error) => settle({ round, processError: String(error) }));
    child.on("exit", (code, signal) => {
      const lines = stdout.split("\n");
      // Whatever else the child printed on stdout (the SDK's console.log) goes to our stderr with the progress.
      for (const line of lines) if (line && !line.startsWith(PROCESS_RESULT_MARK)) process.stderr.write(`${line}\n`);
      const marked = lines.find((line) => line.startsWith(PROCESS_RESULT_MARK));
      settle(
        marked
          ? { round, output: JSON.parse(marked.slice(PROCESS_RESULT_MARK.length)) as ProcessOutput }
          : { round, processError: `the measuring process ended (${signal ?? `exit ${code}`}) without a result` },
      );
    });
  });
}

/** In a measuring process: a server over the request's data, its warm-up and timed turns, then its disposal. */
async function measuringProcess(request: MeasuringRequest): Promise<ProcessOutput> {
  const { kind } = request.data;
  const failures: string[] = [];
  let counter = 0;
  const client = startDurableClientWorker();
  const server = await startDurableBenchServer(kind, [], request.data);
  let turns: Awaited<ReturnType<typeof runTurns>>;
  const disposing = { at: 0 };
  try {
    server.instruments.recording = false;
    const context: DurableSectionContext = {
      server,
      client,
      fail: (problem) => failures.push(problem),
      uniqueId: (prefix) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`,
      waitForRun,
    };
    turns = await runTurns(context, request);
  } finally {
    disposing.at = nowMs();
    await withTimeout(server.dispose(), DISPOSE_TIMEOUT_MS, `disposing the ${kind} world`).catch((error: unknown) =>
      log(`[${kind}] history: dispose failed: ${String(error)}`),
    );
    await client.terminate().catch(() => undefined);
  }
  return {
    ...turns,
    loadAverage1m: round2(os.loadavg()[0]!),
    serverStartupMs: Math.round(server.startupMs),
    serverDisposeMs: Math.round(nowMs() - disposing.at),
    failures,
  };
}

async function runTurns(context: DurableSectionContext, request: MeasuringRequest) {
  const warmUpWallMs: number[] = [];
  const timings: TurnTiming[] = [];
  const wrongAnswers: string[] = [];
  let stoppedBy: string | undefined;
  for (let turn = 0; turn < request.warmUpTurns && !stoppedBy; turn++) {
    const outcome = await timedTurn(context, request.agentId, request.turnTimeoutMs);
    if ("timing" in outcome) warmUpWallMs.push(round2(outcome.timing.wallMs));
    else if ("stoppedBy" in outcome) stoppedBy = outcome.stoppedBy;
  }
  const beforeTurns = heapUsedMb();
  const stalls = startStallMonitor();
  for (let turn = 0; turn < request.turns && !stoppedBy; turn++) {
    const outcome = await timedTurn(context, request.agentId, request.turnTimeoutMs);
    if ("timing" in outcome) timings.push(outcome.timing);
    else if ("wrongAnswer" in outcome) wrongAnswers.push(outcome.wrongAnswer);
    else stoppedBy = outcome.stoppedBy;
  }
  return {
    timings,
    warmUpWallMs,
    wrongAnswers,
    ...(stoppedBy ? { stoppedBy } : {}),
    heapUsedMB: { beforeTurns, afterTurns: heapUsedMb() },
    eventLoopStallMs: stalls.stop(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Timing the turn

/** A timed turn; or a wrong answer (not timed, the next turn goes on); or why the process's turns stop here. */
type TurnOutcome = { timing: TurnTiming } | { wrongAnswer: string } | { stoppedBy: string };

async function timedTurn(context: DurableSectionContext, agentId: string, timeoutMs: number): Promise<TurnOutcome> {
  const { server, client } = context;
  const cpuAtStart = process.cpuUsage();
  let stream: TimedStream;
  try {
    stream = await client.call("chat", { baseUrl: server.url, conversationId: context.uniqueId("history"), agentId, text: PROMPT, timeoutMs });
  } catch (error) {
    const reason = String(error).split("\n")[0]!;
    if (!/timeout|aborted/i.test(reason)) context.fail(`[${server.kind}] history turn: ${reason}`);
    log(`[${server.kind}] history: a turn stopped: ${reason}`);
    return { stoppedBy: reason.includes("TimeoutError") ? `no [DONE] within ${timeoutMs} ms` : reason };
  }
  if (!stream.executionId) {
    context.fail(`[${server.kind}] history turn: answered ${stream.status} without naming an execution`);
    return { stoppedBy: `HTTP ${stream.status} without an x-execution-id header` };
  }
  const execution = await server.tether.repositories.executions.get(stream.executionId);
  // Awaited whatever the answer was, so that turns never overlap.
  const run = await context.waitForRun(execution.workflowRunId!).catch((error: unknown) => String(error));
  const cpu = process.cpuUsage(cpuAtStart);
  if (typeof run === "string") return { stoppedBy: run };
  if (run.status !== "completed") context.fail(`[${server.kind}] history turn: run ended ${run.status}`);
  const problem = answerProblem(stream);
  if (problem) {
    context.fail(`[${server.kind}] history turn (${stream.executionId}, its run ${run.status} after ${run.runMs} ms): ${problem}`);
    return { wrongAnswer: problem };
  }
  return {
    timing: {
      wallMs: stream.endedAt - stream.startedAt,
      firstByteMs: (stream.firstByteAt ?? stream.endedAt) - stream.startedAt,
      postAnsweredMs: stream.headersAt - stream.startedAt,
      runMs: run.runMs,
      processCpuMs: (cpu.user + cpu.system) / 1000,
    },
  };
}

/** What is wrong with a turn's response, with the shape of what came instead; undefined when it is right. */
function answerProblem(stream: TimedStream): string | undefined {
  const text = stream.events.flatMap((event) => (event.delta === undefined ? [] : [event.delta])).join("");
  if (stream.status === 200 && stream.done && text === EXPECTED_TEXT) return undefined;
  const types = stream.events.map((event) => event.type);
  const terminal = stream.events.find((event) => event.terminalReason !== undefined)?.terminalReason;
  return (
    `status ${stream.status}, [DONE] ${stream.done}, terminal ${terminal ?? "none"}, text starts ${JSON.stringify(text.slice(0, 20))}, ` +
    `${types.length} events in ${round2(stream.endedAt - stream.startedAt)} ms (${[...new Set(types)].join(", ")})`
  );
}

// ---------------------------------------------------------------------------------------------------------
// Results

/** A size's timed turns from all its measuring processes, and each process on its own. */
function summarizeSize(results: ProcessResult[]) {
  const outputs = results.flatMap((result) => ("output" in result ? [result.output] : []));
  const timings = outputs.flatMap((output) => output.timings);
  const medianOf = (pick: (timing: TurnTiming) => number) => (timings.length ? round2(median(timings.map(pick))) : null);
  const wrongAnswers = outputs.flatMap((output) => output.wrongAnswers);
  const stoppedBy = outputs.find((output) => output.stoppedBy)?.stoppedBy;
  const measured = outputs.filter((output) => output.timings.length > 0);
  return {
    turns: timings.length,
    turnWallMs: medianOf((timing) => timing.wallMs),
    firstByteMs: medianOf((timing) => timing.firstByteMs),
    postAnsweredMs: medianOf((timing) => timing.postAnsweredMs),
    runMs: medianOf((timing) => timing.runMs),
    wallSpreadMs: summary(timings.map((timing) => timing.wallMs)),
    processCpuMsPerTurn: medianOf((timing) => timing.processCpuMs),
    serverHeapUsedMB: medianOrNull(measured.map((output) => output.heapUsedMB.beforeTurns)),
    eventLoopStallMs: {
      p99Ms: outputs.length ? Math.max(...outputs.map((output) => output.eventLoopStallMs.p99Ms)) : null,
      maxMs: outputs.length ? Math.max(...outputs.map((output) => output.eventLoopStallMs.maxMs)) : null,
    },
    ...(wrongAnswers.length ? { wrongAnswers } : {}),
    ...(stoppedBy ? { stoppedBy } : {}),
    processes: results.map((result) => ("processError" in result ? result : describeProcess(result.round, result.output))),
  };
}

function describeProcess(round: number, output: ProcessOutput) {
  const medianOf = (pick: (timing: TurnTiming) => number) => (output.timings.length ? round2(median(output.timings.map(pick))) : null);
  return {
    round,
    turns: output.timings.length,
    turnWallMs: medianOf((timing) => timing.wallMs),
    processCpuMsPerTurn: medianOf((timing) => timing.processCpuMs),
    heapUsedMB: output.heapUsedMB,
    warmUpWallMs: output.warmUpWallMs,
    loadAverage1m: output.loadAverage1m,
    serverStartupMs: output.serverStartupMs,
    serverDisposeMs: output.serverDisposeMs,
  };
}

/** The largest measured size against the empty world. */
function growthOf(sizes: Record<string, SizeResult>) {
  const measured = Object.values(sizes).filter((size): size is MeasuredSize => !("skipped" in size) && size.turns > 0);
  const empty = measured.find((size) => size.storedChunks === 0);
  const largest = measured.at(-1);
  if (!empty || !largest || largest === empty) return undefined;
  const ratio = (pick: (size: MeasuredSize) => number | null) => {
    const [at, base] = [pick(largest), pick(empty)];
    return at !== null && base !== null ? round2(at / base) : null;
  };
  return {
    largestStoredChunks: largest.storedChunks,
    turnWallRatio: ratio((size) => size.turnWallMs),
    firstByteRatio: ratio((size) => size.firstByteMs),
    runMsRatio: ratio((size) => size.runMs),
    processCpuRatio: ratio((size) => size.processCpuMsPerTurn),
  };
}

// ---------------------------------------------------------------------------------------------------------
// As a measuring process

async function main() {
  const request = JSON.parse(process.argv[2] ?? "") as MeasuringRequest;
  const output = await measuringProcess(request);
  await new Promise<void>((resolve) => process.stdout.write(`${PROCESS_RESULT_MARK}${JSON.stringify(output)}\n`, () => resolve()));
}

if (process.argv[1] && path.resolve(process.argv[1]) === ENTRY) {
  main().then(
    // Exiting ends whatever the measured runs left going (and the client worker).
    () => process.exit(0),
    (error: unknown) => {
      log(`history measuring process failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
