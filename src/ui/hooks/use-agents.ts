import { useCallback, useEffect, useState } from "react";
import { listAgents } from "../tether-api/agents";
import { describeError } from "../tether-api/client";
import type { Agent } from "../tether-api/types";
import { useApiKey } from "./use-api-key";

export function useAgents() {
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(async () => {
    try {
      setAgents(await listAgents());
      setError(null);
    } catch (failure) {
      setError(describeError(failure));
    }
  }, []);
  const apiKey = useApiKey();
  useEffect(() => {
    void reload();
  }, [reload, apiKey]);
  return { agents, error, reload };
}
