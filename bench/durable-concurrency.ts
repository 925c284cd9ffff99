/**
 * Section "concurrency" of bench/durable.ts: N durable chat turns POSTed at once through POST /api/chat by
 * the client worker, each `count to 600` on demo:4 and read to its end. Per N: the wall time until all are
 * done, per-turn walls, errors by kind, and the longest event-loop stall of the server's thread meanwhile.
 * Each N has a deadline, and runs in a child process of its own (./durable-concurrency-level.ts) with a fresh
 * server and world: the runs a timed-out level leaves going would otherwise load whatever is measured next
 * in this process, even once their world is closed.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ConcurrentTurn } from "./durable-client";
import {
  log,
  nowMs,
  round2,
  sleep,
  startStallMonitor,
  summary,
  withTimeout,
  type DurableSectionContext,
  type WorldKind,
} from "./durable-support";

export const CONCURRENT_AGENT = "bench-durable-4";
export const CONCURRENT_MODEL = "demo:4";
const COUNT = 600;
const PROMPT = `count to ${COUNT}`;
const EXPECTED_TEXT = Array.from({ length: COUNT }, (_, index) => String(index + 1)).join(" ");
/** The worker aborts at the deadline itself; the main thread gives up on the worker this much later. */
const WORKER_GRACE_MS = 30_000;
/** After a level: how long its runs may take to record their end (after a deadline: how long they get to catch up). */
const SETTLE_TIMEOUT_MS = 60_000;
const SETTLE_AFTER_DEADLINE_MS = 10_000;
const SETTLE_POLL_MS = 250;
const RUNNING_LIST_LIMIT = 1000;
/** Beyond the level's deadline: the child's start, its server's, the worker's grace, the settle and the disposal. */
const CHILD_ALLOWANCE_MS = 240_000;
const LEVEL_ENTRY = fileURLToPath(new URL("./durable-concurrency-level.ts", import.meta.url));
/** The prefix of the one stdout line that carries a level process's result. */
export const LEVEL_RESULT_MARK = "concurrency-level-result ";

export interface ConcurrencySettings {
  levels: number[];
  deadlineMs: number;
}

export type LevelResult = Awaited<ReturnType<typeof concurrencyLevel>>;

/** What a level process prints (after LEVEL_RESULT_MARK, as JSON). */
export interface LevelProcessOutput {
  result: LevelResult;
  failures: string[];
  serverStartupMs: number;
  serverDisposeMs: number;
}

type MeasuredLevel = LevelResult & { serverStartupMs: number; serverDisposeMs: number; processMs: number };
/** A level whose process failed or was killed: recorded, and the next level goes on. */
type FailedLevel = { turns: number; processError: string; processMs: number };

export async function concurrency(kind: WorldKind, settings: ConcurrencySettings, fail: (problem: string) => void) {
  const levels: Record<string, MeasuredLevel | FailedLevel> = {};
  for (const turns of settings.levels) {
    const started = nowMs();
    try {
      const output = await runLevelProcess(kind, turns, settings.deadlineMs);
      for (const problem of output.failures) fail(problem);
      levels[String(turns)] = {
        ...output.result,
        serverStartupMs: output.serverStartupMs,
        serverDisposeMs: output.serverDisposeMs,
        processMs: Math.round(nowMs() - started),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      fail(`[${kind}] concurrency ${turns}: ${message}`);
      levels[String(turns)] = { turns, processError: message, processMs: Math.round(nowMs() - started) };
    }
  }
  return {
    what:
      `N durable chat turns (${PROMPT} on ${CONCURRENT_MODEL}) POSTed in the same tick by the client worker, each read to ` +
      "its end; each N in a child process with a fresh server and world; wallMs = first POST sent → last response ended",
    deadlineMsPerLevel: settings.deadlineMs,
    levels,
  };
}

/** Runs one level in a child process (the same Node and tsx loader as this one); killed if it overstays. */
function runLevelProcess(kind: WorldKind, turns: number, deadlineMs: number): Promise<LevelProcessOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, LEVEL_ENTRY, kind, String(turns), String(deadlineMs)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => (stdout += text));
    const limitMs = deadlineMs + CHILD_ALLOWANCE_MS;
    const timer = setTimeout(() => {
      log(`[${kind}] concurrency ${turns}: the level's process overstayed ${limitMs} ms; killing it`);
      child.kill("SIGKILL");
    }, limitMs);
    // If the bench itself exits early (its watchdog), the level's process goes with it.
    const killChild = () => child.kill("SIGKILL");
    process.once("exit", killChild);
    const settle = () => {
      clearTimeout(timer);
      process.removeListener("exit", killChild);
    };
    child.on("error", (error) => {
      settle();
      reject(error);
    });
    child.on("exit", (code, signal) => {
      settle();
      const lines = stdout.split("\n");
      // Whatever else the child printed on stdout (the SDK's console.log) goes to our stderr with the progress.
      for (const line of lines) if (line && !line.startsWith(LEVEL_RESULT_MARK)) process.stderr.write(`${line}\n`);
      const marked = lines.find((line) => line.startsWith(LEVEL_RESULT_MARK));
      if (!marked) reject(new Error(`the process of concurrency level ${turns} ended (${signal ?? `exit ${code}`}) without a result`));
      else resolve(JSON.parse(marked.slice(LEVEL_RESULT_MARK.length)) as LevelProcessOutput);
    });
  });
}

/** What a level needs of the bench around it. */
export type LevelContext = Pick<DurableSectionContext, "server" | "client" | "fail" | "uniqueId">;

export async function concurrencyLevel(context: LevelContext, turns: number, deadlineMs: number) {
  const { server, client } = context;
  // Thousands of deltas per level: the chunk-latency instruments would only add work to the measured thread.
  server.instruments.recording = false;
  const conversationIds = Array.from({ length: turns }, () => context.uniqueId(`concurrent-${turns}`));
  log(`[${server.kind}] concurrency: ${turns} turns at once (${PROMPT} on ${CONCURRENT_MODEL}), deadline ${deadlineMs / 1000} s`);
  const stalls = startStallMonitor();
  const started = nowMs();
  const results = await withTimeout(
    client.call("concurrentChats", { baseUrl: server.url, agentId: CONCURRENT_AGENT, text: PROMPT, conversationIds, deadlineMs }),
    deadlineMs + WORKER_GRACE_MS,
    "the client worker's concurrentChats",
  );
  const elapsedMs = nowMs() - started;
  const eventLoopStallMs = stalls.stop();
  const outcome = describeTurns(results, elapsedMs);
  reportProblems(context, turns, outcome.errors);
  log(
    `[${server.kind}] concurrency ${turns}: ` +
      (outcome.timedOut
        ? `TIMED OUT after ${round2(elapsedMs)} ms with ${outcome.finished}/${turns} finished`
        : `all done in ${outcome.wallMs} ms (per turn p50 ${outcome.perTurnWallMs.p50} ms, max ${outcome.perTurnWallMs.max} ms)`) +
      `, stall max ${eventLoopStallMs.maxMs} ms`,
  );
  return { turns, ...outcome, eventLoopStallMs, afterwards: await settleRuns(context, outcome.timedOut) };
}

type ErrorCounts = ReturnType<typeof countErrors>;

function describeTurns(results: ConcurrentTurn[], elapsedMs: number) {
  const ended = results.filter((turn) => turn.outcome !== "deadline");
  const readToEnd = results.filter((turn) => turn.outcome === "ended");
  const timedOut = ended.length < results.length;
  const firstSent = Math.min(...results.map((turn) => turn.startedAt));
  const lastEnded = Math.max(...ended.map((turn) => turn.endedAt ?? Number.NaN));
  const answered = results.filter((turn) => turn.headersAt !== undefined);
  return {
    timedOut,
    finished: ended.length,
    correct: results.filter(isCorrect).length,
    /** First POST sent → last response ended; null when the deadline came first. */
    wallMs: timedOut ? null : round2(lastEnded - firstSent),
    elapsedMs: round2(elapsedMs),
    perTurnWallMs: summary(readToEnd.map((turn) => turn.endedAt! - turn.startedAt)),
    postAnsweredMs: summary(answered.map((turn) => turn.headersAt! - turn.startedAt)),
    errors: countErrors(results),
  };
}

const isCorrect = (turn: ConcurrentTurn) =>
  turn.outcome === "ended" && turn.status === 200 && turn.done && turn.text === EXPECTED_TEXT;

function countErrors(results: ConcurrentTurn[]) {
  const httpStatus: Record<string, number> = {};
  for (const turn of results) {
    if (turn.status !== undefined && turn.status !== 200) httpStatus[String(turn.status)] = (httpStatus[String(turn.status)] ?? 0) + 1;
  }
  const answeredOk = results.filter((turn) => turn.outcome === "ended" && turn.status === 200);
  const networkErrors = results.filter((turn) => turn.outcome === "network-error");
  return {
    httpStatus,
    network: networkErrors.length,
    wrongText: answeredOk.filter((turn) => turn.text !== EXPECTED_TEXT).length,
    /** Right text, but the stream ended without `data: [DONE]`. */
    missingDone: answeredOk.filter((turn) => turn.text === EXPECTED_TEXT && !turn.done).length,
    unfinishedAtDeadline: results.filter((turn) => turn.outcome === "deadline").length,
    samples: [
      ...new Set([
        ...networkErrors.map((turn) => turn.error ?? "network error"),
        ...answeredOk.filter((turn) => turn.text !== EXPECTED_TEXT).map((turn) => `terminal ${turn.terminalReason ?? "none"}, text starts ${JSON.stringify(turn.text.slice(0, 40))}`),
      ]),
    ].slice(0, 3),
  };
}

/** Wrong answers are correctness failures; a deadline is a measurement (the target is reported, not enforced). */
function reportProblems(context: LevelContext, turns: number, errors: ErrorCounts) {
  const statuses = Object.entries(errors.httpStatus).map(([status, count]) => `${count}× HTTP ${status}`);
  const problems = [
    ...statuses,
    ...(errors.network ? [`${errors.network} network errors`] : []),
    ...(errors.wrongText ? [`${errors.wrongText} wrong texts`] : []),
    ...(errors.missingDone ? [`${errors.missingDone} without [DONE]`] : []),
  ];
  if (problems.length > 0) context.fail(`[${context.server.kind}] concurrency ${turns}: ${problems.join(", ")} (${errors.samples.join("; ")})`);
}

/** How many of the level's executions are still running (one query: the agent serves this section only). */
async function runningExecutions(context: LevelContext): Promise<number> {
  const page = await context.server.tether.repositories.executions.list({
    agentId: CONCURRENT_AGENT,
    status: "running",
    limit: RUNNING_LIST_LIMIT,
  });
  return page.executions.length;
}

/**
 * Waits a little for the level's runs to record their end (a response ends just before its run does).
 * After a deadline they are left as they are: the server is disposed with them (cancelling a hundred runs
 * on a world that far behind timed out as well), and the next level starts on a fresh one.
 */
async function settleRuns(context: LevelContext, timedOut: boolean) {
  const started = nowMs();
  const deadline = started + (timedOut ? SETTLE_AFTER_DEADLINE_MS : SETTLE_TIMEOUT_MS);
  let running = await runningExecutions(context);
  while (running > 0 && nowMs() < deadline) {
    await sleep(SETTLE_POLL_MS);
    running = await runningExecutions(context);
  }
  return { settledMs: round2(nowMs() - started), stillRunningWhenDisposed: running };
}

type ConcurrencySection = Awaited<ReturnType<typeof concurrency>>;

/**
 * Per N: both worlds' walls and localWall / postgresWall. A world that hit the deadline counts with the time
 * it had used, so the ratio is then a bound (`ratioIs`).
 */
export function concurrencyRatios(local: ConcurrencySection | undefined, postgres: ConcurrencySection | undefined) {
  const levels = new Set([...Object.keys(local?.levels ?? {}), ...Object.keys(postgres?.levels ?? {})]);
  return Object.fromEntries([...levels].map((turns) => [turns, compareLevel(local?.levels[turns], postgres?.levels[turns])]));
}

const measured = (level: MeasuredLevel | FailedLevel | undefined) => (level && !("processError" in level) ? level : undefined);

function compareLevel(localLevel: MeasuredLevel | FailedLevel | undefined, postgresLevel: MeasuredLevel | FailedLevel | undefined) {
  const local = measured(localLevel);
  const postgres = measured(postgresLevel);
  const localWall = local?.wallMs ?? local?.elapsedMs;
  const postgresWall = postgres?.wallMs ?? postgres?.elapsedMs;
  const ratio = localWall !== undefined && postgresWall !== undefined ? round2(localWall / postgresWall) : null;
  const ratioIs =
    ratio === null ? undefined
    : local?.timedOut && postgres?.timedOut ? "unknown (both timed out)"
    : local?.timedOut ? "a lower bound (local timed out)"
    : postgres?.timedOut ? "an upper bound (postgres timed out)"
    : "exact";
  return { localWallMs: local?.wallMs, postgresWallMs: postgres?.wallMs, ratio, ratioIs };
}

/** The issue's target: local ≤ 2× postgres at the largest N both worlds ran. */
export function concurrencyTarget(local: ConcurrencySection | undefined, postgres: ConcurrencySection | undefined) {
  const shared = Object.keys(local?.levels ?? {}).filter((turns) => postgres?.levels[turns] !== undefined);
  const largest = shared.sort((a, b) => Number(b) - Number(a))[0];
  if (largest === undefined) return undefined;
  const { ratio, ratioIs } = compareLevel(local?.levels[largest], postgres?.levels[largest]);
  return { target: `localWall <= ${TARGET_RATIO} x postgresWall`, atTurns: Number(largest), ratio, pass: meetsTarget(ratio, ratioIs) };
}

const TARGET_RATIO = 2;

/** null when a bound cannot decide it (a lower bound under the target, an upper bound over it). */
function meetsTarget(ratio: number | null, ratioIs: string | undefined): boolean | null {
  if (ratio === null || ratioIs === undefined || ratioIs.startsWith("unknown")) return null;
  const within = ratio <= TARGET_RATIO;
  if (ratioIs.startsWith("a lower bound")) return within ? null : false;
  if (ratioIs.startsWith("an upper bound")) return within ? true : null;
  return within;
}
