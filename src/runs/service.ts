import type { ToolApprovalRow, ExecutionRow } from "../../drizzle/schema";
import type { ToolServerSettings } from "../agents/mcp";
import type { ModelSettings } from "../agents/models";
import type { Repositories } from "../db/repositories";
import { InvalidInputError, NotFoundError } from "../errors";
import type { Logger } from "../logger";
import type { ClassicStreamStore } from "../streams";
import type { RetryBudget } from "./agent-turn";
import { approvalAnswersIn } from "./approval-parts";
import { approvalAnswers } from "./approval-answers";
import { watchCancelledElsewhere } from "./cancelled-elsewhere";
import type { ClassicPeers } from "./classic-peers";
import { createClassicRunner } from "./classic-runner";
import type { ModelWorkers } from "./model-workers/pool";
import { createDurableRunner } from "./durable/durable-runner";
import { readStepTimeline, type StepTimelineEntry } from "./durable/step-timeline";
import { ACTIVE_STATUSES, isTerminal } from "./execution-status";
import type { Principal } from "./principal";
import { durableRequirement, visibilityChecks, type OpenedStream, type RunContext } from "./run-context";
import { runStreams } from "./run-streams";
import { runStarts, type ChatRequest } from "./turns";

export type { OpenedStream } from "./run-context";
export type { ResumePosition } from "./run-streams";
export type { ChatRequest } from "./turns";

export interface RunServiceDependencies {
  repositories: Repositories;
  buffers: ClassicStreamStore;
  models: ModelSettings;
  maxSteps: number;
  modelRetries: RetryBudget;
  approvalTimeoutMs: number;
  logger: Logger;
  now?: () => Date;
  redact?: (text: string) => string;
  /** Resolves true once this process's workflow runtime runs (durable runs need it), false if it did not in time. */
  durableReady: () => Promise<boolean>;
  /** This process's name, stamped on the classic runs it starts (see interrupted-runs.ts). */
  processId?: string;
  /** With several processes (PostgreSQL): how the classic runs of the others are reached. */
  peers?: ClassicPeers;
  /** How classic turns reach MCP tool servers. */
  toolServers?: ToolServerSettings;
  /** Threads for the model's stream of turns. */
  modelWorkers?: ModelWorkers;
}

export interface ExecutionDetails extends ExecutionRow {
  pendingApprovals: ToolApprovalRow[];
}

/**
 * The two execution modes behind one interface: start a run (a chat turn), decide an approval, cancel a
 * run, and open a run's stream. The use cases live in turns.ts, approval-answers.ts and run-streams.ts;
 * this module wires them and answers the queries. Throws domain errors only; the HTTP layer maps them.
 */
export function createRunService(dependencies: RunServiceDependencies) {
  const { repositories, logger } = dependencies;
  const classic = createClassicRunner({
    repositories,
    models: dependencies.models,
    maxSteps: dependencies.maxSteps,
    modelRetries: dependencies.modelRetries,
    logger,
    now: dependencies.now ?? (() => new Date()),
    redact: dependencies.redact ?? ((text) => text),
    toolServers: dependencies.toolServers,
    modelWorkers: dependencies.modelWorkers,
  });
  // With several processes a cancel may be recorded by another one; only this one can stop the model here.
  const cancelledElsewhere = dependencies.peers
    ? watchCancelledElsewhere({
        executions: repositories.executions,
        runningIds: () => classic.runningIds(),
        end: (executionId, reason) => classic.stopCancelledElsewhere(executionId, reason),
        logger,
      })
    : undefined;
  const durable = createDurableRunner({
    executions: repositories.executions,
    approvalTimeoutMs: dependencies.approvalTimeoutMs,
    maxSteps: dependencies.maxSteps,
    logger,
  });
  const context: RunContext = {
    repositories,
    buffers: dependencies.buffers,
    logger,
    classic,
    durable,
    peers: dependencies.peers,
    processId: dependencies.processId,
    requireDurable: durableRequirement(dependencies.durableReady),
    ...visibilityChecks(repositories),
  };
  const starts = runStarts(context);
  const answers = approvalAnswers(context, starts);
  const streams = runStreams(context);

  return {
    /** Classic turns running in this process now. */
    activeTurns: () => classic.runningCount(),

    /** POST /api/chat: a new turn (a user message), or the answer to a turn's tool approvals (an assistant one). */
    async chat(principal: Principal, request: ChatRequest, log?: Logger): Promise<OpenedStream> {
      // Before any work: a refused turn leaves nothing behind, and the client may simply send it again.
      const agent = await repositories.agents.get(request.agentId);
      const last = request.messages.at(-1);
      if (!last) throw new InvalidInputError("messages", "at least one message is required");
      if (last.role === "user") return starts.startRun(principal, request, agent, last, log);
      if (last.role !== "assistant") throw new InvalidInputError("messages", "the last message must be a user message");
      const existing = await context.usableConversation(principal, request.conversationId, agent);
      if (!existing) throw new NotFoundError("conversation", request.conversationId);
      const answered = approvalAnswersIn(last);
      if (answered.length === 0) {
        throw new InvalidInputError("messages", "the last message is an assistant message that answers no approval");
      }
      return answers.answerInChat(principal, existing.id, answered, log);
    },

    decideApproval: answers.decideApproval,

    async cancelRun(principal: Principal, executionId: string): Promise<ExecutionRow> {
      return starts.cancelRun(await context.visibleExecution(principal, executionId), "cancelled");
    },

    /** Stops whatever runs in a conversation; undefined when nothing does. */
    async stopConversation(principal: Principal, conversationId: string) {
      await context.visibleConversation(principal, conversationId);
      const [active] = await repositories.executions.ofConversationIn(conversationId, ACTIVE_STATUSES);
      if (!active) return undefined;
      return starts.cancelRun(active, "cancelled");
    },

    openRunStream: streams.openRunStream,
    openConversationStream: streams.openConversationStream,

    async getExecution(principal: Principal, executionId: string): Promise<ExecutionDetails> {
      const execution = await context.visibleExecution(principal, executionId);
      return { ...execution, pendingApprovals: await repositories.approvals.pendingFor([execution.id]) };
    },

    /** A durable run's steps with every attempt (how each ended); a classic run has none. */
    async getExecutionSteps(principal: Principal, executionId: string): Promise<StepTimelineEntry[]> {
      const execution = await context.visibleExecution(principal, executionId);
      if (execution.mode !== "durable" || !execution.workflowRunId) return [];
      await context.requireDurable();
      return readStepTimeline(execution.workflowRunId);
    },

    async listExecutions(principal: Principal, filter: Omit<Parameters<Repositories["executions"]["list"]>[0], "ownerId">) {
      const page = await repositories.executions.list({ ...filter, ownerId: principal.admin ? undefined : principal.userId });
      const pending = await repositories.approvals.pendingFor(page.executions.map((execution) => execution.id));
      return {
        executions: page.executions.map((execution) => ({
          ...execution,
          pendingApprovals: pending.filter((approval) => approval.executionId === execution.id),
        })),
        nextCursor: page.nextCursor,
      };
    },

    async getConversation(principal: Principal, conversationId: string) {
      const conversation = await context.visibleConversation(principal, conversationId);
      return { ...conversation, messages: await repositories.messages.list(conversationId) };
    },

    listConversations(principal: Principal, filter: { agentId?: string }) {
      return repositories.conversations.list({ ...filter, ownerId: principal.admin ? undefined : principal.userId });
    },

    /** Stops every classic run of this process (shutdown); their rows end as cancelled. */
    async stopAll(): Promise<void> {
      cancelledElsewhere?.stop();
      for (const id of classic.runningIds()) {
        const execution = await repositories.executions.find(id);
        if (execution && !isTerminal(execution.status)) await starts.cancelRun(execution, "cancelled").catch(() => undefined);
      }
      classic.abortAll();
      await classic.drain();
    },
  };
}

export type RunService = ReturnType<typeof createRunService>;
