import { publicMetadata } from "../runs/public-metadata";
import type { AgentRow, ExecutionRow, OutboxRow, ToolApprovalRow } from "../../drizzle/schema";
import type { ConversationSummary } from "../db/repositories/conversations";

export function agentView(agent: AgentRow) {
  return {
    id: agent.id,
    name: agent.name,
    instructions: agent.instructions,
    model: agent.model,
    tools: agent.tools,
    executionMode: agent.executionMode,
    createdAt: agent.createdAt.toISOString(),
    updatedAt: agent.updatedAt.toISOString(),
  };
}

export function executionView(execution: ExecutionRow & { pendingApprovals: ToolApprovalRow[] }) {
  return {
    id: execution.id,
    mode: execution.mode,
    status: execution.status,
    agentId: execution.agentId,
    conversationId: execution.conversationId,
    ...(execution.workflowRunId ? { workflowRunId: execution.workflowRunId } : {}),
    pendingApprovals: execution.pendingApprovals.map((approval) => ({
      toolCallId: approval.toolCallId,
      toolName: approval.toolName,
      input: approval.input,
      requestedAt: approval.requestedAt.toISOString(),
    })),
    metadata: publicMetadata(execution.metadata),
    ...(execution.error ? { error: execution.error } : {}),
    createdAt: execution.createdAt.toISOString(),
    updatedAt: execution.updatedAt.toISOString(),
    ...(execution.completedAt ? { completedAt: execution.completedAt.toISOString() } : {}),
  };
}

export function conversationSummaryView(conversation: ConversationSummary) {
  return {
    id: conversation.id,
    agentId: conversation.agentId,
    title: conversation.title,
    updatedAt: conversation.updatedAt.toISOString(),
    activeExecutionId: conversation.activeExecutionId,
  };
}

export function outboxView(row: OutboxRow) {
  return {
    messageId: row.messageId,
    toolCallId: row.toolCallId,
    executionId: row.executionId,
    to: row.to,
    subject: row.subject,
    body: row.body,
    sentAt: row.sentAt.toISOString(),
  };
}
