import type { ExecutionRepository } from "../db/repositories/executions";
import type { Logger } from "../logger";
import { pollCancelled } from "./cancel-polling";
import type { CancelReason } from "./execution-status";

/** How often a process looks for its classic runs that another process cancelled. */
const WATCH_INTERVAL_MS = 500;

/**
 * With several processes a stop, a cancel or a new turn (which supersedes the running one) can land on
 * any of them, and it records the run `cancelled`; only the process that runs a classic run can stop its
 * model and end its buffer, whose readers wait for the terminal event. So while this process runs classic
 * turns, it looks twice a second which of them another process cancelled and ends them the way that
 * process recorded.
 */
export function watchCancelledElsewhere(dependencies: {
  executions: Pick<ExecutionRepository, "listCancelled">;
  /** The classic runs this process runs now. */
  runningIds(): string[];
  /** Stops the run here and ends its stream with `reason`; false when it had ended already (a cancel here). */
  end(executionId: string, reason: CancelReason): boolean;
  logger: Logger;
  intervalMs?: number;
}) {
  const { executions, logger } = dependencies;
  return pollCancelled({
    listCancelled: (ids) => executions.listCancelled(ids),
    ids: dependencies.runningIds,
    onCancelled(executionId, reason) {
      if (dependencies.end(executionId, reason)) logger.info({ executionId, reason }, "run cancelled by another process");
    },
    intervalMs: dependencies.intervalMs ?? WATCH_INTERVAL_MS,
    onError: (error) => logger.warn({ error: String(error) }, "could not look for runs cancelled elsewhere"),
  });
}
