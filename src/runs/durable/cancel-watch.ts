import type { ExecutionRepository } from "../../db/repositories/executions";
import { pollCancelled, type CancelPolling } from "../cancel-polling";
import type { CancelReason } from "../execution-status";
import { stepServices } from "./step-services";

/** How often the running steps of this process learn of a cancel. */
const CHECK_MS = 250;

type OnCancelled = (reason: CancelReason) => void;
export type WatchForCancel = (executionId: string, onCancelled: OnCancelled) => () => void;

/**
 * Watches for cancels on behalf of many steps with one query per tick for all of them (a step polling
 * alone made 4 queries a second, which 100 durable turns on the embedded database paid for). It looks
 * only while someone watches.
 */
export function createCancelWatch(
  executions: () => Pick<ExecutionRepository, "listCancelled">,
  intervalMs = CHECK_MS,
): WatchForCancel {
  const watchers = new Map<string, Set<OnCancelled>>();
  let polling: CancelPolling | undefined;

  return (executionId, onCancelled) => {
    const forExecution = watchers.get(executionId) ?? new Set<OnCancelled>();
    forExecution.add(onCancelled);
    watchers.set(executionId, forExecution);
    polling ??= pollCancelled({
      listCancelled: (ids) => executions().listCancelled(ids),
      ids: () => [...watchers.keys()],
      onCancelled(id, reason) {
        const told = watchers.get(id);
        watchers.delete(id);
        for (const watcher of told ?? []) watcher(reason);
      },
      intervalMs,
    });
    return () => {
      forExecution.delete(onCancelled);
      if (forExecution.size === 0 && watchers.get(executionId) === forExecution) watchers.delete(executionId);
      if (watchers.size === 0) {
        polling?.stop();
        polling = undefined;
      }
    };
  };
}

/**
 * Calls `onCancelled` (once) when the execution is recorded cancelled, with the cancel's reason: a cancel
 * does not interrupt a running step, so the step watches. Answers the function that stops watching.
 */
export const watchForCancel: WatchForCancel = createCancelWatch(() => stepServices().repositories.executions);
