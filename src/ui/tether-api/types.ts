import type { UIMessage } from "ai";

export type ExecutionMode = "classic" | "durable";
export type ExecutionStatus = "running" | "suspended" | "completed" | "failed" | "cancelled";

export const EXECUTION_MODES: readonly ExecutionMode[] = ["classic", "durable"];
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ["running", "suspended", "completed", "failed", "cancelled"];
/** The tools built into Tether; MCP tools are named `<serverId>:<toolName>` (or `<serverId>:*`). */
export const BUILT_IN_TOOL_NAMES = ["get_time", "send_email"] as const;

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

/** How one attempt of a durable step ended: `error` was retried, `interrupted` means its process died. */
export type StepAttemptOutcome = "running" | "completed" | "error" | "failed" | "interrupted";

export interface StepAttempt {
  attempt: number;
  startedAt: string;
  endedAt?: string;
  outcome: StepAttemptOutcome;
  error?: string;
}

/** One step of a durable run (`GET /api/executions/:id/steps`), with every attempt it took. */
export interface StepTimelineEntry {
  stepId: string;
  /** The step function's name, e.g. `runModelRound`. */
  name: string;
  status: "pending" | "running" | "completed" | "failed";
  createdAt: string;
  attempts: StepAttempt[];
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
