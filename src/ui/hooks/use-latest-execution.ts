import { useCallback, useEffect, useRef, useState } from "react";
import { listExecutions } from "../tether-api/executions";
import { isFinished, type Execution } from "../tether-api/types";
import { usePolling } from "./use-polling";

/**
 * The conversation's newest execution. Chat responses carry its id in headers useChat cannot see, so it
 * is polled: every second while a turn is busy or the run is still open, and once more when a turn ends.
 */
export function useLatestExecution(conversationId: string, turnBusy: boolean) {
  const [execution, setExecution] = useState<Execution | null>(null);
  const requestCount = useRef(0);

  const refresh = useCallback(
    async (signal?: AbortSignal) => {
      const request = ++requestCount.current;
      const [latest] = await listExecutions({ conversationId, limit: 1 }, signal);
      // a slower, older answer must not overwrite a newer one
      if (request === requestCount.current) setExecution(latest ?? null);
    },
    [conversationId],
  );

  const runOpen = !!execution && !isFinished(execution.status);
  usePolling(refresh, 1000, turnBusy || runOpen, conversationId);

  const wasBusy = useRef(turnBusy);
  useEffect(() => {
    if (wasBusy.current && !turnBusy) void refresh().catch(() => undefined);
    wasBusy.current = turnBusy;
  }, [turnBusy, refresh]);

  useEffect(() => {
    void refresh().catch(() => undefined);
  }, [refresh]);

  return { execution, refresh };
}
