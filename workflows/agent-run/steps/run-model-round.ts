import type { UIMessageChunk } from "ai";
import { FatalError, getStepMetadata, getWorkflowMetadata } from "workflow";
import { outcomeOf, persistTurn, streamAgentTurn, type TurnOutcome } from "../../../src/runs/agent-turn";
import type { RecordedServerTools } from "../../../src/agents/mcp";
import { createRoundWriter } from "../../../src/runs/durable/round-writer";
import { attemptKey, roundStreamName, turnMessageId, type RoundEnvelope } from "../../../src/runs/durable/rounds";
import { getWorld } from "workflow/runtime";
import { runOnce, type StepFinish } from "../../../src/runs/durable/run-once";
import { UNBOUNDED_RETRIES } from "../../../src/runs/durable/retry-limits";
import { pendingServerCalls, type ServerCall } from "../../../src/runs/durable/server-tool-calls";
import { retryOrFail, withStepRetries } from "../../../src/runs/durable/step-retries";
import { stepServices } from "../../../src/runs/durable/step-services";
import type { StatusChange } from "../../../src/db/repositories/executions";
import { createTerminalChunk } from "../../../src/streams/terminal-chunk";
import { isTerminal, tryMoveStatus, type CancelReason } from "../../../src/runs/execution-status";
import { watchForCancel } from "../../../src/runs/durable/cancel-watch";

export interface ModelRoundInput {
  executionId: string;
  round: number;
  /** Model steps of this round before this one (each followed by MCP tool calls the workflow ran). */
  step?: number;
  /** The MCP tools the run recorded when it started. */
  serverTools?: RecordedServerTools;
  /** The round records the status its outcome leaves the run in (see AgentRunInput.statusInRound). */
  recordsStatus?: boolean;
}

export interface ModelRoundResult {
  /** `tools`: the model called MCP tools that need no approval; the round goes on once they ran. */
  outcome: TurnOutcome | "cancelled" | "tools";
  /** Tool calls waiting for a person (outcome `suspended`). */
  toolCallIds: string[];
  /** MCP tool calls the workflow runs, each in a step of its own (without approval; after it, when suspended). */
  serverCalls?: ServerCall[];
  error?: string;
}

/**
 * One model turn of a durable run, streamed into the round's namespace and closed on every path that
 * returns. A transient model error is retried as the step's next attempt (within TETHER_MODEL_RETRIES);
 * a permanent one, or one past that budget, ends the round `failed` with its cause. A crash leaves the
 * namespace open for the retry, which writes as the next attempt; readers skip the superseded attempt's
 * chunks. A second delivery while the first still runs waits for it and answers its result (see runOnce).
 */
export async function runModelRound(
  input: ModelRoundInput,
  writable: WritableStream<RoundEnvelope>,
): Promise<ModelRoundResult> {
  "use step";
  const { stepId, attempt } = getStepMetadata();
  const location = { workflowRunId: getWorkflowMetadata().workflowRunId, round: input.round };
  // A result recorded by an attempt cut before it closed the round: every chunk landed before the result
  // was recorded, so only the close is left to do.
  const closeIfOpen = async (result: ModelRoundResult) => {
    if (result.outcome === "tools") return;
    const info = await getWorld().getStreamInfo(roundStreamName(location.workflowRunId, location.round), location.workflowRunId);
    if (!info.done) await createRoundWriter(writable, { stepId, attempt }, location).close();
  };
  return withStepRetries(() =>
    runOnce(input.executionId, stepId, () => modelRound(input, writable, { stepId, attempt }), closeIfOpen),
  );
}
runModelRound.maxRetries = UNBOUNDED_RETRIES;

async function modelRound(
  input: ModelRoundInput,
  writable: WritableStream<RoundEnvelope>,
  { stepId, attempt }: { stepId: string; attempt: number },
): Promise<StepFinish<ModelRoundResult>> {
  const services = stepServices();
  const { repositories } = services;
  // Recorded before the first write: a reader that opens the round later skips older attempts at once.
  const { workflowRunId } = getWorkflowMetadata();
  const execution = await repositories.executions.mergeMetadata(
    input.executionId,
    { [attemptKey(stepId)]: attempt, round: input.round },
    // The server records the run id once start() answers; a crash in between must not lose it.
    input.recordsStatus ? workflowRunId : undefined,
  );
  const writer = createRoundWriter(writable, { stepId, attempt }, { workflowRunId, round: input.round });
  if (isTerminal(execution.status)) {
    await writer.close();
    return { result: { outcome: "cancelled", toolCallIds: [] } };
  }
  const logger = services.logger.child({ executionId: execution.id, mode: "durable", round: input.round, attempt });
  const agent = await repositories.agents.get(execution.agentId);
  const history = await repositories.messages.list(execution.conversationId);
  // A cancel does not interrupt a running step: watch for it and stop paying for the model. The round
  // ends with the cancel's reason: a new turn of the conversation supersedes this one.
  const cancelled = new AbortController();
  let cancelReason: CancelReason = "cancelled";
  const stopWatching = watchForCancel(execution.id, (reason) => {
    cancelReason = reason;
    cancelled.abort();
  });
  const turn = streamAgentTurn({
    agent,
    executionId: execution.id,
    history,
    services,
    logger,
    abortSignal: cancelled.signal,
    // After an approval or an MCP tool call an earlier step has already started this message.
    sendStart: input.round === 0 && (input.step ?? 0) === 0,
    // The step is the unit of retry: each attempt is recorded and shown in the run's timeline.
    maxRetries: 0,
    messageId: turnMessageId(execution.id),
    ...(input.serverTools ? { servers: { recorded: input.serverTools } } : {}),
  });
  // From the model's error on, chunks wait until it is known whether this attempt is retried: a retry
  // must not have shown readers an error it then takes back.
  const held: UIMessageChunk[] = [];
  // The message is not finished while MCP tool calls the workflow runs are still to be answered.
  let finish: UIMessageChunk | undefined;
  try {
    for await (const chunk of turn.chunks) {
      if (chunk.type === "finish") finish = chunk;
      else if (chunk.type === "error" || held.length > 0) held.push(chunk);
      else await writer.write(chunk);
    }
  } finally {
    stopWatching();
  }
  // What the round produced is persisted with its recorded result (see runOnce): a retry of an attempt
  // cut short reads the conversation as this attempt did.
  const persist = (inTransaction: typeof repositories) =>
    persistTurn(inTransaction, execution, {
      ...turn.summary,
      approvals: turn.summary.approvals.map((approval) => ({ ...approval, round: input.round })),
    });
  if (cancelled.signal.aborted) {
    if (finish) await writer.write(finish);
    await writer.write(createTerminalChunk(cancelReason));
    await writer.flush();
    return { result: { outcome: "cancelled", toolCallIds: [] }, commit: persist, afterCommit: writer.close };
  }
  if (turn.summary.failure !== undefined) {
    try {
      await retryOrFail(turn.summary.failureCause, turn.summary.failure, services.modelRetries);
    } catch (error) {
      if (!FatalError.is(error)) {
        logger.warn({ error: turn.summary.failure }, "model failed: retrying the round");
        await writer.flush();
        throw error;
      }
      turn.summary.failure = error.message;
    }
  }
  for (const chunk of held) await writer.write(chunk);
  const serverCalls = turn.summary.failure === undefined ? pendingServerCalls(turn.summary.responseMessage, input.serverTools) : [];
  const toolCallIds = turn.summary.approvals.map((approval) => approval.toolCallId);
  const turnOutcome = outcomeOf(turn.summary);
  const outcome = turnOutcome === "completed" && serverCalls.length > 0 ? "tools" : turnOutcome;
  const error = turn.summary.failure === undefined ? {} : { error: turn.summary.failure };
  if (outcome === "tools") {
    await writer.release();
    return { result: { outcome, toolCallIds, serverCalls }, commit: persist };
  }
  if (finish) await writer.write(finish);
  await writer.write(createTerminalChunk(outcome));
  // Closed once the result is recorded (see StepFinish.afterCommit); every chunk lands before that.
  await writer.flush();
  const status: StatusChange =
    outcome === "suspended"
      ? { status: outcome, metadata: { round: input.round, pendingToolCallIds: toolCallIds } }
      : { status: outcome, ...(outcome === "failed" ? { error: turn.summary.failure ?? "the model failed" } : {}) };
  const commit = async (inTransaction: typeof repositories) => {
    await persist(inTransaction);
    // A cancel recorded meanwhile stays: the status machine refuses to leave `cancelled`.
    if (input.recordsStatus && (await tryMoveStatus(inTransaction.executions, execution.id, status))) {
      logger.info({ status: status.status }, "run status");
    }
  };
  return { result: { outcome, toolCallIds, serverCalls, ...error }, commit, afterCommit: writer.close };
}
