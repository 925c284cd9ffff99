import type { ExecutionRow, ToolApprovalRow } from "../../drizzle/schema";
import { newExecutionId } from "../db/repositories/executions";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import type { Logger } from "../logger";
import { withDecisions, type ApprovalAnswer } from "./approval-parts";
import { roundAfterRequest } from "./durable/rounds";
import { isTerminal, tryMoveStatus } from "./execution-status";
import type { Principal } from "./principal";
import type { OpenedStream, RunContext } from "./run-context";
import type { RunStarts } from "./turns";

/** How long an answer waits for a live durable round to record the request it answers. */
const REQUEST_RECORDED_WAIT_MS = 3_000;

/**
 * Answering tool approvals, both ways a client can: `POST /api/executions/:id/approvals/:toolCallId`, or
 * a chat request whose last (assistant) message carries the answers. Both go through `answer`, which
 * records the decisions and moves the run on: a durable run is woken; a classic run is continued, in a
 * new execution, once every call of its turn is decided.
 */
export function approvalAnswers(context: RunContext, starts: Pick<RunStarts, "startClassic">) {
  const { repositories, buffers, classic, durable, logger } = context;
  // Continuations being started in this process, so two racing answers attach to one continuation.
  const continuations = new Map<string, Promise<OpenedStream>>();

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
          { toolCallId: approval.toolCallId, approved: approval.status === "approved", reason: approval.reason ?? undefined },
        ]),
      );
      const history = await repositories.messages.list(target.conversationId);
      const last = history.at(-1);
      if (last?.role === "assistant") {
        history[history.length - 1] = withDecisions(last, decisions);
        await repositories.messages.upsert(target.conversationId, history.at(-1)!);
      }
      return starts.startClassic({
        agent: await repositories.agents.get(target.agentId),
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
      (opened) => classic.whenDone(opened.execution.id).finally(() => continuations.delete(target.id)),
      () => continuations.delete(target.id),
    );
    return started;
  }

  /**
   * Records the decisions on one execution's tool calls and moves its run on. Answers the execution as
   * stored afterwards and, for a classic run whose calls are now all decided, its continuation.
   */
  async function answer(principal: Principal, execution: ExecutionRow, answers: ApprovalAnswer[], log?: Logger) {
    // A decision is recorded only where it can also wake its run (else it would wait for its timeout).
    if (execution.mode === "durable") await context.requireDurable();
    const decided: ToolApprovalRow[] = [];
    for (const { toolCallId, approved, reason } of answers) {
      const decision = { executionId: execution.id, toolCallId, approved, reason, decidedBy: principal.userId };
      decided.push((await repositories.approvals.decide(decision)).approval);
    }
    const current = await repositories.executions.get(execution.id);
    if (current.mode === "durable") {
      await durable.wake(current.id, answers.map((answer) => answer.toolCallId));
      return { execution: current, decided };
    }
    const pending = await repositories.approvals.pendingFor([current.id]);
    const continuation = current.status === "suspended" && pending.length === 0 ? continueClassic(current, log) : undefined;
    return { execution: current, decided, pending, continuation };
  }

  /**
   * The approval request of a tool call in a conversation. A durable round streams its request a moment
   * before its step records it (with the step's result), so while a durable run's round is still running a
   * client that answers at once is given that moment.
   */
  async function findRequest(conversationId: string, toolCallId: string): Promise<ToolApprovalRow | undefined> {
    const deadline = Date.now() + REQUEST_RECORDED_WAIT_MS;
    for (;;) {
      const approval = await repositories.approvals.findInConversation(conversationId, toolCallId);
      if (approval || Date.now() > deadline) return approval;
      const latest = await repositories.executions.latestForConversation(conversationId);
      if (latest?.mode !== "durable" || isTerminal(latest.status)) return undefined;
      // A round records its requests with its suspension: a run waiting for a person has recorded them all
      // (looked up once more, since they may have landed after the lookup above).
      if (latest.status === "suspended") return repositories.approvals.findInConversation(conversationId, toolCallId);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  return {
    /** `POST /api/executions/:id/approvals/:toolCallId`; a classic continuation runs on server-side (the resume route serves it). */
    async decideApproval(
      principal: Principal,
      input: { executionId: string; toolCallId: string; approved: boolean; reason?: string },
      log?: Logger,
    ) {
      const execution = await context.visibleExecution(principal, input.executionId);
      const { decided, continuation } = await answer(principal, execution, [input], log);
      void continuation?.catch((error: unknown) =>
        logger.error({ executionId: execution.id, error: String(error) }, "could not continue after approval"),
      );
      const [approval] = decided;
      return { toolCallId: approval!.toolCallId, status: approval!.status };
    },

    /** A chat request that answers approvals: the stream of what the run does next. */
    async answerInChat(
      principal: Principal,
      conversationId: string,
      answers: ApprovalAnswer[],
      log?: Logger,
    ): Promise<OpenedStream> {
      const requests: ToolApprovalRow[] = [];
      // A durable run that has not recorded a request yet is given a moment, so this needs its runtime now.
      if ((await repositories.executions.latestForConversation(conversationId))?.mode === "durable") await context.requireDurable();
      for (const { toolCallId } of answers) {
        const request = await findRequest(conversationId, toolCallId);
        if (!request) throw new NotFoundError("tool call", toolCallId);
        requests.push(request);
      }
      if (new Set(requests.map((request) => request.executionId)).size !== 1) {
        throw new InvalidInputError("messages", "the answers must belong to one turn");
      }
      const answered = await answer(principal, await repositories.executions.get(requests[0]!.executionId), answers, log);
      const { execution } = answered;
      if (execution.mode === "durable") {
        // The answer streams the round after the one that asked, even when the run has not recorded its
        // suspension yet (a client may answer as soon as it read the request).
        return { execution, events: durable.openRound(execution, roundAfterRequest(requests[0]!.round, execution)) };
      }
      if (answered.continuation) return answered.continuation;
      if (execution.status === "suspended") {
        throw new ConflictError(`approvals still pending: ${answered.pending!.map((p) => p.toolCallId).join(", ")}`);
      }
      return attachToContinuation(execution);
    },
  };
}
