import { randomBytes } from "node:crypto";
import type { ExecutionRow } from "../../drizzle/schema";
import type { NamedLocks, ReleaseLock } from "../db/locks";
import type { ExecutionRepository } from "../db/repositories/executions";
import type { Logger } from "../logger";
import { tryMoveStatus } from "./execution-status";
import { PROCESS_KEY } from "./public-metadata";

/** How often a process on PostgreSQL looks for classic runs left behind by a process that died. */
const SWEEP_INTERVAL_MS = 30_000;

export const INTERRUPTED_ERROR = "interrupted: the server process running it stopped";

const processLockName = (processId: string) => `process:${processId}`;

/**
 * Classic runs live in the process that started them, so a crash leaves their rows `running` for good.
 * With PGlite (`singleProcess`) there is one process by construction and a start marks them all failed. On PostgreSQL
 * several processes share the rows: each one holds a lock named after itself for as long as it lives
 * and stamps its name on the classic runs it starts (`metadata.process`); a run still `running` whose
 * process lock is free was cut off, and any process that notices (at start, then every half minute)
 * marks it failed. Suspended runs are left alone: they wait for a person, not for a process.
 */
export function createInterruptedRunSweeper(dependencies: {
  executions: ExecutionRepository;
  locks: NamedLocks;
  logger: Logger;
  singleProcess: boolean;
}) {
  const { executions, locks, logger, singleProcess } = dependencies;
  const processId = `proc_${randomBytes(8).toString("hex")}`;
  let ownLock: ReleaseLock | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;

  const failInterrupted = (id: string) => tryMoveStatus(executions, id, { status: "failed", error: INTERRUPTED_ERROR }, ["running"]);

  /** Marks failed the running classic runs of every process that no longer holds its lock; answers how many. */
  async function sweep(): Promise<number> {
    const running = await executions.listRunning("classic");
    if (singleProcess) {
      // This process has just started, so every classic run still running belonged to one before it.
      const failed = (await Promise.all(running.map((execution) => failInterrupted(execution.id)))).filter(Boolean).length;
      if (failed > 0) logger.warn({ executions: failed }, "marked classic runs of a stopped process as failed");
      return failed;
    }
    const byProcess = new Map<string, string[]>();
    for (const execution of running) {
      const owner = execution.metadata[PROCESS_KEY];
      if (typeof owner !== "string" || owner === processId) continue;
      byProcess.set(owner, [...(byProcess.get(owner) ?? []), execution.id]);
    }
    let failed = 0;
    for (const [owner, ids] of byProcess) {
      const release = await locks.tryAcquire(processLockName(owner));
      // Held: that process is alive and still running them.
      if (!release) continue;
      await release();
      for (const id of ids) {
        if (await failInterrupted(id)) failed += 1;
      }
      logger.warn({ process: owner, executions: ids.length }, "marked classic runs of a stopped process as failed");
    }
    return failed;
  }

  /**
   * One run's check, on demand (a resume that finds its process unreachable must not wait for the next
   * sweep): the run as stored now, marked failed first when it is `running` and its process lock is free.
   */
  async function settle(executionId: string): Promise<ExecutionRow | undefined> {
    const execution = await executions.find(executionId);
    const owner = execution?.metadata[PROCESS_KEY];
    if (execution?.status !== "running" || typeof owner !== "string" || owner === processId) return execution;
    const release = await locks.tryAcquire(processLockName(owner));
    if (!release) return execution;
    await release();
    const failed = await failInterrupted(executionId);
    if (failed) logger.warn({ process: owner, executionId }, "marked a classic run of a stopped process as failed");
    return failed ?? (await executions.find(executionId));
  }

  return {
    /** This process's name, stamped on the classic runs it starts. */
    processId,

    settle,

    /** Takes this process's lock, sweeps once, then (when processes share the database) keeps sweeping in the background. */
    async start(): Promise<void> {
      if (singleProcess) {
        await sweep();
        return;
      }
      ownLock = await locks.tryAcquire(processLockName(processId));
      if (!ownLock) throw new Error(`process lock ${processId} is already held`);
      await sweep();
      timer = setInterval(() => {
        sweep().catch((error: unknown) => logger.warn({ error: String(error) }, "could not look for interrupted runs"));
      }, SWEEP_INTERVAL_MS);
      timer.unref();
    },

    sweep,

    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await ownLock?.();
      ownLock = undefined;
    },
  };
}
