import { useCallback, useEffect, useRef, useState } from "react";
import { describeError } from "../tether-api/client";
import { getExecutionSteps } from "../tether-api/executions";
import { isFinished, type Execution, type StepTimelineEntry } from "../tether-api/types";
import { usePolling } from "./use-polling";

const POLL_MS = 2000;

/**
 * The steps of a durable execution: polled every 2 s until it finishes, and read again whenever the
 * execution itself changes (a stream event or a status change makes the page refresh it). Classic
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

  const open = durable && !!execution && !isFinished(execution.status);
  usePolling(refresh, POLL_MS, open, executionId);

  // `updatedAt` moves whenever the server records progress; the last change (finished) is read here too.
  const version = durable ? `${execution?.status}@${execution?.updatedAt}` : null;
  useEffect(() => {
    if (version) void refresh();
  }, [version, refresh]);

  const steps = durable && loaded && loaded.executionId === executionId ? loaded.steps : null;
  return { steps, error: durable ? error : null };
}
