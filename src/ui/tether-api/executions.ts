import { apiJson } from "./client";
import type { Execution, StepTimelineEntry } from "./types";

const path = (id: string) => `/api/executions/${encodeURIComponent(id)}`;

export interface ExecutionQuery {
  conversationId?: string;
  agentId?: string;
  status?: string;
  limit?: number;
}

export async function listExecutions(query: ExecutionQuery = {}, signal?: AbortSignal): Promise<Execution[]> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(name, String(value));
  const search = params.toString() ? `?${params}` : "";
  return (await apiJson<{ executions: Execution[] }>(`/api/executions${search}`, { signal })).executions;
}

export const getExecution = (id: string, signal?: AbortSignal) => apiJson<Execution>(path(id), { signal });
/** A durable run's steps in order; a classic run answers none. */
export async function getExecutionSteps(id: string, signal?: AbortSignal): Promise<StepTimelineEntry[]> {
  return (await apiJson<{ steps: StepTimelineEntry[] }>(`${path(id)}/steps`, { signal })).steps;
}

export const cancelExecution = (id: string) => apiJson<Execution>(`${path(id)}/cancel`, { method: "POST" });
export const executionStreamPath = (id: string) => `${path(id)}/stream`;

export function decideApproval(id: string, toolCallId: string, approved: boolean) {
  return apiJson<{ toolCallId: string; status: string }>(`${path(id)}/approvals/${encodeURIComponent(toolCallId)}`, {
    method: "POST",
    body: { approved },
  });
}
