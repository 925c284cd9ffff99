import { useEffect, useRef } from "react";

/**
 * Calls `task` now and then every `intervalMs` while `enabled`; a slow answer is never overlapped by the
 * next call. Changing `key` restarts the cycle at once (e.g. new filters).
 */
export function usePolling(task: (signal: AbortSignal) => Promise<void>, intervalMs: number, enabled = true, key: unknown = null) {
  const latestTask = useRef(task);
  latestTask.current = task;

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    let timer: number | undefined;
    const tick = async () => {
      try {
        await latestTask.current(controller.signal);
      } catch {
        // the task shows its own errors; polling carries on
      }
      if (!controller.signal.aborted) timer = window.setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [enabled, intervalMs, key]);
}
