export interface ExecutionFilters {
  agentId: string;
  status: string;
  mode: string;
}

export type Route =
  | { name: "agents"; agentId?: string; creating?: boolean }
  | { name: "playground"; agentId: string; conversationId?: string }
  | { name: "executions"; filters: ExecutionFilters }
  | { name: "execution"; executionId: string }
  | { name: "tool-servers"; serverId?: string; creating?: boolean }
  | { name: "not-found"; path: string };

/** Reads `#/path?query` into a route; only `/` is a real page, everything else lives in the hash. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const [pathPart = "", queryPart = ""] = raw.split("?", 2);
  const segments = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(queryPart);
  const [first, second] = segments;
  if (!first || first === "agents") {
    if (second === "new") return { name: "agents", creating: true };
    return { name: "agents", agentId: second };
  }
  if (first === "playground" && second) return { name: "playground", agentId: second, conversationId: query.get("c") ?? undefined };
  if (first === "tool-servers") {
    if (second === "new") return { name: "tool-servers", creating: true };
    return { name: "tool-servers", serverId: second };
  }
  if (first === "executions" && second) return { name: "execution", executionId: second };
  if (first === "executions") {
    return {
      name: "executions",
      filters: { agentId: query.get("agent") ?? "", status: query.get("status") ?? "", mode: query.get("mode") ?? "" },
    };
  }
  return { name: "not-found", path: pathPart };
}

const part = encodeURIComponent;

export const hrefs = {
  agents: () => "#/agents",
  newAgent: () => "#/agents/new",
  agent: (id: string) => `#/agents/${part(id)}`,
  playground: (agentId: string, conversationId?: string) =>
    `#/playground/${part(agentId)}${conversationId ? `?c=${part(conversationId)}` : ""}`,
  executions: (filters?: Partial<ExecutionFilters>) => {
    const query = new URLSearchParams();
    if (filters?.agentId) query.set("agent", filters.agentId);
    if (filters?.status) query.set("status", filters.status);
    if (filters?.mode) query.set("mode", filters.mode);
    const search = query.toString();
    return `#/executions${search ? `?${search}` : ""}`;
  },
  execution: (id: string) => `#/executions/${part(id)}`,
  toolServers: () => "#/tool-servers",
  newToolServer: () => "#/tool-servers/new",
  toolServer: (id: string) => `#/tool-servers/${part(id)}`,
};
