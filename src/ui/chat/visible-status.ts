import type { ChatStatus } from "ai";
import { isFinished, type Execution } from "../tether-api/types";
import type { ConnectionPhase } from "./observed-chat-transport";

export type VisibleStatus = "reconnecting" | "resumed" | "streaming" | "waiting for approval" | "error" | "ready";

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
  const runOpen = !execution || !isFinished(execution.status);
  const pendingOnServer = !!execution && execution.pendingApprovals.length > 0;
  if (runOpen && (awaitingApproval || pendingOnServer)) return "waiting for approval";
  return "ready";
}
