import { useState } from "react";
import { describeError } from "../../tether-api/client";
import { listExecutions } from "../../tether-api/executions";
import type { Execution } from "../../tether-api/types";
import { useAgents } from "../../hooks/use-agents";
import { useApiKey } from "../../hooks/use-api-key";
import { usePolling } from "../../hooks/use-polling";
import { replaceRoute } from "../../routing/navigation";
import { hrefs, type ExecutionFilters as Filters } from "../../routing/routes";
import { ErrorBanner } from "../common/ErrorBanner";
import { Timestamp } from "../common/Timestamp";
import { ExecutionFilters } from "./ExecutionFilters";
import { ExecutionList } from "./ExecutionList";

const POLL_MS = 1500;

export function ExecutionsPage({ filters }: { filters: Filters }) {
  const { agents } = useAgents();
  const apiKey = useApiKey();
  const [executions, setExecutions] = useState<Execution[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);

  usePolling(
    async (signal) => {
      try {
        const found = await listExecutions({ agentId: filters.agentId, status: filters.status, limit: 50 }, signal);
        // the API has no mode filter, so mode is filtered here
        setExecutions(filters.mode ? found.filter((execution) => execution.mode === filters.mode) : found);
        setUpdatedAt(Date.now());
        setError(null);
      } catch (failure) {
        if (!signal.aborted) setError(describeError(failure));
      }
    },
    POLL_MS,
    true,
    `${filters.agentId}|${filters.status}|${filters.mode}|${apiKey}`,
  );

  return (
    <section aria-labelledby="executions-heading">
      <div className="section-header">
        <h1 id="executions-heading">Executions</h1>
        <p className="hint" aria-live="off">
          {updatedAt ? (
            <>
              live · updated <Timestamp iso={updatedAt} />
            </>
          ) : (
            "loading…"
          )}
        </p>
      </div>
      <ExecutionFilters filters={filters} agents={agents ?? []} onChange={(next) => replaceRoute(hrefs.executions(next))} />
      <ErrorBanner message={error} />
      {executions && <ExecutionList executions={executions} agents={agents ?? []} />}
    </section>
  );
}
