import { apiJson } from "./client";
import type { Agent, AgentInput } from "./types";

const path = (id: string) => `/api/agents/${encodeURIComponent(id)}`;

export async function listAgents(): Promise<Agent[]> {
  return (await apiJson<{ agents: Agent[] }>("/api/agents")).agents;
}

export const getAgent = (id: string) => apiJson<Agent>(path(id));
export const createAgent = (input: AgentInput) => apiJson<Agent>("/api/agents", { method: "POST", body: input });
export const updateAgent = (id: string, input: AgentInput) => apiJson<Agent>(path(id), { method: "PATCH", body: input });
export const deleteAgent = (id: string) => apiJson<void>(path(id), { method: "DELETE" });
