import { isToolUIPart, type UIMessage } from "ai";

/** An answer to a tool approval request, as carried by an assistant message's tool part. */
export interface ApprovalAnswer {
  toolCallId: string;
  approved: boolean;
  reason?: string;
}

type ToolPart = Extract<UIMessage["parts"][number], { toolCallId: string }>;

function toolParts(message: UIMessage): ToolPart[] {
  return message.parts.filter((part) => isToolUIPart(part)) as ToolPart[];
}

/** Answers present in a client's message (state `approval-responded`). */
export function approvalAnswersIn(message: UIMessage): ApprovalAnswer[] {
  return toolParts(message).flatMap((part) =>
    part.state === "approval-responded"
      ? [{ toolCallId: part.toolCallId, approved: part.approval.approved, reason: part.approval.reason }]
      : [],
  );
}

/**
 * Writes recorded decisions into a stored message: `approval-requested` parts whose tool call has a
 * decision become `approval-responded`, which the AI SDK then executes (approved) or reports as denied.
 * The decision record, not the client's copy of the message, is the source of truth.
 */
export function withDecisions(message: UIMessage, decisions: ReadonlyMap<string, ApprovalAnswer>): UIMessage {
  return {
    ...message,
    parts: message.parts.map((part) => {
      if (!isToolUIPart(part) || part.state !== "approval-requested") return part;
      const decision = decisions.get(part.toolCallId);
      if (!decision) return part;
      return {
        ...part,
        state: "approval-responded",
        approval: {
          ...part.approval,
          approved: decision.approved,
          ...(decision.reason === undefined ? {} : { reason: decision.reason }),
        },
      } as UIMessage["parts"][number];
    }),
  };
}

/** Closes every unanswered request as denied, for a turn that was abandoned (cancelled or superseded). */
export function withPendingDenied(message: UIMessage, reason: string): UIMessage {
  return {
    ...message,
    parts: message.parts.map((part) => {
      if (!isToolUIPart(part) || part.state !== "approval-requested") return part;
      return {
        ...part,
        state: "output-denied",
        approval: { ...part.approval, approved: false, reason },
      } as UIMessage["parts"][number];
    }),
  };
}
