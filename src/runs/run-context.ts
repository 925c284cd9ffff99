import type { AgentRow, ExecutionRow } from "../../drizzle/schema";
import type { Repositories } from "../db/repositories";
import type { ConversationSummary } from "../db/repositories/conversations";
import { ConflictError, DomainError, NotFoundError } from "../errors";
import type { Logger } from "../logger";
import type { ClassicStreamStore, StreamEvent } from "../streams";
import type { ClassicPeers } from "./classic-peers";
import type { ClassicRunner } from "./classic-runner";
import type { DurableRunner } from "./durable/durable-runner";
import { canSee, type Principal } from "./principal";

/** A run's stream as the HTTP layer serves it. */
export interface OpenedStream {
  execution: Pick<ExecutionRow, "id" | "conversationId" | "mode">;
  events: AsyncIterable<StreamEvent> & { cancel?: () => void };
  /** Read from a negative chunk index: the index of the turn's last chunk when it was opened. */
  tailIndex?: number;
}

/** What the use cases of the run service share: storage, the two runners, and who may see what. */
export interface RunContext {
  repositories: Repositories;
  buffers: ClassicStreamStore;
  logger: Logger;
  classic: ClassicRunner;
  durable: DurableRunner;
  /** With several processes (PostgreSQL): how the classic runs of the others are reached. */
  peers?: ClassicPeers;
  /** This process's name, stamped on the classic runs it starts (see interrupted-runs.ts). */
  processId?: string;
  /** Waits (briefly) for this process's workflow runtime while it starts; `unavailable` if it does not. */
  requireDurable(): Promise<void>;
  visibleExecution(principal: Principal, executionId: string): Promise<ExecutionRow>;
  visibleConversation(principal: Principal, conversationId: string): Promise<ConversationSummary>;
  /** The conversation a chat request may use: undefined when it does not exist; 404/409 when it is not usable. */
  usableConversation(principal: Principal, conversationId: string, agent: AgentRow): Promise<ConversationSummary | undefined>;
}

/** Who may see what: a principal sees its own executions and conversations (an admin sees all); others are 404. */
export function visibilityChecks(repositories: Repositories) {
  return {
    async visibleExecution(principal: Principal, executionId: string): Promise<ExecutionRow> {
      const execution = await repositories.executions.find(executionId);
      if (!execution || !canSee(principal, execution.ownerId)) throw new NotFoundError("execution", executionId);
      return execution;
    },

    async visibleConversation(principal: Principal, conversationId: string) {
      const conversation = await repositories.conversations.find(conversationId);
      if (!conversation || !canSee(principal, conversation.ownerId)) throw new NotFoundError("conversation", conversationId);
      return conversation;
    },

    async usableConversation(principal: Principal, conversationId: string, agent: AgentRow) {
      const existing = await repositories.conversations.find(conversationId);
      if (existing && !canSee(principal, existing.ownerId)) throw new NotFoundError("conversation", conversationId);
      if (existing && existing.agentId !== agent.id) {
        throw new ConflictError(`conversation ${existing.id} belongs to agent ${existing.agentId}`);
      }
      return existing;
    },
  };
}

/** `requireDurable` over a readiness check that resolves false when the runtime did not start in time. */
export function durableRequirement(durableReady: () => Promise<boolean>): () => Promise<void> {
  return async () => {
    if (!(await durableReady())) {
      throw new DomainError("unavailable", "durable execution is not running on this server yet; try again shortly");
    }
  };
}
