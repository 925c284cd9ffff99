import { resumeHook, start, getRun } from "workflow/api";
import { HookNotFoundError } from "workflow/errors";
import type { AgentRow, ExecutionRow } from "../../../drizzle/schema";
import { namesServerTools } from "../../agents/mcp";
import type { ExecutionRepository } from "../../db/repositories/executions";
import type { Logger } from "../../logger";
import type { StreamEvent } from "../../streams/types";
import { parseDurableOffset, readCurrentRound, readWholeRun } from "./reader";
import { approvalToken, currentRound } from "./rounds";
import { AGENT_RUN_WORKFLOW_ID } from "./runtime";
import type { AgentRunInput } from "./workflow-input";
import { recordCancel, type CancelReason } from "../execution-status";

/**
 * Durable executions: each one a run of the `agentRun` workflow, started with ids only. Streams are read
 * from the run's round namespaces; any server process sharing the world can serve them.
 */
export function createDurableRunner(dependencies: {
  executions: ExecutionRepository;
  approvalTimeoutMs: number;
  maxSteps: number;
  logger: Logger;
}) {
  const { executions, logger } = dependencies;

  return {
    /** Starts the workflow for an execution row that already exists; records its run id. */
    async start(execution: ExecutionRow, agent: Pick<AgentRow, "tools">): Promise<ExecutionRow> {
      const input: AgentRunInput = {
        executionId: execution.id,
        approvalTimeoutMs: dependencies.approvalTimeoutMs,
        maxSteps: dependencies.maxSteps,
        usesToolServers: namesServerTools(agent.tools),
        statusInRound: true,
      };
      const run = await start({ workflowId: AGENT_RUN_WORKFLOW_ID }, [input]);
      logger.info({ executionId: execution.id, workflowRunId: run.runId, mode: "durable" }, "run started");
      return executions.setWorkflowRunId(execution.id, run.runId);
    },

    /** Wakes the run waiting on these tool calls; a run not waiting yet reads the decision record itself. */
    async wake(executionId: string, toolCallIds: string[]): Promise<void> {
      for (const toolCallId of toolCallIds) {
        try {
          await resumeHook(approvalToken(executionId, toolCallId), { toolCallId });
        } catch (error) {
          if (!HookNotFoundError.is(error)) throw error;
        }
      }
    },

    /** Records the cancel, then cancels the workflow run (its steps also watch the status and stop). */
    async cancel(execution: ExecutionRow, reason: CancelReason): Promise<ExecutionRow> {
      const cancelled = await recordCancel(executions, execution, reason);
      if (cancelled.workflowRunId) {
        await getRun(cancelled.workflowRunId)
          .cancel()
          .catch((error: unknown) =>
            logger.warn({ executionId: execution.id, error: String(error) }, "could not cancel the workflow run"),
          );
      }
      return cancelled;
    },

    /** One round's stream from its start, as the chat response that started it serves it. */
    openRound(execution: ExecutionRow, round: number): AsyncIterable<StreamEvent> {
      return readCurrentRound({ executions, execution }, round);
    },

    /**
     * The turn as a chat client resumes it: every round from the start (or after `offset`), so a client
     * that rebuilds the message from scratch sees the tool calls later rounds answer; it ends where the
     * run stops to wait for a person, or at its end.
     */
    openTurn(execution: ExecutionRow, offset?: string): AsyncIterable<StreamEvent> {
      const after = parseDurableOffset(offset);
      return readWholeRun({ executions, execution }, after, currentRound(execution));
    },

    /** Every round of the run, stitched in order; `cancel()` stops a reader that waits for the run. */
    openRun(execution: ExecutionRow, offset?: string): AsyncIterable<StreamEvent> & { cancel: () => void } {
      const after = parseDurableOffset(offset);
      const abandoned = new AbortController();
      const events = readWholeRun({ executions, execution, signal: abandoned.signal }, after);
      return Object.assign(events, { cancel: () => abandoned.abort() });
    },
  };
}

export type DurableRunner = ReturnType<typeof createDurableRunner>;
