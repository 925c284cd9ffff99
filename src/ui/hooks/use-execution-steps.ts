import { useCallback, useEffect, useRef, useState } from "react";
import { describeError } from "../tether-api/client";
import { getExecutionSteps } from "../tether-api/executions";
import { isFinished, type Execution, type StepTimelineEntry } from "../tether-api/types";
import { usePolling } from "./use-polling";

const POLL_MS = 2000;
/** How long after a run ended its steps are still polled for an end the world has not recorded yet. */
const STEP_END_WAIT_MS = 60_000;

/**
 * The steps of a durable execution: polled every 2 s until it finishes and no attempt shows running
 * (a step records the run's end before the world records the step's own end), and read again whenever
 * the execution itself changes (a stream event or a status change makes the page refresh it). Classic
 * executions have no steps, so nothing is requested for them.
 */
export function useExecutionSteps(execution: Execution | null) {
  // kept with the id they belong to, so another execution's steps never show while its own load
  const [loaded, setLoaded] = useState<{ executionId: string; steps: StepTimelineEntry[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const requestCount = useRef(0);
  const executionId = execution?.id;
  const durable = execution?.mode === "durable";

  const refresh = useCallback(
    async (signal?: AbortSignal) => {
      if (!executionId) return;
      const request = ++requestCount.current;
      try {
        const found = await getExecutionSteps(executionId, signal);
        // a slower, older answer must not overwrite a newer one
        if (request !== requestCount.current) return;
        setLoaded({ executionId, steps: found });
        setError(null);
      } catch (failure) {
        if (!signal?.aborted && request === requestCount.current) setError(describeError(failure));
      }
    },
    [executionId],
  );

  const steps = durable && loaded && loaded.executionId === executionId ? loaded.steps : null;
  const open = durable && !!execution && (!isFinished(execution.status) || stepEndPending(execution, steps));
  usePolling(refresh, POLL_MS, open, executionId);

  // `updatedAt` moves whenever the server records progress; the last change (finished) is read here too.
  const version = durable ? `${execution?.status}@${execution?.updatedAt}` : null;
  useEffect(() => {
    if (version) void refresh();
  }, [version, refresh]);

  return { steps, error: durable ? error : null };
}

/** A step the world shows running for a run that completed or failed within the last minute: its end is on its way. */
function stepEndPending(execution: Execution, steps: StepTimelineEntry[] | null): boolean {
  if (execution.status === "cancelled" || Date.now() - Date.parse(execution.updatedAt) > STEP_END_WAIT_MS) return false;
  return steps?.some((step) => step.status === "running") ?? false;
}
