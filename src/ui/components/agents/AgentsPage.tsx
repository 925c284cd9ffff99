import { navigate } from "../../routing/navigation";
import { hrefs } from "../../routing/routes";
import { useAgents } from "../../hooks/use-agents";
import { ErrorBanner } from "../common/ErrorBanner";
import { AgentForm } from "./AgentForm";
import { AgentList } from "./AgentList";

export function AgentsPage({ agentId, creating }: { agentId?: string; creating?: boolean }) {
  const { agents, error, reload } = useAgents();
  const selected = agents?.find((agent) => agent.id === agentId);

  return (
    <div className="split">
      <section className="split__side" aria-labelledby="agents-heading">
        <div className="section-header">
          <h1 id="agents-heading">Agents</h1>
          <a className="button button--primary" href={hrefs.newAgent()}>
            New agent
          </a>
        </div>
        <ErrorBanner message={error} />
        {agents ? <AgentList agents={agents} selectedId={agentId} /> : !error && <p className="hint">Loading…</p>}
      </section>
      <section className="split__main">
        {creating && (
          <AgentForm
            key="new"
            onSaved={(agent) => {
              void reload();
              navigate(hrefs.agent(agent.id));
            }}
            onDeleted={() => undefined}
          />
        )}
        {!creating && selected && (
          <AgentForm
            key={selected.id}
            agent={selected}
            onSaved={() => void reload()}
            onDeleted={() => {
              void reload();
              navigate(hrefs.agents());
            }}
          />
        )}
        {!creating && agentId && agents && !selected && <ErrorBanner message={`Agent “${agentId}” was not found.`} />}
        {!creating && !agentId && agents && agents.length > 0 && (
          <p className="card hint">Choose an agent to edit it, or create a new one.</p>
        )}
      </section>
    </div>
  );
}
