import type { CancelReason } from "../execution-status";
import { stepServices } from "./step-services";

/** How often the running steps of this process learn of a cancel. */
const CHECK_MS = 250;
/** Ids per query, well below PostgreSQL's limit on parameters. */
const IDS_PER_QUERY = 1_000;

type OnCancelled = (reason: CancelReason) => void;
const watchers = new Map<string, Set<OnCancelled>>();
let timer: ReturnType<typeof setInterval> | undefined;
let checking = false;

async function check(): Promise<void> {
  const ids = [...watchers.keys()];
  const { executions } = stepServices().repositories;
  for (let start = 0; start < ids.length; start += IDS_PER_QUERY) {
    for (const cancelled of await executions.listCancelled(ids.slice(start, start + IDS_PER_QUERY))) {
      const reason = cancelled.metadata.cancelReason === "superseded" ? "superseded" : "cancelled";
      for (const onCancelled of watchers.get(cancelled.id) ?? []) onCancelled(reason);
      watchers.delete(cancelled.id);
    }
  }
}

/**
 * Calls `onCancelled` (once) when the execution is recorded cancelled, with the cancel's reason; a cancel
 * does not interrupt a running step, so the step watches. Every step of the process shares one query per
 * quarter second (a step polling alone made 4 queries a second, which 100 durable turns on the embedded
 * database paid for). Answers the function that stops watching.
 */
export function watchForCancel(executionId: string, onCancelled: OnCancelled): () => void {
  const forExecution = watchers.get(executionId) ?? new Set<OnCancelled>();
  forExecution.add(onCancelled);
  watchers.set(executionId, forExecution);
  timer ??= setInterval(() => {
    // A slow database must not pile up checks.
    if (checking) return;
    checking = true;
    check()
      .catch(() => undefined)
      .finally(() => (checking = false));
  }, CHECK_MS);
  timer.unref();
  return () => {
    forExecution.delete(onCancelled);
    if (forExecution.size === 0 && watchers.get(executionId) === forExecution) watchers.delete(executionId);
    if (watchers.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}
