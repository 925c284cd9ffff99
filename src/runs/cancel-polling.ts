import type { ExecutionRow } from "../../drizzle/schema";
import { cancelReasonOf, type CancelReason } from "./execution-status";

/** Ids per query, well below PostgreSQL's limit on parameters. */
const IDS_PER_QUERY = 1_000;

export interface CancelPolling {
  /** Looks once now (a tick does the same). */
  check(): Promise<void>;
  stop(): void;
}

/**
 * Looks every `intervalMs` which of a changing set of executions were recorded cancelled (a page of
 * primary keys per query, nothing per chunk), and tells `onCancelled` with the cancel's reason. A cancel
 * is a database write that the work it stops may not see otherwise: a step running in a process of its
 * own, or a classic run of this process cancelled by another one.
 */
export function pollCancelled(options: {
  listCancelled: (ids: string[]) => Promise<Array<Pick<ExecutionRow, "id" | "metadata">>>;
  /** The executions to look at now. */
  ids: () => string[];
  onCancelled: (executionId: string, reason: CancelReason) => void;
  intervalMs: number;
  onError?: (error: unknown) => void;
}): CancelPolling {
  let checking = false;

  async function check(): Promise<void> {
    const ids = options.ids();
    for (let start = 0; start < ids.length; start += IDS_PER_QUERY) {
      for (const cancelled of await options.listCancelled(ids.slice(start, start + IDS_PER_QUERY))) {
        options.onCancelled(cancelled.id, cancelReasonOf(cancelled));
      }
    }
  }

  const timer = setInterval(() => {
    // A slow database must not pile up checks.
    if (checking) return;
    checking = true;
    check()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => (checking = false));
  }, options.intervalMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
