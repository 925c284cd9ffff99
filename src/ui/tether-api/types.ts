import type { UIMessage } from "ai";

export type ExecutionMode = "classic" | "durable";
export type ExecutionStatus = "running" | "suspended" | "completed" | "failed" | "cancelled";

export const EXECUTION_MODES: readonly ExecutionMode[] = ["classic", "durable"];
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ["running", "suspended", "completed", "failed", "cancelled"];
export const TOOL_NAMES = ["get_time", "send_email"] as const;

export interface Agent {
  id: string;
  name: string;
  instructions: string;
  model: string;
  tools: string[];
  executionMode: ExecutionMode;
  createdAt: string;
  updatedAt: string;
}

export type AgentInput = Partial<Pick<Agent, "id" | "name" | "instructions" | "model" | "tools" | "executionMode">>;

export interface PendingApproval {
  toolCallId: string;
  toolName: string;
  input: unknown;
  requestedAt: string;
}

export interface Execution {
  id: string;
  mode: ExecutionMode;
  status: ExecutionStatus;
  agentId: string;
  conversationId: string;
  workflowRunId?: string;
  pendingApprovals: PendingApproval[];
  metadata: Record<string, unknown>;
  error?: unknown;
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
}

export interface Conversation {
  id: string;
  agentId: string;
  messages: UIMessage[];
  activeExecutionId: string | null;
}

export function isFinished(status: ExecutionStatus): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}
