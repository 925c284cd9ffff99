import {
  convertToModelMessages,
  createIdGenerator,
  stepCountIs,
  streamText,
  type UIMessage,
  type UIMessageChunk,
} from "ai";
import type { AgentRow } from "../../drizzle/schema";
import { resolveModel, type ModelSettings } from "../agents/models";
import { isToolCallFailure, type ToolServerSettings } from "../agents/mcp";
import { openAgentTools, type AgentTools, type ServerToolSource } from "../agents/tools";
import type { Repositories } from "../db/repositories";
import type { ApprovalRequest } from "../db/repositories/approvals";
import type { Logger } from "../logger";

export const generateMessageId = createIdGenerator({ prefix: "msg", size: 20 });

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
 * One model turn: `streamText` over the conversation → AI SDK UI message chunks. Tools that need no
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

  async function* chunks(): AsyncGenerator<UIMessageChunk> {
    let agentTools: AgentTools | undefined;
    try {
      agentTools = await openAgentTools(
        agent.tools,
        { executionId: input.executionId, outbox: services.repositories.outbox, now: services.now },
        input.servers,
      );
      const { tools } = agentTools;
      const result = streamText({
        model: resolveModel(agent.model, services.models),
        system: agent.instructions || undefined,
        messages: await convertToModelMessages(input.history, { tools }),
        tools,
        stopWhen: stepCountIs(services.maxSteps),
        abortSignal: input.abortSignal,
        maxRetries: input.maxRetries,
        // Reported once, through the UI stream's onError below.
        onError: () => {},
      });
      const stream = result.toUIMessageStream({
        originalMessages: input.history,
        generateMessageId: input.messageId === undefined ? generateMessageId : () => input.messageId!,
        sendStart: input.sendStart ?? true,
        onFinish: (event) => {
          summary.responseMessage = event.responseMessage;
        },
        onError: (error) => {
          // A tool that failed (server down, error result, timeout) is the model's to handle, not the run's.
          if (isToolCallFailure(error)) return error.message;
          summary.failureCause ??= error;
          summary.failure ??= services.redact(errorText(error));
          input.logger.warn({ error: summary.failure }, "model stream failed");
          return "The model failed to answer.";
        },
      });
      for await (const chunk of stream) {
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
          summary.failure ??= chunk.errorText;
        }
        yield chunk;
      }
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
