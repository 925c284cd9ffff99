import type { Agent, Execution } from "../../tether-api/types";
import { hrefs } from "../../routing/routes";
import { StatusBadge } from "../common/StatusBadge";
import { Timestamp } from "../common/Timestamp";

export function ExecutionList({ executions, agents }: { executions: Execution[]; agents: Agent[] }) {
  if (executions.length === 0) return <p className="hint">No executions match.</p>;
  const agentName = (id: string) => agents.find((agent) => agent.id === id)?.name ?? id;
  return (
    <ul className="execution-list" aria-label="Executions">
      {executions.map((execution) => (
        <li key={execution.id} className="execution-row">
          <a className="execution-row__id" href={hrefs.execution(execution.id)}>
            {execution.id}
          </a>
          <span className="execution-row__agent">{agentName(execution.agentId)}</span>
          <span className="execution-row__badges">
            <StatusBadge status={execution.mode} /> <StatusBadge status={execution.status} />
            {execution.pendingApprovals.length > 0 && (
              <StatusBadge status="approval" label={`${execution.pendingApprovals.length} awaiting approval`} />
            )}
          </span>
          <span className="execution-row__time hint">
            started <Timestamp iso={execution.createdAt} />
          </span>
        </li>
      ))}
    </ul>
  );
}
