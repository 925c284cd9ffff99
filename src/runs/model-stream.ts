import type { LanguageModelV3 } from "@ai-sdk/provider";
import {
  convertToModelMessages,
  createIdGenerator,
  stepCountIs,
  streamText,
  type ToolSet,
  type UIMessage,
  type UIMessageChunk,
} from "ai";
import { isToolCallFailure } from "../agents/mcp";

export const generateMessageId = createIdGenerator({ prefix: "msg", size: 20 });

/** What the model answers when its stream failed; the failure itself is kept for the run's record. */
export const MODEL_FAILED_TEXT = "The model failed to answer.";

export interface ModelStreamInput {
  model: LanguageModelV3;
  system?: string;
  history: UIMessage[];
  tools: ToolSet;
  maxSteps: number;
  /** Retries of a failed model call inside the turn. */
  maxRetries: number;
  abortSignal?: AbortSignal;
  /** The id of the message the turn starts (a generated one when absent). */
  messageId?: string;
  /** False when an earlier writer already sent this message's `start` chunk. */
  sendStart: boolean;
}

/** How the stream ended, complete once its chunks have been read to the end. */
export interface ModelStreamEnd {
  /** The assistant message as it stands after the turn. */
  responseMessage?: UIMessage;
  /** The first error that failed the model's stream (a failed tool call is not one: the model is told). */
  failure?: unknown;
}

/**
 * One model turn as AI SDK UI message chunks: `streamText` over the conversation with the turn's tools
 * (those that need no approval run inside it). The one place a turn meets the AI SDK, whether it runs in
 * the main thread or in a model worker.
 */
export function streamModel(input: ModelStreamInput): { chunks: AsyncIterable<UIMessageChunk>; end: ModelStreamEnd } {
  const end: ModelStreamEnd = {};
  async function* chunks(): AsyncGenerator<UIMessageChunk> {
    const result = streamText({
      model: input.model,
      system: input.system || undefined,
      messages: await convertToModelMessages(input.history, { tools: input.tools }),
      tools: input.tools,
      stopWhen: stepCountIs(input.maxSteps),
      abortSignal: input.abortSignal,
      maxRetries: input.maxRetries,
      // Reported once, through the UI stream's onError below.
      onError: () => {},
    });
    yield* result.toUIMessageStream({
      originalMessages: input.history,
      generateMessageId: input.messageId === undefined ? generateMessageId : () => input.messageId!,
      sendStart: input.sendStart,
      onFinish: (event) => {
        end.responseMessage = event.responseMessage;
      },
      onError: (error) => {
        // A tool that failed (server down, error result, timeout) is the model's to handle, not the run's.
        if (isToolCallFailure(error)) return error.message;
        end.failure ??= error;
        return MODEL_FAILED_TEXT;
      },
    });
  }
  return { chunks: chunks(), end };
}
