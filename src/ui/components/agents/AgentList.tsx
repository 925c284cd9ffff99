import type { Agent } from "../../tether-api/types";
import { hrefs } from "../../routing/routes";
import { StatusBadge } from "../common/StatusBadge";

export function AgentList({ agents, selectedId }: { agents: Agent[]; selectedId?: string }) {
  if (agents.length === 0) return <p className="hint">No agents yet.</p>;
  return (
    <ul className="agent-list">
      {agents.map((agent) => (
        <li key={agent.id} className={agent.id === selectedId ? "agent-list__item agent-list__item--selected" : "agent-list__item"}>
          <a href={hrefs.agent(agent.id)} aria-current={agent.id === selectedId ? "page" : undefined}>
            <span className="agent-list__name">{agent.name}</span>
            <span className="agent-list__meta">
              <code>{agent.model}</code> <StatusBadge status={agent.executionMode} />
            </span>
          </a>
          <a className="agent-list__chat" href={hrefs.playground(agent.id)} aria-label={`Chat with ${agent.name}`}>
            Chat
          </a>
        </li>
      ))}
    </ul>
  );
}
