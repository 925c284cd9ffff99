import { convertToModelMessages, createIdGenerator, stepCountIs, streamText, type UIMessage } from "ai";
import type { AgentRow, ExecutionRow } from "../../drizzle/schema";
import { resolveModel, type ModelSettings } from "../agents/models";
import { buildToolSet } from "../agents/tools";
import type { Repositories } from "../db/repositories";
import type { Logger } from "../logger";
import type { StreamBuffer } from "../streams";

export const generateMessageId = createIdGenerator({ prefix: "msg", size: 20 });

export interface ClassicRunnerDependencies {
  repositories: Repositories;
  models: ModelSettings;
  maxSteps: number;
  logger: Logger;
  now: () => Date;
  /** Masks credential values in text that leaves the process (stored errors). */
  redact: (text: string) => string;
}

export interface ClassicRun {
  execution: ExecutionRow;
  agent: AgentRow;
  /** The conversation so far, ending with the message being answered. */
  history: UIMessage[];
  buffer: StreamBuffer;
  /** The logger of the request that started the run, so its lines carry that request id. */
  logger?: Logger;
}

/**
 * Runs classic executions in this process: `streamText` → UI message chunks → the stream buffer, which
 * every HTTP reader (the original response included) reads. Nothing here is tied to a request, so a
 * disconnect never stops a run; only `abort()` does.
 */
export function createClassicRunner(dependencies: ClassicRunnerDependencies) {
  const { repositories, logger } = dependencies;
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  async function execute(run: ClassicRun, controller: AbortController): Promise<void> {
    const { execution, agent, buffer } = run;
    const log = (run.logger ?? logger).child({ executionId: execution.id, conversationId: execution.conversationId, mode: "classic" });
    log.info({ agentId: agent.id, model: agent.model }, "run started");

    const toolInputs = new Map<string, { toolName: string; input: unknown }>();
    const approvalRequests: { toolCallId: string; approvalId: string }[] = [];
    let failure: string | undefined;
    let responseMessage: UIMessage | undefined;

    try {
      const tools = buildToolSet(agent.tools, {
        executionId: execution.id,
        outbox: repositories.outbox,
        now: dependencies.now,
      });
      const result = streamText({
        model: resolveModel(agent.model, dependencies.models),
        system: agent.instructions || undefined,
        messages: await convertToModelMessages(run.history, { tools }),
        tools,
        stopWhen: stepCountIs(dependencies.maxSteps),
        abortSignal: controller.signal,
        // Reported once, through the UI stream's onError below.
        onError: () => {},
      });
      const chunks = result.toUIMessageStream({
        originalMessages: run.history,
        generateMessageId,
        onFinish: (event) => {
          responseMessage = event.responseMessage;
        },
        onError: (error) => {
          failure ??= dependencies.redact(error instanceof Error ? error.message : String(error));
          log.warn({ error: failure }, "model stream failed");
          return "The model failed to answer.";
        },
      });
      for await (const chunk of chunks) {
        if (buffer.status === "streaming") buffer.append(chunk);
        // Someone else ended the stream (a new turn, a cancel): stop paying for the model too.
        else if (!controller.signal.aborted) controller.abort();
        if (chunk.type === "tool-input-available") {
          toolInputs.set(chunk.toolCallId, { toolName: chunk.toolName, input: chunk.input });
        } else if (chunk.type === "tool-approval-request") {
          approvalRequests.push({ toolCallId: chunk.toolCallId, approvalId: chunk.approvalId });
        } else if (chunk.type === "error") {
          failure ??= chunk.errorText;
        }
      }
    } catch (error) {
      failure ??= dependencies.redact(error instanceof Error ? error.message : String(error));
      log.error({ error: failure }, "run crashed");
    }

    try {
      if (responseMessage && responseMessage.parts.length > 0) {
        await repositories.messages.upsert(execution.conversationId, responseMessage);
        await repositories.conversations.touch(execution.conversationId);
      }
      if (controller.signal.aborted) {
        // The canceller already recorded the status and ended the stream.
        log.info("run stopped");
        return;
      }
      if (failure !== undefined) {
        await repositories.executions.updateStatus(execution.id, { status: "failed", error: failure });
        buffer.finish("failed");
        log.info({ status: "failed" }, "run ended");
      } else if (approvalRequests.length > 0) {
        await repositories.approvals.request(
          execution.id,
          approvalRequests.map(({ toolCallId, approvalId }) => ({
            toolCallId,
            approvalId,
            toolName: toolInputs.get(toolCallId)?.toolName ?? "unknown",
            input: toolInputs.get(toolCallId)?.input ?? null,
          })),
        );
        await repositories.executions.updateStatus(execution.id, {
          status: "suspended",
          metadata: { messageId: responseMessage?.id, pendingToolCallIds: approvalRequests.map((r) => r.toolCallId) },
        });
        buffer.finish("suspended");
        log.info({ status: "suspended", approvals: approvalRequests.length }, "run suspended");
      } else {
        await repositories.executions.updateStatus(execution.id, {
          status: "completed",
          metadata: { messageId: responseMessage?.id },
        });
        buffer.finish("completed");
        log.info({ status: "completed" }, "run ended");
      }
    } catch (error) {
      // A cancel that raced the end of the run wins; anything else is a real failure to record.
      log.warn({ error: error instanceof Error ? error.message : String(error) }, "could not record the end of the run");
      const current = await repositories.executions.find(execution.id).catch(() => undefined);
      if (current && (current.status === "running" || current.status === "suspended")) {
        await repositories.executions
          .updateStatus(execution.id, { status: "failed", error: "could not record the end of the run" })
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
      running.set(run.execution.id, { controller, done });
    },

    /** Stops a run of this process; answers whether one was running. */
    abort(executionId: string): boolean {
      const entry = running.get(executionId);
      entry?.controller.abort();
      return entry !== undefined;
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
