import { and, asc, desc, eq, inArray } from "drizzle-orm";
import { toolApprovals, workflowExecutions, type ToolApprovalRow } from "../../../drizzle/schema";
import { ConflictError, NotFoundError } from "../../errors";
import type { Database } from "../client";

export interface ApprovalRequest {
  toolCallId: string;
  approvalId?: string;
  toolName: string;
  input: unknown;
  /** The durable round whose model asked. */
  round?: number;
}

export interface Decision {
  executionId: string;
  toolCallId: string;
  approved: boolean;
  reason?: string;
  decidedBy: string;
}

export function createApprovalRepository(db: Database) {
  return {
    /** Records approval requests as pending; a request recorded earlier (a retried step) is left as it is. */
    async request(executionId: string, requests: ApprovalRequest[]): Promise<void> {
      if (requests.length === 0) return;
      await db
        .insert(toolApprovals)
        .values(requests.map((request) => ({ executionId, ...request })))
        .onConflictDoNothing();
    },

    async find(executionId: string, toolCallId: string): Promise<ToolApprovalRow | undefined> {
      const [row] = await db
        .select()
        .from(toolApprovals)
        .where(and(eq(toolApprovals.executionId, executionId), eq(toolApprovals.toolCallId, toolCallId)));
      return row;
    },

    /** The approval of a tool call made anywhere in a conversation (a client answering an older turn). */
    async findInConversation(conversationId: string, toolCallId: string): Promise<ToolApprovalRow | undefined> {
      const [row] = await db
        .select({ approval: toolApprovals })
        .from(toolApprovals)
        .innerJoin(workflowExecutions, eq(workflowExecutions.id, toolApprovals.executionId))
        .where(and(eq(workflowExecutions.conversationId, conversationId), eq(toolApprovals.toolCallId, toolCallId)))
        .orderBy(desc(toolApprovals.requestedAt))
        .limit(1);
      return row?.approval;
    },

    listForExecution(executionId: string): Promise<ToolApprovalRow[]> {
      return db
        .select()
        .from(toolApprovals)
        .where(eq(toolApprovals.executionId, executionId))
        .orderBy(asc(toolApprovals.requestedAt), asc(toolApprovals.toolCallId));
    },

    async pendingFor(executionIds: string[]): Promise<ToolApprovalRow[]> {
      if (executionIds.length === 0) return [];
      return db
        .select()
        .from(toolApprovals)
        .where(and(inArray(toolApprovals.executionId, executionIds), eq(toolApprovals.status, "pending")))
        .orderBy(asc(toolApprovals.requestedAt), asc(toolApprovals.toolCallId));
    },

    /**
     * Records a decision once. The same decision again is a no-op (`changed: false`); a different one, or
     * any decision on an expired approval, is a ConflictError; an unknown tool call is a NotFoundError.
     */
    async decide(decision: Decision): Promise<{ approval: ToolApprovalRow; changed: boolean }> {
      const status = decision.approved ? "approved" : "denied";
      const [updated] = await db
        .update(toolApprovals)
        .set({ status, reason: decision.reason ?? null, decidedBy: decision.decidedBy, decidedAt: new Date() })
        .where(
          and(
            eq(toolApprovals.executionId, decision.executionId),
            eq(toolApprovals.toolCallId, decision.toolCallId),
            eq(toolApprovals.status, "pending"),
          ),
        )
        .returning();
      if (updated) return { approval: updated, changed: true };
      const existing = await this.find(decision.executionId, decision.toolCallId);
      if (!existing) throw new NotFoundError("tool call", decision.toolCallId);
      if (existing.status !== status) {
        throw new ConflictError(`tool call ${decision.toolCallId} was already ${existing.status}`);
      }
      return { approval: existing, changed: false };
    },

    /** Marks every still-pending approval of an execution as expired (timeout or cancellation). */
    async expirePending(executionId: string, reason: string): Promise<ToolApprovalRow[]> {
      return db
        .update(toolApprovals)
        .set({ status: "expired", reason, decidedAt: new Date(), decidedBy: "system" })
        .where(and(eq(toolApprovals.executionId, executionId), eq(toolApprovals.status, "pending")))
        .returning();
    },
  };
}

export type ApprovalRepository = ReturnType<typeof createApprovalRepository>;
