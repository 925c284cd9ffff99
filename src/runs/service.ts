import type { RetryBudget } from "./agent-turn";
import type { UIMessage } from "ai";
import type { AgentRow, ExecutionMode, ExecutionRow, ToolApprovalRow } from "../../drizzle/schema";
import type { ToolServerSettings } from "../agents/mcp";
import type { ModelSettings } from "../agents/models";
import type { Repositories } from "../db/repositories";
import { newExecutionId } from "../db/repositories/executions";
import { storedMessage } from "../db/repositories/messages";
import { ConflictError, DomainError, GoneError, InvalidInputError, NotFoundError } from "../errors";
import type { Logger } from "../logger";
import {
  readClassicFromChunk,
  readFromChunk,
  type ClassicStream,
  type ClassicStreamStore,
  type StreamEvent,
} from "../streams";
import { approvalAnswersIn, withDecisions, withPendingDenied, type ApprovalAnswer } from "./approval-parts";
import { offsetBefore, type ClassicPeers, type ForwardingHop, type PeerStream } from "./classic-peers";
import { watchCancelledElsewhere } from "./cancelled-elsewhere";
import { createClassicRunner } from "./classic-runner";
import { createDurableRunner, currentRound } from "./durable/durable-runner";
import { readStepTimeline, type StepTimelineEntry } from "./durable/step-timeline";
import { canSee, type Principal } from "./principal";
import { PROCESS_KEY } from "./public-metadata";
import { ACTIVE_STATUSES, isTerminal, tryMoveStatus, type CancelReason } from "./execution-status";

export interface RunServiceDependencies {
  repositories: Repositories;
  /** Refuses new turns when this process is at a limit (tests may leave it out). */
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
}

export interface ChatRequest {
  conversationId: string;
  agentId: string;
  messages: UIMessage[];
  trigger?: "submit-message" | "regenerate-message";
  messageId?: string;
  executionMode?: ExecutionMode;
}

/** A run's stream as the HTTP layer serves it. */
export interface OpenedStream {
  execution: Pick<ExecutionRow, "id" | "conversationId" | "mode">;
  events: AsyncIterable<StreamEvent> & { cancel?: () => void };
  /** Read from a negative chunk index: the index of the turn's last chunk when it was opened. */
  tailIndex?: number;
}

/**
 * Where a resumed turn starts: after an event's offset (`Last-Event-ID`, `?offset=`), or at a chunk index of
 * the turn's stream (WorkflowChatTransport's `startIndex`: chunks counted from the turn's first; negative:
 * the last |n|).
 */
export type ResumePosition = { offset: string } | { chunkIndex: number };

export interface ExecutionDetails extends ExecutionRow {
  pendingApprovals: ToolApprovalRow[];
}

const TITLE_LENGTH = 80;
/** How long an answer waits for a live durable round to record the request it answers. */
const REQUEST_RECORDED_WAIT_MS = 3_000;


/** A classic turn's stream from where the client resumes it. */
function readClassicTurn(stream: ClassicStream, from?: ResumePosition): Pick<OpenedStream, "events" | "tailIndex"> {
  if (from && "chunkIndex" in from) return readClassicFromChunk(stream, from.chunkIndex);
  return { events: stream.read(from?.offset) };
}

function titleOf(message: UIMessage): string {
  const text = message.parts.flatMap((part) => (part.type === "text" ? [part.text] : [])).join(" ");
  return text.replace(/\s+/g, " ").trim().slice(0, TITLE_LENGTH);
}

/**
 * The two execution modes behind one interface: start a chat turn, decide an approval, cancel, and open
 * a run's stream. Throws domain errors only; the HTTP layer maps them.
 */
export function createRunService(dependencies: RunServiceDependencies) {
  const { repositories, buffers, logger } = dependencies;
  const now = dependencies.now ?? (() => new Date());
  const runner = createClassicRunner({
    repositories,
    models: dependencies.models,
    maxSteps: dependencies.maxSteps,
    modelRetries: dependencies.modelRetries,
    logger,
    now,
    redact: dependencies.redact ?? ((text) => text),
    toolServers: dependencies.toolServers,
  });
  // With several processes a cancel may be recorded by another one; only this one can stop the model here.
  const cancelledElsewhere = dependencies.peers
    ? watchCancelledElsewhere({
        executions: repositories.executions,
        runningIds: () => runner.runningIds(),
        end: (executionId, reason) => runner.stopCancelledElsewhere(executionId, reason),
        logger,
      })
    : undefined;
  const durable = createDurableRunner({
    executions: repositories.executions,
    approvalTimeoutMs: dependencies.approvalTimeoutMs,
    maxSteps: dependencies.maxSteps,
    logger,
  });
  /** Waits (briefly) for this process's workflow runtime while it starts, rather than refusing at once. */
  const requireDurable = async () => {
    if (!(await dependencies.durableReady())) {
      throw new DomainError("unavailable", "durable execution is not running on this server yet; try again shortly");
    }
  };
  // Continuations being started in this process, so two racing answers attach to one continuation.
  const continuations = new Map<string, Promise<OpenedStream>>();

  async function visibleExecution(principal: Principal, executionId: string): Promise<ExecutionRow> {
    const execution = await repositories.executions.find(executionId);
    if (!execution || !canSee(principal, execution.ownerId)) throw new NotFoundError("execution", executionId);
    return execution;
  }

  async function visibleConversation(principal: Principal, conversationId: string) {
    const conversation = await repositories.conversations.find(conversationId);
    if (!conversation || !canSee(principal, conversation.ownerId)) {
      throw new NotFoundError("conversation", conversationId);
    }
    return conversation;
  }

  /** The conversation a chat request may use: undefined when it does not exist; 404/409 when it is not usable. */
  async function usableConversation(principal: Principal, conversationId: string, agent: AgentRow) {
    const existing = await repositories.conversations.find(conversationId);
    if (existing && !canSee(principal, existing.ownerId)) throw new NotFoundError("conversation", conversationId);
    if (existing && existing.agentId !== agent.id) {
      throw new ConflictError(`conversation ${existing.id} belongs to agent ${existing.agentId}`);
    }
    return existing;
  }

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
    const existing = await usableConversation(principal, request.conversationId, agent);
    if (!existing) throw new ConflictError(`conversation ${request.conversationId} changed while it was opened; try again`);
    await repositories.conversations.touch(existing.id);
    return { conversation: existing, created: false };
  }

  async function startClassic(input: {
    agent: AgentRow;
    conversationId: string;
    ownerId: string;
    history: UIMessage[];
    executionId?: string;
    metadata?: Record<string, unknown>;
    logger?: Logger;
  }): Promise<OpenedStream> {
    const execution = await repositories.executions.create({
      id: input.executionId,
      mode: "classic",
      agentId: input.agent.id,
      conversationId: input.conversationId,
      ownerId: input.ownerId,
      ...dependencies.peers?.stamp(),
      metadata: {
        model: input.agent.model,
        ...(dependencies.processId === undefined ? {} : { [PROCESS_KEY]: dependencies.processId }),
        ...input.metadata,
      },
    });
    const buffer = buffers.create(execution.id, { conversationId: input.conversationId, ownerId: input.ownerId });
    // Subscribed before the producer starts: the response sees every chunk from the first.
    const events = buffer.read();
    runner.start({ execution, agent: input.agent, history: input.history, buffer, logger: input.logger });
    return { execution, events };
  }

  async function startDurable(input: {
    agent: AgentRow;
    conversationId: string;
    ownerId: string;
  }): Promise<OpenedStream> {
    await requireDurable();
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
  async function cancel(execution: ExecutionRow, reason: CancelReason): Promise<ExecutionRow> {
    const cancelled =
      execution.mode === "classic" ? await runner.cancel(execution, reason) : await durable.cancel(execution, reason);
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

  async function attachToContinuation(target: ExecutionRow): Promise<OpenedStream> {
    const continuationId = target.metadata.continuedBy;
    const buffer = typeof continuationId === "string" ? buffers.get(continuationId) : undefined;
    if (typeof continuationId !== "string" || !buffer) {
      throw new ConflictError(`the approvals of execution ${target.id} were already answered`);
    }
    return { execution: await repositories.executions.get(continuationId), events: buffer.read() };
  }

  /** Continues a suspended classic execution whose approvals are all decided, in a new execution. */
  function continueClassic(target: ExecutionRow, log?: Logger): Promise<OpenedStream> {
    const inFlight = continuations.get(target.id);
    if (inFlight) return inFlight;
    const started = (async () => {
      const continuationId = newExecutionId();
      const handedOver = await tryMoveStatus(
        repositories.executions,
        target.id,
        { status: "completed", metadata: { continuedBy: continuationId } },
        ["suspended"],
      );
      if (!handedOver) return attachToContinuation(await repositories.executions.get(target.id));
      const decisions = new Map<string, ApprovalAnswer>(
        (await repositories.approvals.listForExecution(target.id)).map((approval) => [
          approval.toolCallId,
          {
            toolCallId: approval.toolCallId,
            approved: approval.status === "approved",
            reason: approval.reason ?? undefined,
          },
        ]),
      );
      const history = await repositories.messages.list(target.conversationId);
      const last = history.at(-1);
      if (last?.role === "assistant") {
        history[history.length - 1] = withDecisions(last, decisions);
        await repositories.messages.upsert(target.conversationId, history.at(-1)!);
      }
      const agent = await repositories.agents.get(target.agentId);
      return startClassic({
        agent,
        conversationId: target.conversationId,
        ownerId: target.ownerId,
        history,
        executionId: continuationId,
        metadata: { continuationOf: target.id },
        logger: log,
      });
    })();
    continuations.set(target.id, started);
    void started.then(
      (opened) => runner.whenDone(opened.execution.id).finally(() => continuations.delete(target.id)),
      () => continuations.delete(target.id),
    );
    return started;
  }

  /**
   * The approval request of a tool call in a conversation. A durable round streams its request a moment
   * before its step records it (with the step's result), so while a durable run is live a client that
   * answers at once is given that moment.
   */
  async function findRequest(conversationId: string, toolCallId: string): Promise<ToolApprovalRow | undefined> {
    const deadline = Date.now() + REQUEST_RECORDED_WAIT_MS;
    for (;;) {
      const approval = await repositories.approvals.findInConversation(conversationId, toolCallId);
      if (approval || Date.now() > deadline) return approval;
      const latest = await repositories.executions.latestForConversation(conversationId);
      if (latest?.mode !== "durable" || isTerminal(latest.status)) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Records each answer through the one decision record; all or nothing is checked before writing. */
  async function recordAnswers(principal: Principal, conversationId: string, answers: ApprovalAnswer[]) {
    const approvals: ToolApprovalRow[] = [];
    for (const answer of answers) {
      const approval = await findRequest(conversationId, answer.toolCallId);
      if (!approval) throw new NotFoundError("tool call", answer.toolCallId);
      approvals.push(approval);
    }
    const executionIds = new Set(approvals.map((approval) => approval.executionId));
    if (executionIds.size !== 1) {
      throw new InvalidInputError("messages", "the answers must belong to one turn");
    }
    for (const answer of answers) {
      await repositories.approvals.decide({
        executionId: approvals[0]!.executionId,
        toolCallId: answer.toolCallId,
        approved: answer.approved,
        reason: answer.reason,
        decidedBy: principal.userId,
      });
    }
    return { execution: await repositories.executions.get(approvals[0]!.executionId), requestedInRound: approvals[0]!.round };
  }

  /** Another process's classic run, when the request may go there (`hop`): where to, or its end if it cannot. */
  function classicElsewhere(
    execution: ExecutionRow,
    lastOffset: string | undefined,
    hop: ForwardingHop | undefined,
  ): PeerStream | Promise<OpenedStream> | undefined {
    const { peers } = dependencies;
    if (!hop || !peers?.runsElsewhere(execution)) return undefined;
    return peers.open(execution, lastOffset, hop.forwarded);
  }

  /**
   * The whole run's stream from an offset; GoneError once a classic buffer has expired. With a `hop`,
   * another process's classic run answers where to forward the request.
   */
  function openExecutionStream(principal: Principal, executionId: string, after?: string): Promise<OpenedStream>;
  function openExecutionStream(
    principal: Principal,
    executionId: string,
    after: string | undefined,
    hop: ForwardingHop,
  ): Promise<OpenedStream | PeerStream>;
  async function openExecutionStream(
    principal: Principal,
    executionId: string,
    after?: string,
    hop?: ForwardingHop,
  ): Promise<OpenedStream | PeerStream> {
    const inMemory = buffers.get(executionId);
    if (inMemory?.ownerId !== undefined && inMemory.conversationId !== undefined && canSee(principal, inMemory.ownerId)) {
      // A classic run of this process: answered from memory, with no database round trip before the first byte.
      const execution = { id: executionId, conversationId: inMemory.conversationId, mode: "classic" as const };
      return { execution, events: inMemory.read(after) };
    }
    const execution = await visibleExecution(principal, executionId);
    if (execution.mode === "durable") {
      await requireDurable();
      if (!execution.workflowRunId) throw new ConflictError(`execution ${execution.id} has not started yet`);
      return { execution, events: durable.openRun(execution, after) };
    }
    const buffer = buffers.get(execution.id);
    const elsewhere = buffer ? undefined : classicElsewhere(execution, after, hop);
    if (elsewhere) return elsewhere;
    if (!buffer) throw new GoneError(`the stream of execution ${execution.id} has expired`);
    return { execution, events: buffer.read(after) };
  }

  return {
    /** Classic turns running in this process now. */
    activeTurns: () => runner.runningCount(),

    /** POST /api/chat: a new turn, or the answer to a turn's tool approvals. */
    async chat(principal: Principal, request: ChatRequest, log?: Logger): Promise<OpenedStream> {
      // Before any work: a refused turn leaves nothing behind, and the client may simply send it again.
      const agent = await repositories.agents.get(request.agentId);
      const mode = request.executionMode ?? agent.executionMode;
      const last = request.messages.at(-1);
      if (!last) throw new InvalidInputError("messages", "at least one message is required");
      if (last.role === "assistant") {
        const existing = await usableConversation(principal, request.conversationId, agent);
        if (!existing) throw new NotFoundError("conversation", request.conversationId);
        const answers = approvalAnswersIn(last);
        if (answers.length === 0) {
          throw new InvalidInputError("messages", "the last message is an assistant message that answers no approval");
        }
        // A decision is recorded only where it can also wake its run (else it would wait for its timeout).
        if ((await repositories.executions.latestForConversation(existing.id))?.mode === "durable") await requireDurable();
        const { execution: target, requestedInRound } = await recordAnswers(principal, existing.id, answers);
        if (target.mode === "durable") {
          await requireDurable();
          await durable.wake(target.id, answers.map((answer) => answer.toolCallId));
          // The answer streams the round after the one that asked, even when the run has not recorded its
          // suspension yet (a client may answer as soon as it read the request).
          const round =
            requestedInRound === null ? currentRound(target) + (target.status === "suspended" ? 1 : 0) : requestedInRound + 1;
          return { execution: target, events: durable.openRound(target, round) };
        }
        if (target.status === "suspended") {
          const pending = await repositories.approvals.pendingFor([target.id]);
          if (pending.length > 0) {
            throw new ConflictError(`approvals still pending: ${pending.map((p) => p.toolCallId).join(", ")}`);
          }
          return continueClassic(target, log);
        }
        return attachToContinuation(target);
      }
      if (last.role !== "user") {
        throw new InvalidInputError("messages", "the last message must be a user message");
      }

      const opened = await openConversationForTurn(principal, request, agent, last);
      const { conversation } = opened;
      if (!opened.created) {
        for (const active of await repositories.executions.ofConversationIn(conversation.id, ACTIVE_STATUSES)) {
          await cancel(active, "superseded").catch((error: unknown) => {
            if (!(error instanceof ConflictError)) throw error;
          });
        }
        if (request.messageId && request.messageId !== last.id) {
          await repositories.messages.truncateFrom(conversation.id, request.messageId);
        }
      }
      await repositories.messages.upsert(conversation.id, last);
      if (!opened.created) await repositories.messages.truncateAfter(conversation.id, last.id);
      if (mode === "durable") {
        return startDurable({ agent, conversationId: conversation.id, ownerId: conversation.ownerId });
      }
      // A conversation this turn created holds exactly the message just stored.
      const history = opened.created ? [storedMessage(last)] : await repositories.messages.list(conversation.id);
      return startClassic({
        agent,
        conversationId: conversation.id,
        ownerId: conversation.ownerId,
        history,
        logger: log,
      });
    },

    async decideApproval(
      principal: Principal,
      input: { executionId: string; toolCallId: string; approved: boolean; reason?: string },
      log?: Logger,
    ) {
      const execution = await visibleExecution(principal, input.executionId);
      // A decision is recorded only where it can also wake its run (else it would wait for its timeout).
      if (execution.mode === "durable") await requireDurable();
      const { approval } = await repositories.approvals.decide({ ...input, decidedBy: principal.userId });
      if (execution.mode === "durable") {
        await durable.wake(execution.id, [input.toolCallId]);
      } else {
        const current = await repositories.executions.get(execution.id);
        const pending = await repositories.approvals.pendingFor([execution.id]);
        if (current.status === "suspended" && pending.length === 0) {
          // Continue server-side; the resume route serves the continuation's stream.
          void continueClassic(current, log).catch((error: unknown) =>
            logger.error({ executionId: execution.id, error: String(error) }, "could not continue after approval"),
          );
        }
      }
      return { toolCallId: approval.toolCallId, status: approval.status };
    },

    async cancelExecution(principal: Principal, executionId: string): Promise<ExecutionRow> {
      return cancel(await visibleExecution(principal, executionId), "cancelled");
    },

    /** Stops whatever runs in a conversation; undefined when nothing does. */
    async stopConversation(principal: Principal, conversationId: string) {
      await visibleConversation(principal, conversationId);
      const [active] = await repositories.executions.ofConversationIn(conversationId, ACTIVE_STATUSES);
      if (!active) return undefined;
      return cancel(active, "cancelled");
    },

    async getExecution(principal: Principal, executionId: string): Promise<ExecutionDetails> {
      const execution = await visibleExecution(principal, executionId);
      return { ...execution, pendingApprovals: await repositories.approvals.pendingFor([execution.id]) };
    },

    /** A durable run's steps with every attempt (how each ended); a classic run has none. */
    async getExecutionSteps(principal: Principal, executionId: string): Promise<StepTimelineEntry[]> {
      const execution = await visibleExecution(principal, executionId);
      if (execution.mode !== "durable" || !execution.workflowRunId) return [];
      await requireDurable();
      return readStepTimeline(execution.workflowRunId);
    },

    async listExecutions(
      principal: Principal,
      filter: Omit<Parameters<Repositories["executions"]["list"]>[0], "ownerId">,
    ) {
      const page = await repositories.executions.list({
        ...filter,
        ownerId: principal.admin ? undefined : principal.userId,
      });
      const pending = await repositories.approvals.pendingFor(page.executions.map((execution) => execution.id));
      return {
        executions: page.executions.map((execution) => ({
          ...execution,
          pendingApprovals: pending.filter((approval) => approval.executionId === execution.id),
        })),
        nextCursor: page.nextCursor,
      };
    },

    openExecutionStream,

    /**
     * The turn streaming now in a conversation (from `from`, else its start), or undefined when none is.
     * With a `hop`, another process's classic turn answers where to forward the request.
     */
    async openConversationStream(
      principal: Principal,
      conversationId: string,
      from?: ResumePosition,
      hop?: ForwardingHop,
    ): Promise<OpenedStream | PeerStream | undefined> {
      const current = buffers.currentForConversation(conversationId);
      if (current?.status === "streaming" && current.ownerId !== undefined && canSee(principal, current.ownerId)) {
        // The conversation's turn is a classic run streaming in this process (a newer turn would have ended it).
        const execution = { id: current.executionId, conversationId, mode: "classic" as const };
        return { execution, ...readClassicTurn(current, from) };
      }
      await visibleConversation(principal, conversationId);
      const latest = await repositories.executions.latestForConversation(conversationId);
      if (!latest) return undefined;
      // A turn that has ended is served only to a client that names where it was cut off (API v1.1);
      // without an offset the AI SDK expects 204 for "nothing to resume".
      const ended = latest.status !== "running";
      if (ended && from === undefined) return undefined;
      if (latest.mode === "durable") {
        await requireDurable();
        if (!latest.workflowRunId) return undefined;
        if (from && "chunkIndex" in from) {
          // Counted on the whole turn as this reader yields it (r0, r1 … with superseded attempts left out).
          return { execution: latest, ...(await readFromChunk(durable.openTurn(latest), from.chunkIndex, { live: !ended })) };
        }
        return { execution: latest, events: durable.openTurn(latest, from?.offset) };
      }
      const buffer = buffers.get(latest.id);
      const elsewhere = buffer ? undefined : classicElsewhere(latest, offsetBefore(from), hop);
      if (elsewhere) return elsewhere;
      if (ended && !buffer) throw new GoneError(`the stream of execution ${latest.id} has expired`);
      if (!buffer || (!ended && buffer.status !== "streaming")) return undefined;
      return { execution: latest, ...readClassicTurn(buffer, from) };
    },

    async getConversation(principal: Principal, conversationId: string) {
      const conversation = await visibleConversation(principal, conversationId);
      return { ...conversation, messages: await repositories.messages.list(conversationId) };
    },

    listConversations(principal: Principal, filter: { agentId?: string }) {
      return repositories.conversations.list({
        ...filter,
        ownerId: principal.admin ? undefined : principal.userId,
      });
    },

    /** Stops every classic run of this process (shutdown); their rows end as cancelled. */
    async stopAll(): Promise<void> {
      cancelledElsewhere?.stop();
      const ids = runner.runningIds();
      for (const id of ids) {
        const execution = await repositories.executions.find(id);
        if (execution && !isTerminal(execution.status)) await cancel(execution, "cancelled").catch(() => undefined);
      }
      runner.abortAll();
      await runner.drain();
    },
  };
}

export type RunService = ReturnType<typeof createRunService>;
