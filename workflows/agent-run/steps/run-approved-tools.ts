import { isToolUIPart, type UIMessage } from "ai";
import type { ExecutionStatus } from "../../../drizzle/schema";
import { getStepMetadata, getWorkflowMetadata } from "workflow";
import { isToolName, toolDefinition } from "../../../src/agents/tools";
import { createRoundWriter } from "../../../src/runs/durable/round-writer";
import { attemptKey, type RoundEnvelope } from "../../../src/runs/durable/rounds";
import { runOnce } from "../../../src/runs/durable/run-once";
import { UNBOUNDED_RETRIES } from "../../../src/runs/durable/retry-limits";
import type { ServerCall } from "../../../src/runs/durable/server-tool-calls";
import { withStepRetries } from "../../../src/runs/durable/step-retries";
import { stepServices } from "../../../src/runs/durable/step-services";
import { tryMoveStatus } from "../../../src/runs/execution-status";

type Part = UIMessage["parts"][number];

export interface ApprovedToolsResult {
  status: ExecutionStatus;
  /** Approved MCP tool calls, left for the workflow to run each in a step of its own. */
  serverCalls?: ServerCall[];
}

/**
 * Marks the execution running again in its next round, runs the decided tool calls of the last round and
 * starts the next round's stream with their results (approved MCP tool calls are answered for the workflow
 * to run in steps of their own). Idempotent by tool call id: a built-in tool with a side
 * effect keys it on the id (the outbox keeps one row per id), so a retry or a crash restart never repeats
 * it. Leaves the round open for the model step. Answers the status: anything but `running` (a cancel
 * that came first) means the run must stop.
 */
export async function runApprovedTools(
  input: { executionId: string; round: number; toolCallIds: string[] },
  writable: WritableStream<RoundEnvelope>,
): Promise<ApprovedToolsResult> {
  "use step";
  const { stepId, attempt } = getStepMetadata();
  return withStepRetries(() => runOnce(input.executionId, stepId, async () => ({ result: await approvedTools(input, writable, { stepId, attempt }) })));
}
runApprovedTools.maxRetries = UNBOUNDED_RETRIES;

async function approvedTools(
  input: { executionId: string; round: number; toolCallIds: string[] },
  writable: WritableStream<RoundEnvelope>,
  { stepId, attempt }: { stepId: string; attempt: number },
): Promise<ApprovedToolsResult> {
  const services = stepServices();
  const { repositories } = services;
  const resumed = await tryMoveStatus(repositories.executions, input.executionId, {
    status: "running",
    metadata: { round: input.round, [attemptKey(stepId)]: attempt },
  });
  if (!resumed) return { status: (await repositories.executions.get(input.executionId)).status };
  services.logger.info({ executionId: resumed.id, mode: "durable", status: "running", round: input.round }, "run status");
  const execution = resumed;
  const approvals = (await repositories.approvals.listForExecution(execution.id)).filter((approval) =>
    input.toolCallIds.includes(approval.toolCallId),
  );
  const history = await repositories.messages.list(execution.conversationId);
  const message = history.findLast((candidate) => candidate.role === "assistant");
  if (!message) throw new Error(`execution ${execution.id} has no assistant message to continue`);

  const writer = createRoundWriter(writable, { stepId, attempt }, { workflowRunId: getWorkflowMetadata().workflowRunId, round: input.round });
  await writer.write({ type: "start", messageId: message.id });
  const results = new Map<string, Partial<Part>>();
  const serverCalls: ServerCall[] = [];
  for (const approval of approvals) {
    const answer = { approved: approval.status === "approved", ...(approval.reason ? { reason: approval.reason } : {}) };
    if (!answer.approved) {
      // Left as an answered request: the model step's AI SDK reports the denial to the client and to the
      // model (as an execution-denied result), exactly as in classic mode.
      results.set(approval.toolCallId, { state: "approval-responded", approval: answer } as Partial<Part>);
      continue;
    }
    if (!isToolName(approval.toolName)) {
      serverCalls.push({ toolCallId: approval.toolCallId, toolName: approval.toolName });
      continue;
    }
    try {
      const output = await toolDefinition(approval.toolName).execute(approval.input, {
        executionId: execution.id,
        toolCallId: approval.toolCallId,
        outbox: repositories.outbox,
        now: services.now,
      });
      await writer.write({ type: "tool-output-available", toolCallId: approval.toolCallId, output });
      results.set(approval.toolCallId, { state: "output-available", output, approval: answer } as Partial<Part>);
    } catch (error) {
      const errorText = services.redact(error instanceof Error ? error.message : String(error));
      await writer.write({ type: "tool-output-error", toolCallId: approval.toolCallId, errorText });
      results.set(approval.toolCallId, { state: "output-error", errorText, approval: answer } as Partial<Part>);
    }
  }
  await writer.release();

  const parts = message.parts.map((part) => {
    if (!isToolUIPart(part)) return part;
    const result = results.get(part.toolCallId);
    if (!result) return part;
    const approval = "approval" in part && part.approval ? { ...part.approval, ...(result as { approval: object }).approval } : undefined;
    return { ...part, ...result, ...(approval ? { approval } : {}) } as Part;
  });
  await repositories.messages.upsert(execution.conversationId, { ...message, parts });
  return { status: "running", serverCalls };
}
