import type { UIMessage } from "ai";
import type { AgentRow, ExecutionMode, ExecutionRow } from "../../drizzle/schema";
import { storedMessage } from "../db/repositories/messages";
import { ConflictError } from "../errors";
import type { Logger } from "../logger";
import { withPendingDenied } from "./approval-parts";
import { ACTIVE_STATUSES, type CancelReason } from "./execution-status";
import type { Principal } from "./principal";
import { PROCESS_KEY } from "./public-metadata";
import type { OpenedStream, RunContext } from "./run-context";

const TITLE_LENGTH = 80;

export interface ChatRequest {
  conversationId: string;
  agentId: string;
  messages: UIMessage[];
  trigger?: "submit-message" | "regenerate-message";
  messageId?: string;
  executionMode?: ExecutionMode;
}

export interface ClassicStart {
  agent: AgentRow;
  conversationId: string;
  ownerId: string;
  history: UIMessage[];
  executionId?: string;
  metadata?: Record<string, unknown>;
  logger?: Logger;
}

function titleOf(message: UIMessage): string {
  const text = message.parts.flatMap((part) => (part.type === "text" ? [part.text] : [])).join(" ");
  return text.replace(/\s+/g, " ").trim().slice(0, TITLE_LENGTH);
}

/** Starting runs (a user's new turn, or a classic continuation) and cancelling them. */
export function runStarts(context: RunContext) {
  const { repositories, buffers, classic, durable, logger } = context;

  /**
   * The conversation of a new turn, created or touched in one statement in the common case (the caller's
   * own conversation with this agent); otherwise the same checks as for any chat request.
   */
  async function openConversationForTurn(principal: Principal, request: ChatRequest, agent: AgentRow, last: UIMessage) {
    const opened = await repositories.conversations.open({
      id: request.conversationId,
      ownerId: principal.userId,
      agentId: agent.id,
      title: titleOf(last),
    });
    if (opened) return opened;
    // Someone else's conversation (an admin may use it) or another agent's.
    const existing = await context.usableConversation(principal, request.conversationId, agent);
    if (!existing) throw new ConflictError(`conversation ${request.conversationId} changed while it was opened; try again`);
    await repositories.conversations.touch(existing.id);
    return { conversation: existing, created: false };
  }

  async function startClassic(input: ClassicStart): Promise<OpenedStream> {
    const execution = await repositories.executions.create({
      id: input.executionId,
      mode: "classic",
      agentId: input.agent.id,
      conversationId: input.conversationId,
      ownerId: input.ownerId,
      ...context.peers?.stamp(),
      metadata: {
        model: input.agent.model,
        ...(context.processId === undefined ? {} : { [PROCESS_KEY]: context.processId }),
        ...input.metadata,
      },
    });
    const buffer = buffers.create(execution.id, { conversationId: input.conversationId, ownerId: input.ownerId });
    // Subscribed before the producer starts: the response sees every chunk from the first.
    const events = buffer.read();
    classic.start({ execution, agent: input.agent, history: input.history, buffer, logger: input.logger });
    return { execution, events };
  }

  async function startDurable(input: { agent: AgentRow; conversationId: string; ownerId: string }): Promise<OpenedStream> {
    await context.requireDurable();
    const created = await repositories.executions.create({
      mode: "durable",
      agentId: input.agent.id,
      conversationId: input.conversationId,
      ownerId: input.ownerId,
      metadata: { model: input.agent.model, round: 0 },
    });
    const execution = await durable.start(created, input.agent);
    return { execution, events: durable.openRound(execution, 0) };
  }

  /** Cancels an active execution; `superseded` when a new turn replaces it. */
  async function cancelRun(execution: ExecutionRow, reason: CancelReason): Promise<ExecutionRow> {
    const cancelled =
      execution.mode === "classic" ? await classic.cancel(execution, reason) : await durable.cancel(execution, reason);
    const expired = await repositories.approvals.expirePending(execution.id, reason);
    if (expired.length > 0) {
      // Close the unanswered requests in the stored message so later turns see a consistent history.
      const history = await repositories.messages.list(execution.conversationId);
      const last = history.at(-1);
      if (last?.role === "assistant") {
        await repositories.messages.upsert(execution.conversationId, withPendingDenied(last, reason));
      }
    }
    logger.info({ executionId: execution.id, status: "cancelled", reason }, "run cancelled");
    return cancelled;
  }

  /**
   * A user's new turn: stores the message (a regenerate or an edit first drops what it replaces), ends the
   * conversation's turn still running (`superseded`), and starts the run in the agent's mode (or the one asked).
   */
  async function startRun(principal: Principal, request: ChatRequest, agent: AgentRow, last: UIMessage, log?: Logger) {
    const mode = request.executionMode ?? agent.executionMode;
    const opened = await openConversationForTurn(principal, request, agent, last);
    const { conversation } = opened;
    if (!opened.created) {
      for (const active of await repositories.executions.ofConversationIn(conversation.id, ACTIVE_STATUSES)) {
        await cancelRun(active, "superseded").catch((error: unknown) => {
          if (!(error instanceof ConflictError)) throw error;
        });
      }
      if (request.messageId && request.messageId !== last.id) {
        await repositories.messages.truncateFrom(conversation.id, request.messageId);
      }
    }
    await repositories.messages.upsert(conversation.id, last);
    if (!opened.created) await repositories.messages.truncateAfter(conversation.id, last.id);
    if (mode === "durable") return startDurable({ agent, conversationId: conversation.id, ownerId: conversation.ownerId });
    // A conversation this turn created holds exactly the message just stored.
    const history = opened.created ? [storedMessage(last)] : await repositories.messages.list(conversation.id);
    return startClassic({ agent, conversationId: conversation.id, ownerId: conversation.ownerId, history, logger: log });
  }

  return { startRun, startClassic, cancelRun };
}

export type RunStarts = ReturnType<typeof runStarts>;
