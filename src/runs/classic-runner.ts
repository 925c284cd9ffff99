import type { UIMessage } from "ai";
import type { AgentRow, ExecutionRow } from "../../drizzle/schema";
import type { Logger } from "../logger";
import type { ClassicStream } from "../streams";
import { outcomeOf, persistTurn, streamAgentTurn, type TurnServices } from "./agent-turn";
import { moveStatus, recordCancel, type CancelReason } from "./execution-status";

const YIELD_EVERY_CHUNKS = 64;

export interface ClassicRunnerDependencies extends TurnServices {
  logger: Logger;
}

export interface ClassicRun {
  execution: ExecutionRow;
  agent: AgentRow;
  /** The conversation so far, ending with the message being answered. */
  history: UIMessage[];
  buffer: ClassicStream;
  /** The logger of the request that started the run, so its lines carry that request id. */
  logger?: Logger;
}

/**
 * Runs classic executions in this process: a model turn → UI message chunks → the stream buffer, which
 * every HTTP reader (the original response included) reads. Nothing here is tied to a request, so a
 * disconnect never stops a run; only `cancel()` or `abort()` does. The runner records every end of a
 * classic run: the outcome of its turn, or a cancel.
 */
export function createClassicRunner(dependencies: ClassicRunnerDependencies) {
  const { repositories } = dependencies;
  const running = new Map<string, { controller: AbortController; buffer: ClassicStream; done: Promise<void> }>();

  async function execute(run: ClassicRun, controller: AbortController): Promise<void> {
    const { execution, agent, buffer } = run;
    const log = (run.logger ?? dependencies.logger).child({
      executionId: execution.id,
      conversationId: execution.conversationId,
      mode: "classic",
    });
    log.info({ agentId: agent.id, model: agent.model }, "run started");

    const turn = streamAgentTurn({
      agent,
      executionId: execution.id,
      history: run.history,
      services: dependencies,
      logger: log,
      maxRetries: dependencies.modelRetries.retries,
      abortSignal: controller.signal,
      servers: dependencies.toolServers && {
        access: {
          repository: dependencies.repositories.toolServers,
          settings: { ...dependencies.toolServers, logger: log },
          abortSignal: controller.signal,
        },
      },
    });
    let sinceYield = 0;
    for await (const chunk of turn.chunks) {
      // A model that produces faster than the network would otherwise hold the event loop for the whole
      // turn: no response would be flushed and no other request served meanwhile.
      if (++sinceYield === YIELD_EVERY_CHUNKS) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (buffer.status === "streaming") buffer.append(chunk);
      // Someone else ended the stream (a new turn, a cancel): stop paying for the model too.
      else if (!controller.signal.aborted) controller.abort();
    }

    const { summary } = turn;
    try {
      await persistTurn(repositories, execution, summary);
      if (controller.signal.aborted) {
        // cancel() already recorded the status and ended the stream.
        log.info("run stopped");
        return;
      }
      const outcome = outcomeOf(summary);
      await moveStatus(repositories.executions, execution.id, {
        status: outcome,
        ...(outcome === "failed" ? { error: summary.failure } : {}),
        metadata: {
          messageId: summary.responseMessage?.id,
          ...(outcome === "suspended" ? { pendingToolCallIds: summary.approvals.map((a) => a.toolCallId) } : {}),
        },
      });
      buffer.finish(outcome);
      log.info({ status: outcome }, outcome === "suspended" ? "run suspended" : "run ended");
    } catch (error) {
      // A cancel that raced the end of the run wins; anything else is a real failure to record.
      log.warn({ error: error instanceof Error ? error.message : String(error) }, "could not record the end of the run");
      const current = await repositories.executions.find(execution.id).catch(() => undefined);
      if (current && (current.status === "running" || current.status === "suspended")) {
        await moveStatus(repositories.executions, execution.id, { status: "failed", error: "could not record the end of the run" })
          .catch(() => undefined);
      }
      buffer.finish(current?.status === "cancelled" ? "cancelled" : "failed");
    }
  }

  return {
    /** Starts the run in the background; the caller reads its buffer. */
    start(run: ClassicRun): void {
      const controller = new AbortController();
      const done = execute(run, controller).finally(() => running.delete(run.execution.id));
      running.set(run.execution.id, { controller, buffer: run.buffer, done });
    },

    /**
     * Records the cancel of a classic run and, when this process runs it, stops its model and ends its
     * stream with `reason` (another process running it learns of the cancel from the database).
     */
    async cancel(execution: ExecutionRow, reason: CancelReason): Promise<ExecutionRow> {
      const cancelled = await recordCancel(repositories.executions, execution, reason);
      const entry = running.get(execution.id);
      entry?.controller.abort();
      entry?.buffer.finish(reason);
      return cancelled;
    },

    /** Ends a run of this process that another process recorded cancelled; false when it had ended already. */
    stopCancelledElsewhere(executionId: string, reason: CancelReason): boolean {
      const entry = running.get(executionId);
      if (entry?.buffer.status !== "streaming") return false;
      entry.buffer.finish(reason);
      entry.controller.abort();
      return true;
    },

    /** Stops a run of this process; answers whether one was running. */
    abort(executionId: string): boolean {
      const entry = running.get(executionId);
      entry?.controller.abort();
      return entry !== undefined;
    },

    runningCount(): number {
      return running.size;
    },

    runningIds(): string[] {
      return [...running.keys()];
    },

    /** Resolves when the run has ended (at once when it is not running here). */
    async whenDone(executionId: string): Promise<void> {
      await running.get(executionId)?.done;
    },

    /** Resolves when every run of this process has ended (after abortAll, promptly). */
    async drain(): Promise<void> {
      await Promise.allSettled([...running.values()].map((entry) => entry.done));
    },

    abortAll(): void {
      for (const entry of running.values()) entry.controller.abort();
    },
  };
}

export type ClassicRunner = ReturnType<typeof createClassicRunner>;
