/**
 * One level of bench/durable.ts's concurrency section in a process of its own, spawned by
 * ./durable-concurrency.ts as `<node + tsx> bench/durable-concurrency-level.ts <local|postgres> <turns> <deadlineMs>`.
 * Starts a fresh Tether on that world (its own temp folder or throwaway database), its client worker, and
 * the level's agent; runs the level; disposes the server (bounded) and exits, taking with it whatever runs
 * the level left going. Prints one line on stdout: LEVEL_RESULT_MARK + JSON (LevelProcessOutput); progress
 * goes to stderr. Needs the workflow bundles in dist/ (the parent builds them first).
 */
import {
  CONCURRENT_AGENT,
  CONCURRENT_MODEL,
  LEVEL_RESULT_MARK,
  concurrencyLevel,
  type LevelProcessOutput,
  type LevelResult,
} from "./durable-concurrency";
import {
  createDurableAgent,
  log,
  nowMs,
  startDurableBenchServer,
  startDurableClientWorker,
  withTimeout,
  type WorldKind,
} from "./durable-support";

const DISPOSE_TIMEOUT_MS = 60_000;

function parseArguments(): { kind: WorldKind; turns: number; deadlineMs: number } {
  const [kind, turns, deadlineMs] = process.argv.slice(2);
  if ((kind !== "local" && kind !== "postgres") || !Number(turns) || !Number(deadlineMs)) {
    throw new Error(`usage: durable-concurrency-level.ts <local|postgres> <turns> <deadlineMs> (got ${process.argv.slice(2).join(" ")})`);
  }
  return { kind, turns: Number(turns), deadlineMs: Number(deadlineMs) };
}

async function main() {
  const { kind, turns, deadlineMs } = parseArguments();
  const failures: string[] = [];
  let counter = 0;
  const client = startDurableClientWorker();
  const server = await startDurableBenchServer(kind, []);
  let result!: LevelResult;
  let disposeMs = 0;
  try {
    await createDurableAgent(server, CONCURRENT_AGENT, CONCURRENT_MODEL);
    const context = {
      server,
      client,
      fail: (problem: string) => failures.push(problem),
      uniqueId: (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`,
    };
    result = await concurrencyLevel(context, turns, deadlineMs);
  } finally {
    const disposing = nowMs();
    await withTimeout(server.dispose(), DISPOSE_TIMEOUT_MS, `disposing the ${kind} world`).catch((error: unknown) =>
      log(`[${kind}] concurrency ${turns}: ${String(error)}`),
    );
    disposeMs = Math.round(nowMs() - disposing);
    log(`[${kind}] concurrency ${turns}: server disposed in ${disposeMs} ms`);
  }
  const output: LevelProcessOutput = { result, failures, serverStartupMs: Math.round(server.startupMs), serverDisposeMs: disposeMs };
  await new Promise<void>((resolve) => process.stdout.write(`${LEVEL_RESULT_MARK}${JSON.stringify(output)}\n`, () => resolve()));
}

main().then(
  // Exiting ends whatever runs the level left going (and the client worker).
  () => process.exit(0),
  (error: unknown) => {
    log(`concurrency level failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
