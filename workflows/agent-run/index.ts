import { getWorkflowMetadata, getWritable, sleep } from "workflow";
import type { RecordedServerTools } from "../../src/agents/mcp";
import type { RoundEnvelope } from "../../src/runs/durable/rounds";
import { approvalToken, roundNamespace } from "../../src/runs/durable/rounds";
import type { ServerCall } from "../../src/runs/durable/server-tool-calls";
import type { AgentRunInput } from "../../src/runs/durable/workflow-input";
import { approvalHook } from "./hooks/approval";
import { closeRound } from "./steps/close-round";
import { expireUndecided, readDecided } from "./steps/decisions";
import { recordRunServerTools } from "./steps/record-server-tools";
import { recordStatus } from "./steps/record-status";
import { runApprovedTools } from "./steps/run-approved-tools";
import { runModelRound } from "./steps/run-model-round";
import { runServerTool } from "./steps/run-server-tool";

export type { AgentRunInput };

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
 * Runs MCP tool calls one after another, each in a step of its own (at most once each; see runServerTool).
 * Answers false when the run was ended meanwhile (a cancel) and must stop.
 */
async function runServerCalls(
  executionId: string,
  round: number,
  calls: readonly ServerCall[],
  serverTools: RecordedServerTools | undefined,
): Promise<boolean> {
  for (const call of calls) {
    const tool = serverTools?.tools.find((candidate) => candidate.name === call.toolName);
    const { status } = await runServerTool({ executionId, round, call, ...(tool ? { tool } : {}) }, roundStream(round));
    if (status !== "running") return false;
  }
  return true;
}

/**
 * A durable agent run: model round → (tool calls waiting for approval → wait → run them) → next model
 * round … until the model answers without asking. Each round streams to its own namespace (`r0`, `r1`,
 * …); the execution row records every status. MCP tool calls that need no approval continue the same
 * round: the workflow runs them, then asks the model again. Step order is replayed on recovery: keep it
 * deterministic.
 */
export async function agentRun(input: AgentRunInput): Promise<void> {
  "use workflow";
  const { executionId } = input;
  const { workflowRunId } = getWorkflowMetadata();
  const maxSteps = input.maxSteps ?? Number.POSITIVE_INFINITY;
  let round = 0;
  // Runs started before the model round recorded statuses replay the steps that did (see statusInRound).
  const separateStatusSteps = !input.statusInRound;
  try {
    if (separateStatusSteps && (await recordStatus(executionId, { status: "running", workflowRunId })) !== "running") return;
    const serverTools = input.usesToolServers ? await recordRunServerTools(executionId) : undefined;
    let step = 0;
    for (;;) {
      const result = await runModelRound(
        { executionId, round, step, recordsStatus: !separateStatusSteps, ...(serverTools ? { serverTools } : {}) },
        roundStream(round),
      );
      if (result.outcome === "cancelled") return;
      if (result.outcome === "failed" || result.outcome === "completed") {
        if (separateStatusSteps) {
          const error = result.outcome === "failed" ? { error: result.error ?? "the model failed" } : {};
          await recordStatus(executionId, { status: result.outcome, ...error });
        }
        return;
      }
      if (result.outcome === "tools") {
        if (!(await runServerCalls(executionId, round, result.serverCalls ?? [], serverTools))) return;
        step += 1;
        // As a classic turn stops after its step limit: the tools answered, the model is not asked again.
        if (step >= maxSteps) {
          await closeRound(roundStream(round), round, "completed", { finish: true });
          await recordStatus(executionId, { status: "completed" });
          return;
        }
        continue;
      }
      if (separateStatusSteps) {
        const suspended = await recordStatus(executionId, {
          status: "suspended",
          metadata: { round, pendingToolCallIds: result.toolCallIds },
        });
        if (suspended !== "suspended") return;
      }
      // A cancel meanwhile ends this workflow run (and runApprovedTools would find the run ended).
      await waitForDecisions(executionId, result.toolCallIds, input.approvalTimeoutMs);
      round += 1;
      step = 1;
      const tools = await runApprovedTools({ executionId, round, toolCallIds: result.toolCallIds }, roundStream(round));
      if (tools.status !== "running") return;
      const calls = [...(tools.serverCalls ?? []), ...(result.serverCalls ?? [])];
      if (!(await runServerCalls(executionId, round, calls, serverTools))) return;
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await closeRound(roundStream(round), round, "failed");
    await recordStatus(executionId, { status: "failed", error: message });
  }
}
