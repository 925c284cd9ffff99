import { useCallback, useRef, useState } from "react";
import { describeError } from "../tether-api/client";
import { getExecution } from "../tether-api/executions";
import { isFinished, type Execution, type ExecutionStatus } from "../tether-api/types";
import { usePolling } from "./use-polling";

export interface ObservedStatus {
  status: ExecutionStatus;
  /** When this page first saw the status (ms since epoch). */
  at: number;
}

/** One execution, polled every second until it finishes, with the status changes this page observed. */
export function useExecution(executionId: string) {
  const [execution, setExecution] = useState<Execution | null>(null);
  const [history, setHistory] = useState<ObservedStatus[]>([]);
  const [error, setError] = useState<string | null>(null);
  const requestCount = useRef(0);

  const refresh = useCallback(
    async (signal?: AbortSignal) => {
      const request = ++requestCount.current;
      try {
        const found = await getExecution(executionId, signal);
        if (request !== requestCount.current) return;
        setExecution(found);
        setError(null);
        setHistory((seen) => (seen[seen.length - 1]?.status === found.status ? seen : [...seen, { status: found.status, at: Date.now() }]));
      } catch (failure) {
        if (!signal?.aborted) setError(describeError(failure));
      }
    },
    [executionId],
  );

  const open = !execution || !isFinished(execution.status);
  usePolling(refresh, 1000, open, executionId);
  return { execution, history, error, refresh };
}
