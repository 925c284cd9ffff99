import { getWorkflowMetadata, getWritable, sleep } from "workflow";
import type { RoundEnvelope } from "../../src/runs/durable/rounds";
import { approvalToken, roundNamespace } from "../../src/runs/durable/rounds";
import { approvalHook } from "./hooks/approval";
import { closeRound } from "./steps/close-round";
import { expireUndecided, readDecided } from "./steps/decisions";
import { recordStatus } from "./steps/record-status";
import { runApprovedTools } from "./steps/run-approved-tools";
import { runModelRound } from "./steps/run-model-round";

/** The workflow's input: ids and settings only, never a secret. */
export interface AgentRunInput {
  executionId: string;
  approvalTimeoutMs: number;
}

const roundStream = (round: number) => getWritable<RoundEnvelope>({ namespace: roundNamespace(round) });

/**
 * Waits until every listed tool call has a decision, or the timeout passes (then the rest are recorded
 * as expired denials). Hooks are registered before the first read of the decision record, so a
 * decision recorded at any moment is either read or wakes a registered hook.
 */
async function waitForDecisions(executionId: string, toolCallIds: string[], timeoutMs: number): Promise<void> {
  const hooks = toolCallIds.map((toolCallId) => approvalHook.create({ token: approvalToken(executionId, toolCallId) }));
  await Promise.all(hooks.map((hook) => hook.getConflict()));
  const woken = new Map(hooks.map((hook, index) => [toolCallIds[index]!, hook.then(() => toolCallIds[index]!)]));
  const timeout = sleep(timeoutMs).then(() => "timeout" as const);
  let decided = await readDecided(executionId, toolCallIds);
  while (decided.length < toolCallIds.length) {
    const waiting = toolCallIds.filter((id) => !decided.includes(id) && woken.has(id)).map((id) => woken.get(id)!);
    const first = await Promise.race([timeout, ...waiting]);
    if (first === "timeout") {
      await expireUndecided(executionId, "approval timed out");
      return;
    }
    // The server records a decision before it wakes the hook, so a woken tool call is decided.
    woken.delete(first);
    decided = [...decided, first];
  }
}

/**
 * A durable agent run: model round → (tool calls waiting for approval → wait → run them) → next model
 * round … until the model answers without asking. Each round streams to its own namespace (`r0`, `r1`,
 * …); the execution row records every status. Step order is replayed on recovery: keep it deterministic.
 */
export async function agentRun(input: AgentRunInput): Promise<void> {
  "use workflow";
  const { executionId } = input;
  const { workflowRunId } = getWorkflowMetadata();
  let round = 0;
  try {
    if ((await recordStatus(executionId, { status: "running", workflowRunId })) !== "running") return;
    for (;;) {
      const result = await runModelRound({ executionId, round }, roundStream(round));
      if (result.outcome === "cancelled") return;
      if (result.outcome === "failed") {
        await recordStatus(executionId, { status: "failed", error: result.error ?? "the model failed" });
        return;
      }
      if (result.outcome === "completed") {
        await recordStatus(executionId, { status: "completed" });
        return;
      }
      const suspended = await recordStatus(executionId, {
        status: "suspended",
        metadata: { round, pendingToolCallIds: result.toolCallIds },
      });
      if (suspended !== "suspended") return;
      await waitForDecisions(executionId, result.toolCallIds, input.approvalTimeoutMs);
      round += 1;
      const tools = await runApprovedTools({ executionId, round, toolCallIds: result.toolCallIds }, roundStream(round));
      if (tools.status !== "running") return;
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await closeRound(roundStream(round), round, "failed");
    await recordStatus(executionId, { status: "failed", error: message });
  }
}
