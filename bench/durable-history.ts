/**
 * Section "history" of bench/durable.ts: how the cost of one small durable turn grows with the stream data
 * the world already holds. The history is written straight through the world's stream API for made-up
 * runs (streams of ~1000 chunks of 100 bytes, named as the SDK names a round's stream), then a `count to
 * 100` turn on demo:0 is timed over HTTP at each size. It leaves a big data folder (or table) behind, so it
 * is the last section of a world.
 */
import { monotonicFactory } from "ulid";
import { getWorld } from "workflow/runtime";
import type { TimedStream } from "./durable-client";
import {
  log,
  median,
  nowMs,
  round2,
  roundStreamSuffix,
  startStallMonitor,
  summary,
  type DurableSectionContext,
} from "./durable-support";

export interface HistorySettings {
  /** Stored chunks at which the turn is measured, ascending. */
  sizes: number[];
  turnsPerSize: number;
  turnTimeoutMs: number;
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

/** The stream half of the world's interface (the SDK's World type keeps it internal). */
interface WorldStreams {
  writeToStream(name: string, runId: string, chunk: Uint8Array): Promise<void>;
  writeToStreamMulti?(name: string, runId: string, chunks: Uint8Array[]): Promise<void>;
  closeStream(name: string, runId: string): Promise<void>;
}

const nextUlid = monotonicFactory();
/** Printable bytes, about the size of a small serialized UI message chunk. */
const FILLER_CHUNK = new Uint8Array(CHUNK_BYTES).fill("x".charCodeAt(0));

export async function history(context: DurableSectionContext, settings: HistorySettings, agentId: string) {
  const { instruments } = context.server;
  // A million world writes would each be timestamped (and kept) by the chunk-latency instruments otherwise.
  instruments.recording = false;
  try {
    return await measureHistory(context, settings, agentId);
  } finally {
    instruments.recording = true;
  }
}

type MeasuredSize = { storedChunks: number; fill?: Fill } & Awaited<ReturnType<typeof measureTurns>>;
type SizeResult = { storedChunks: number; skipped: string } | MeasuredSize;

async function measureHistory(context: DurableSectionContext, settings: HistorySettings, agentId: string) {
  const kind = context.server.kind;
  log(`[${kind}] history: warm-up turn`);
  // Not counted; its time shows whether the fresh server was still settling in.
  const warmUp = await timedTurn(context, agentId, settings.turnTimeoutMs);
  const store: StoreState = { world: getWorld() as unknown as WorldStreams, kind, stored: 0, chunksPerSecond: undefined };
  const sizes: Record<string, SizeResult> = {};
  for (const size of settings.sizes) {
    const reached = await fillTo(store, size);
    if ("skipped" in reached) {
      sizes[String(size)] = { storedChunks: store.stored, skipped: reached.skipped };
      log(`[${kind}] history: ${size} chunks skipped (${store.stored} stored): the ${reached.skipped}`);
      continue;
    }
    const { fill } = reached;
    log(`[${kind}] history: ${store.stored} chunks stored${fill ? ` (filled at ${fill.chunksPerSecond} chunks/s)` : ""}; timing ${settings.turnsPerSize} turns`);
    sizes[String(size)] = { storedChunks: store.stored, fill, ...(await measureTurns(context, agentId, settings)) };
  }
  return {
    what:
      `a durable turn (${PROMPT} on demo:0, POST /api/chat read to [DONE] by the client worker, then its run awaited), ` +
      `median of ${settings.turnsPerSize}, after the world holds n stored stream chunks of made-up runs`,
    fillMethod:
      `world.writeToStreamMulti (writeToStream where absent) then closeStream, ${CHUNKS_PER_STREAM} chunks of ${CHUNK_BYTES} bytes ` +
      `per stream, ${STREAMS_IN_FLIGHT} streams at a time; run wrun_<ulid>, stream strm_<same ulid>${roundStreamSuffix(0)} (namespace r0); ` +
      `the rate is measured on the first ${PROBE_CHUNKS} chunks, and a size projected to take over ${FILL_BUDGET_MS / 1000} s is skipped`,
    warmUpTurn: "timing" in warmUp ? { wallMs: round2(warmUp.timing.wallMs) } : warmUp,
    sizes,
    growth: growthOf(sizes),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Filling

interface Fill {
  chunks: number;
  ms: number;
  chunksPerSecond: number;
  stoppedEarly?: true;
}

/** The world being filled, how much it holds, and the fill rate measured last. */
interface StoreState {
  world: WorldStreams;
  kind: string;
  stored: number;
  chunksPerSecond: number | undefined;
}

/**
 * Fills the world up to `size` chunks: the first fill measures the rate on PROBE_CHUNKS, and a size the rate
 * projects beyond FILL_BUDGET_MS is skipped (the world keeps what it holds).
 */
async function fillTo(store: StoreState, size: number): Promise<{ fill: ReturnType<typeof combineFills> } | { skipped: string }> {
  let probe: Fill | undefined;
  if (size > store.stored && store.chunksPerSecond === undefined) {
    probe = await fillChunks(store.world, store.kind, Math.min(PROBE_CHUNKS, size - store.stored));
    store.stored += probe.chunks;
    store.chunksPerSecond = probe.chunksPerSecond;
  }
  const projectedMs = store.chunksPerSecond ? ((size - store.stored) / store.chunksPerSecond) * 1000 : 0;
  if (projectedMs > FILL_BUDGET_MS) return { skipped: `fill would take ${Math.round(projectedMs / 1000)} s` };
  const rest = size > store.stored ? await fillChunks(store.world, store.kind, size - store.stored) : undefined;
  if (rest && rest.chunks > 0) store.chunksPerSecond = rest.chunksPerSecond;
  store.stored += rest?.chunks ?? 0;
  return { fill: combineFills(probe, rest) };
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

function combineFills(probe: Fill | undefined, rest: Fill | undefined): (Fill & { probe?: Fill }) | undefined {
  if (!probe) return rest;
  if (!rest) return probe;
  const chunks = probe.chunks + rest.chunks;
  const ms = round2(probe.ms + rest.ms);
  return { chunks, ms, chunksPerSecond: Math.round(chunks / (ms / 1000)), ...(rest.stoppedEarly ? { stoppedEarly: true } : {}), probe };
}

// ---------------------------------------------------------------------------------------------------------
// Timing the turn

interface TurnTiming {
  wallMs: number;
  firstByteMs: number;
  postAnsweredMs: number;
  runMs: number;
}

async function measureTurns(context: DurableSectionContext, agentId: string, settings: HistorySettings) {
  const timings: TurnTiming[] = [];
  const wrongAnswers: string[] = [];
  let stoppedBy: string | undefined;
  const stalls = startStallMonitor();
  for (let turn = 0; turn < settings.turnsPerSize && !stoppedBy; turn++) {
    const outcome = await timedTurn(context, agentId, settings.turnTimeoutMs);
    if ("timing" in outcome) timings.push(outcome.timing);
    else if ("wrongAnswer" in outcome) wrongAnswers.push(outcome.wrongAnswer);
    else stoppedBy = outcome.stoppedBy;
  }
  const eventLoopStallMs = stalls.stop();
  const medianOf = (pick: (timing: TurnTiming) => number) => (timings.length ? round2(median(timings.map(pick))) : null);
  return {
    turns: timings.length,
    turnWallMs: medianOf((timing) => timing.wallMs),
    firstByteMs: medianOf((timing) => timing.firstByteMs),
    postAnsweredMs: medianOf((timing) => timing.postAnsweredMs),
    runMs: medianOf((timing) => timing.runMs),
    wallSpreadMs: summary(timings.map((timing) => timing.wallMs)),
    eventLoopStallMs,
    ...(wrongAnswers.length ? { wrongAnswers } : {}),
    ...(stoppedBy ? { stoppedBy } : {}),
  };
}

/** A timed turn; or a wrong answer (not timed, the next turn goes on); or why the size's turns stop here. */
type TurnOutcome = { timing: TurnTiming } | { wrongAnswer: string } | { stoppedBy: string };

async function timedTurn(context: DurableSectionContext, agentId: string, timeoutMs: number): Promise<TurnOutcome> {
  const { server, client } = context;
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
  };
}
