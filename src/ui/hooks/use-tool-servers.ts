import { useCallback, useEffect, useState } from "react";
import { describeError } from "../tether-api/client";
import { listToolServers, type ToolServer } from "../tether-api/tool-servers";
import { useApiKey } from "./use-api-key";

/** Every registered tool server with its tools as listed now; `upsert` and `remove` apply an API answer locally. */
export function useToolServers() {
  const [toolServers, setToolServers] = useState<ToolServer[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(async () => {
    try {
      setToolServers(await listToolServers());
      setError(null);
    } catch (failure) {
      setError(describeError(failure));
    }
  }, []);
  const upsert = useCallback((server: ToolServer) => {
    setToolServers((current) => {
      const list = current ?? [];
      // in place when known, so the list keeps its order
      return list.some((existing) => existing.id === server.id)
        ? list.map((existing) => (existing.id === server.id ? server : existing))
        : [...list, server];
    });
  }, []);
  const remove = useCallback((id: string) => {
    setToolServers((current) => current && current.filter((existing) => existing.id !== id));
  }, []);
  const apiKey = useApiKey();
  useEffect(() => {
    void reload();
  }, [reload, apiKey]);
  return { toolServers, error, reload, upsert, remove };
}
