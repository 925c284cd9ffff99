import { useEffect, useState } from "react";
import { ApiError, apiFetch, describeError, errorFrom } from "../tether-api/client";
import { executionStreamPath } from "../tether-api/executions";
import { readSseEvents } from "../tether-api/sse";
import { applyChunk, EMPTY_LOG, type EventLog, type StreamChunk } from "../executions/event-log";

export type StreamPhase = "connecting" | "live" | "reconnecting" | "ended" | "expired" | "failed";

const RETRY_MS = 1000;

function pause(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      window.clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Follows `GET /api/executions/:id/stream` with fetch (so the API key header can be sent); when the
 * connection drops it reconnects with `Last-Event-ID` and continues after the last event it saw.
 */
export function useExecutionStream(executionId: string, onTerminal?: () => void) {
  const [log, setLog] = useState<EventLog>(EMPTY_LOG);
  const [phase, setPhase] = useState<StreamPhase>("connecting");
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    setLog(EMPTY_LOG);
    setPhase("connecting");
    setError(null);

    const follow = async () => {
      let lastEventId: string | undefined;
      while (!signal.aborted) {
        try {
          const response = await apiFetch(executionStreamPath(executionId), {
            headers: lastEventId ? { "last-event-id": lastEventId } : {},
            signal,
          });
          if (response.status === 410) {
            setPhase("expired");
            return;
          }
          if (!response.ok || !response.body) throw await errorFrom(response);
          setPhase("live");
          for await (const event of readSseEvents(response.body)) {
            if (event.data === "[DONE]") {
              setPhase("ended");
              return;
            }
            const chunk = JSON.parse(event.data) as StreamChunk;
            const offset = event.id;
            if (offset) lastEventId = offset;
            setLog((current) => applyChunk(current, offset, chunk));
            if (chunk.type === "data-terminal") onTerminal?.();
          }
        } catch (failure) {
          if (signal.aborted) return;
          if (failure instanceof ApiError && failure.status >= 400 && failure.status < 500) {
            setError(describeError(failure));
            setPhase("failed");
            return;
          }
        }
        if (signal.aborted) return;
        setPhase("reconnecting");
        await pause(RETRY_MS, signal);
      }
    };
    void follow();
    return () => controller.abort();
    // onTerminal is a notification only; a new callback must not restart the stream
  }, [executionId]);

  return { log, phase, error };
}
