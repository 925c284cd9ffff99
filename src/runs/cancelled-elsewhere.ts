import type { ExecutionRepository } from "../db/repositories/executions";
import type { Logger } from "../logger";
import type { CancelReason } from "./execution-status";

/** How often a process looks for its classic runs that another process cancelled. */
const WATCH_INTERVAL_MS = 500;
/** Ids per query, well below PostgreSQL's limit on parameters. */
const IDS_PER_QUERY = 1_000;

/**
 * With several processes a stop, a cancel or a new turn (which supersedes the running one) can land on
 * any of them, and it records the run `cancelled`; only the process that runs a classic run can stop its
 * model and end its buffer, whose readers wait for the terminal event. So while this process runs classic
 * turns, it looks twice a second which of them another process cancelled (primary-key lookups, nothing
 * per chunk) and ends them the way that process recorded.
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
  let checking = false;

  async function check(): Promise<void> {
    const ids = dependencies.runningIds();
    for (let start = 0; start < ids.length; start += IDS_PER_QUERY) {
      for (const cancelled of await executions.listCancelled(ids.slice(start, start + IDS_PER_QUERY))) {
        const reason = cancelled.metadata.cancelReason === "superseded" ? "superseded" : "cancelled";
        if (dependencies.end(cancelled.id, reason)) logger.info({ executionId: cancelled.id, reason }, "run cancelled by another process");
      }
    }
  }

  const timer = setInterval(() => {
    // A slow database must not pile up checks.
    if (checking) return;
    checking = true;
    check()
      .catch((error: unknown) => logger.warn({ error: String(error) }, "could not look for runs cancelled elsewhere"))
      .finally(() => (checking = false));
  }, dependencies.intervalMs ?? WATCH_INTERVAL_MS);
  timer.unref();

  return {
    check,
    stop: () => clearInterval(timer),
  };
}
