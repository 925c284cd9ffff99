import type { NamedLocks, ReleaseLock } from "../../db/locks";
import type { Repositories } from "../../db/repositories";
import { stepResultKey } from "./rounds";
import { stepServices } from "./step-services";

const FIRST_RETRY_MS = 25;
const MAX_RETRY_MS = 500;

async function waitForLock(locks: NamedLocks, name: string, onWait: () => void): Promise<ReleaseLock> {
  for (let delay = FIRST_RETRY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
    const release = await locks.tryAcquire(name);
    if (release) return release;
    if (delay === FIRST_RETRY_MS) onWait();
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** What a step body finished with: its result and the writes that must land together with it. */
export interface StepFinish<T> {
  result: T;
  /** Runs in the same transaction that records the result: both land, or neither does. */
  commit?: (repositories: Repositories) => Promise<void>;
  /**
   * Runs once the result is recorded (closing the round: a round closed before its result was recorded
   * would take every write of a retry after a crash in between). A delivery that finds the result recorded
   * runs the caller's `onRecorded` instead, so a crash between the two is finished by the next attempt.
   */
  afterCommit?: () => Promise<void>;
}

/**
 * Runs the body of a stream-writing step at most once at a time per step, across every server process,
 * and hands the recorded result of a finished run to any later delivery of the same step.
 *
 * Steps are delivered at least once. A retry after a crash is what attempts are for, but with several
 * processes on one PostgreSQL two replays of the same run can also start the same step twice at once
 * (each replay re-queues the steps it waits for): both would call the model and write the round. The
 * second delivery waits here for the first; the lock dies with its holder, so a retry after a crash
 * goes ahead at once. The result is recorded before the lock is released, in one transaction with the
 * body's `commit` (what it persists: messages, approval requests), so an attempt cut short by a crash
 * leaves nothing a retry would read as the input of the round. Results carry ids only.
 */
export async function runOnce<T>(
  executionId: string,
  stepId: string,
  body: () => Promise<StepFinish<T>>,
  onRecorded?: (result: T) => Promise<void>,
): Promise<T> {
  const { repositories, locks, logger, transaction } = stepServices();
  const release = await waitForLock(locks, `step:${executionId}:${stepId}`, () =>
    logger.info({ executionId, stepId }, "step already running: waiting for that delivery"),
  );
  try {
    const recorded = (await repositories.executions.get(executionId)).metadata[stepResultKey(stepId)];
    if (recorded !== undefined) {
      await onRecorded?.(recorded as T);
      return recorded as T;
    }
    const { result, commit, afterCommit } = await body();
    await transaction(async (inTransaction) => {
      await commit?.(inTransaction);
      await inTransaction.executions.mergeMetadata(executionId, { [stepResultKey(stepId)]: result });
    });
    await afterCommit?.();
    return result;
  } finally {
    await release();
  }
}
