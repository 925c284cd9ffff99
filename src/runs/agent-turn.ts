import type { UIMessage, UIMessageChunk } from "ai";
import type { AgentRow } from "../../drizzle/schema";
import { modelSpecOf, resolveModel, type ModelSettings } from "../agents/models";
import type { ToolServerSettings } from "../agents/mcp";
import { openAgentTools, type AgentTools, type ServerToolSource } from "../agents/tools";
import type { Repositories } from "../db/repositories";
import type { ApprovalRequest } from "../db/repositories/approvals";
import type { Logger } from "../logger";
import { streamModel, type ModelStreamEnd } from "./model-stream";
import type { ModelWorkers } from "./model-workers/pool";
import { describeTools } from "./model-workers/protocol";

export { generateMessageId } from "./model-stream";

/** How often a failed call is retried (transient errors only), and the first backoff (doubling after). */
export interface RetryBudget {
  retries: number;
  delayMs: number;
}

/** What a turn needs from the service, in either execution mode. */
export interface TurnServices {
  repositories: Repositories;
  models: ModelSettings;
  maxSteps: number;
  /** How often a failed model call is retried (transient errors only), and the first backoff. */
  modelRetries: RetryBudget;
  now: () => Date;
  /** Masks credential values in text that leaves the process (stored errors). */
  redact: (text: string) => string;
  /** How turns reach MCP tool servers. */
  toolServers?: ToolServerSettings;
  /** Threads for the model's stream (absent: the model streams in this thread). */
  modelWorkers?: ModelWorkers;
}

export interface TurnSummary {
  /** The assistant message as it stands after the turn (absent when nothing was produced). */
  responseMessage?: UIMessage;
  approvals: ApprovalRequest[];
  /** What the run records when the model failed (redacted). */
  failure?: string;
  /** The error itself, to tell a transient failure from a permanent one. */
  failureCause?: unknown;
}

export type TurnOutcome = "completed" | "suspended" | "failed";

export function outcomeOf(summary: TurnSummary): TurnOutcome {
  if (summary.failure !== undefined) return "failed";
  return summary.approvals.length > 0 ? "suspended" : "completed";
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * One model turn: `streamText` over the conversation (./model-stream) → AI SDK UI message chunks. Tools that need no
 * approval run inside the turn; one that needs approval ends it with a `tool-approval-request`. The
 * summary (message, approval requests, failure) is complete once the chunks have been read to the end.
 */
export function streamAgentTurn(input: {
  agent: AgentRow;
  executionId: string;
  history: UIMessage[];
  services: TurnServices;
  logger: Logger;
  abortSignal?: AbortSignal;
  /** False when an earlier writer already sent this message's `start` chunk. */
  sendStart?: boolean;
  /** Retries of a failed model call inside the turn (durable turns retry their whole step instead). */
  maxRetries: number;
  /** The id of the message the turn starts, when it must not change between attempts (a random one else). */
  messageId?: string;
  /** Where the agent's MCP tools come from (without it, MCP tools the agent names answer that they are not offered). */
  servers?: ServerToolSource;
}): { chunks: AsyncIterable<UIMessageChunk>; summary: TurnSummary } {
  const { agent, services } = input;
  const summary: TurnSummary = { approvals: [] };
  const toolInputs = new Map<string, { toolName: string; input: unknown }>();

  /** The model's stream over the turn's tools: in a model worker when the model and tools can go there. */
  async function openModelStream(tools: AgentTools["tools"]): Promise<{ chunks: AsyncIterable<UIMessageChunk>; end: ModelStreamEnd }> {
    const request = {
      system: agent.instructions || undefined,
      history: input.history,
      maxSteps: services.maxSteps,
      maxRetries: input.maxRetries,
      messageId: input.messageId,
      sendStart: input.sendStart ?? true,
    };
    const workers = services.modelWorkers;
    const spec = workers && modelSpecOf(agent.model, services.models);
    const described = spec && (await describeTools(tools));
    if (workers && spec && described) return workers.streamTurn({ ...request, spec, tools: described }, tools, input.abortSignal);
    return streamModel({ ...request, model: resolveModel(agent.model, services.models), tools, abortSignal: input.abortSignal });
  }

  async function* chunks(): AsyncGenerator<UIMessageChunk> {
    let agentTools: AgentTools | undefined;
    try {
      agentTools = await openAgentTools(
        agent.tools,
        { executionId: input.executionId, outbox: services.repositories.outbox, now: services.now },
        input.servers,
      );
      const model = await openModelStream(agentTools.tools);
      let streamError: string | undefined;
      for await (const chunk of model.chunks) {
        if (chunk.type === "tool-input-available") {
          toolInputs.set(chunk.toolCallId, { toolName: chunk.toolName, input: chunk.input });
        } else if (chunk.type === "tool-approval-request") {
          const call = toolInputs.get(chunk.toolCallId);
          summary.approvals.push({
            toolCallId: chunk.toolCallId,
            approvalId: chunk.approvalId,
            toolName: call?.toolName ?? "unknown",
            input: call?.input ?? null,
          });
        } else if (chunk.type === "error") {
          streamError ??= chunk.errorText;
        }
        yield chunk;
      }
      summary.responseMessage = model.end.responseMessage;
      if (model.end.failure !== undefined) {
        summary.failureCause ??= model.end.failure;
        summary.failure ??= services.redact(errorText(model.end.failure));
        input.logger.warn({ error: summary.failure }, "model stream failed");
      }
      summary.failure ??= streamError;
    } catch (error) {
      summary.failureCause ??= error;
      summary.failure ??= services.redact(errorText(error));
      input.logger.error({ error: summary.failure }, "turn crashed");
    } finally {
      // However the turn ends (completed, stopped, failed), its MCP sessions end with it.
      await agentTools?.close();
    }
  }

  return { chunks: chunks(), summary };
}

/** Persists what a turn produced: the assistant message (idempotently) and its approval requests. */
export async function persistTurn(
  repositories: Repositories,
  execution: { id: string; conversationId: string },
  summary: TurnSummary,
): Promise<void> {
  if (summary.responseMessage && summary.responseMessage.parts.length > 0) {
    await repositories.messages.upsert(execution.conversationId, summary.responseMessage);
    await repositories.conversations.touch(execution.conversationId);
  }
  await repositories.approvals.request(execution.id, summary.approvals);
}
