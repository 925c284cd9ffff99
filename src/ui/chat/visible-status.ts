import type { ChatStatus } from "ai";
import { isFinished, type Execution } from "../tether-api/types";
import type { ConnectionPhase } from "./observed-chat-transport";

export type VisibleStatus = "reconnecting" | "resumed" | "streaming" | "waiting for approval" | "running" | "error" | "ready";

export function visibleStatus(input: {
  status: ChatStatus;
  connection: ConnectionPhase;
  awaitingApproval: boolean;
  execution: Execution | null;
}): VisibleStatus {
  const { status, connection, awaitingApproval, execution } = input;
  if (connection === "reconnecting") return "reconnecting";
  if (status === "submitted" || status === "streaming") return connection === "resumed" ? "resumed" : "streaming";
  if (status === "error") return "error";
  if (execution && !isFinished(execution.status)) {
    if (execution.pendingApprovals.length > 0 || execution.status === "suspended") return "waiting for approval";
    // the run goes on without this page attached (e.g. approved from the executions page)
    return "running";
  }
  return awaitingApproval ? "waiting for approval" : "ready";
}
