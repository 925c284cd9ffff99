import { useId } from "react";
import { EXECUTION_MODES, EXECUTION_STATUSES, type Agent } from "../../tether-api/types";
import type { ExecutionFilters as Filters } from "../../routing/routes";

interface Props {
  filters: Filters;
  agents: Agent[];
  onChange(filters: Filters): void;
}

export function ExecutionFilters({ filters, agents, onChange }: Props) {
  const agentId = useId();
  const statusId = useId();
  const modeId = useId();
  const set = (key: keyof Filters, value: string) => onChange({ ...filters, [key]: value });
  return (
    <form className="filters" aria-label="Filters" onSubmit={(event) => event.preventDefault()}>
      <div className="field">
        <label htmlFor={agentId}>Agent</label>
        <select id={agentId} value={filters.agentId} onChange={(event) => set("agentId", event.target.value)}>
          <option value="">All agents</option>
          {agents.map((agent) => (
            <option key={agent.id} value={agent.id}>
              {agent.name}
            </option>
          ))}
          {filters.agentId && !agents.some((agent) => agent.id === filters.agentId) && <option value={filters.agentId}>{filters.agentId}</option>}
        </select>
      </div>
      <div className="field">
        <label htmlFor={statusId}>Status</label>
        <select id={statusId} value={filters.status} onChange={(event) => set("status", event.target.value)}>
          <option value="">Any status</option>
          {EXECUTION_STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={modeId}>Mode</label>
        <select id={modeId} value={filters.mode} onChange={(event) => set("mode", event.target.value)}>
          <option value="">Any mode</option>
          {EXECUTION_MODES.map((mode) => (
            <option key={mode} value={mode}>
              {mode}
            </option>
          ))}
        </select>
      </div>
    </form>
  );
}
