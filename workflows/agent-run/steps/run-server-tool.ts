import { getStepMetadata, getWorkflowMetadata } from "workflow";
import type { ExecutionStatus } from "../../../drizzle/schema";
import { callRecordedTool, isToolCallFailure, type RecordedTool } from "../../../src/agents/mcp";
import { recordedOutcome, type ToolCallOutcome } from "../../../src/db/repositories/tool-calls";
import { createRoundWriter } from "../../../src/runs/durable/round-writer";
import { watchForCancel } from "../../../src/runs/durable/cancel-watch";
import { attemptKey, type RoundEnvelope } from "../../../src/runs/durable/rounds";
import { runOnce } from "../../../src/runs/durable/run-once";
import { UNBOUNDED_RETRIES } from "../../../src/runs/durable/retry-limits";
import { toolPartOf, withToolOutcome, type ServerCall } from "../../../src/runs/durable/server-tool-calls";
import { withStepRetries } from "../../../src/runs/durable/step-retries";
import { stepServices } from "../../../src/runs/durable/step-services";
import { isTerminal } from "../../../src/runs/execution-status";

export interface ServerToolInput {
  executionId: string;
  round: number;
  call: ServerCall;
  /** The tool as the run recorded it (absent: the run never offered it). */
  tool?: RecordedTool;
}

/** What the model is told when a crash left a call's outcome unknown (invariant 17). */
export function unknownOutcome(toolName: string): string {
  return (
    `${toolName}: the outcome of this call is unknown. The server running it stopped during the call, ` +
    "and the tool is not marked idempotent, so it was not called again."
  );
}

/** The outcome recorded for a call stopped by the run's cancel: the server may have acted on it. */
export function cancelledDuringCall(toolName: string): string {
  return `${toolName}: the run was cancelled during this call, which was stopped; its outcome is unknown.`;
}

/**
 * Runs one MCP tool call of a durable run through a session of its own, writes its result into the round
 * and into the stored message, and answers the execution's status (anything but `running`: stop).
 *
 * At most once for a tool without `idempotentHint: true`: `started` is recorded before the call goes out
 * and the outcome once it came back, so a retry that finds `started` alone knows a process died during the
 * call and tells the model the outcome is unknown instead of calling again. An idempotent tool is called
 * again. The credentials are resolved here, from the credential store, never carried in the input.
 */
export async function runServerTool(input: ServerToolInput, writable: WritableStream<RoundEnvelope>): Promise<{ status: ExecutionStatus }> {
  "use step";
  const { stepId, attempt } = getStepMetadata();
  return withStepRetries(() =>
    runOnce(input.executionId, stepId, async () => {
      const services = stepServices();
      const { repositories } = services;
      const execution = await repositories.executions.mergeMetadata(input.executionId, { [attemptKey(stepId)]: attempt });
      if (isTerminal(execution.status)) return { result: { status: execution.status } };
      const history = await repositories.messages.list(execution.conversationId);
      const message = history.findLast((candidate) => candidate.role === "assistant");
      const part = message && toolPartOf(message, input.call.toolCallId);
      if (!message || !part) throw new Error(`execution ${execution.id} has no tool call ${input.call.toolCallId} to run`);

      // A cancel does not interrupt a running step: watch for it, and stop the call (a tool may take minutes).
      const cancelled = new AbortController();
      const stopWatching = watchForCancel(input.executionId, () => cancelled.abort());
      let outcome: ToolCallOutcome;
      try {
        outcome = await callOnce(input, part.input, cancelled.signal);
      } finally {
        stopWatching();
      }
      // The cancel closed the run's round: nothing more is written to it.
      if (cancelled.signal.aborted) return { result: { status: (await repositories.executions.get(input.executionId)).status } };
      const writer = createRoundWriter(writable, { stepId, attempt }, { workflowRunId: getWorkflowMetadata().workflowRunId, round: input.round });
      await writer.write(
        outcome.status === "succeeded"
          ? { type: "tool-output-available", toolCallId: input.call.toolCallId, output: outcome.output }
          : { type: "tool-output-error", toolCallId: input.call.toolCallId, errorText: outcome.errorText },
      );
      await writer.release();
      return {
        result: { status: "running" as const },
        commit: (inTransaction) => inTransaction.messages.upsert(execution.conversationId, withToolOutcome(message, input.call.toolCallId, outcome)),
      };
    }),
  );
}
runServerTool.maxRetries = UNBOUNDED_RETRIES;

/** The call's outcome: recorded by an earlier attempt, unknown after a crash, or the call made now. */
async function callOnce(input: ServerToolInput, toolInput: unknown, abortSignal: AbortSignal): Promise<ToolCallOutcome> {
  const services = stepServices();
  const { toolCalls } = services.repositories;
  const { call, tool } = input;
  const key = { executionId: input.executionId, toolCallId: call.toolCallId, toolName: call.toolName };
  const logger = services.logger.child({ executionId: input.executionId, mode: "durable", toolCallId: call.toolCallId, toolName: call.toolName });
  const recorded = await toolCalls.find(input.executionId, call.toolCallId);
  if (recorded) {
    const finished = recordedOutcome(recorded);
    if (finished) return finished;
    if (!tool?.idempotent) {
      const unknown: ToolCallOutcome = { status: "failed", errorText: unknownOutcome(call.toolName) };
      logger.warn("tool call outcome unknown after a restart: not calling it again");
      await toolCalls.finish(key, unknown);
      return unknown;
    }
  }
  if (!tool) {
    const unoffered: ToolCallOutcome = { status: "failed", errorText: `${call.toolName} was not offered when this run started` };
    await toolCalls.finish(key, unoffered);
    return unoffered;
  }
  await toolCalls.start(key);
  let outcome: ToolCallOutcome;
  try {
    const output = await callRecordedTool(tool, toolInput, {
      toolCallId: call.toolCallId,
      access: { repository: services.repositories.toolServers, settings: { ...services.toolServers, logger }, abortSignal },
    });
    outcome = { status: "succeeded", output };
  } catch (error) {
    if (abortSignal.aborted) outcome = { status: "failed", errorText: cancelledDuringCall(call.toolName) };
    else if (!isToolCallFailure(error)) throw error;
    else outcome = { status: "failed", errorText: error.message };
  }
  await toolCalls.finish(key, outcome);
  return outcome;
}
