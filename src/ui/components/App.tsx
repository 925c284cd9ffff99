import { useEffect } from "react";
import { useRoute } from "../routing/use-route";
import { AgentsPage } from "./agents/AgentsPage";
import { ExecutionDetailPage } from "./executions/ExecutionDetailPage";
import { ExecutionsPage } from "./executions/ExecutionsPage";
import { AppHeader } from "./layout/AppHeader";
import { PlaygroundPage } from "./playground/PlaygroundPage";
import { ToolServersPage } from "./tool-servers/ToolServersPage";

const TITLES: Record<string, string> = {
  agents: "Agents",
  playground: "Playground",
  executions: "Executions",
  execution: "Execution",
  "tool-servers": "Tool servers",
  "not-found": "Not found",
};

export function App() {
  const route = useRoute();
  useEffect(() => {
    document.title = `${TITLES[route.name] ?? ""} · Tether`;
  }, [route.name]);

  return (
    <>
      <a className="skip-link" href="#main" onClick={(event) => {
        // the hash is the router, so focus the content instead of navigating
        event.preventDefault();
        document.getElementById("main")?.focus();
      }}>
        Skip to content
      </a>
      <AppHeader route={route} />
      <main id="main" tabIndex={-1} className="app-main">
        {route.name === "agents" && <AgentsPage agentId={route.agentId} creating={route.creating} />}
        {route.name === "playground" && (
          <PlaygroundPage key={route.agentId} agentId={route.agentId} conversationId={route.conversationId} />
        )}
        {route.name === "executions" && <ExecutionsPage filters={route.filters} />}
        {route.name === "execution" && <ExecutionDetailPage key={route.executionId} executionId={route.executionId} />}
        {route.name === "tool-servers" && <ToolServersPage serverId={route.serverId} creating={route.creating} />}
        {route.name === "not-found" && (
          <p className="card">
            Nothing at <code>{route.path}</code>. <a href="#/agents">Go to agents</a>.
          </p>
        )}
      </main>
    </>
  );
}
