import type { Context } from "hono";
import type { Admission } from "../runs/admission";
import { InvalidInputError } from "../errors";
import type { OpenedStream, ResumePosition } from "../runs/service";
import { UI_MESSAGE_STREAM_HEADERS, toSseByteStream } from "../streams";
import type { AppEnv } from "./context";
import type { AppServices } from "./router";

/** The offset a client resumes after: `Last-Event-ID` wins over `?offset=`. */
export function requestedOffset(c: Context<AppEnv>, query: { offset?: string }): string | undefined {
  return c.req.header("last-event-id") || query.offset || undefined;
}

/**
 * Where a chat resume starts: after an offset, or at WorkflowChatTransport's `?startIndex=` (validated as an
 * integer by the route's query schema). Both at once could only disagree, so that is a 400.
 */
export function requestedPosition(
  c: Context<AppEnv>,
  query: { offset?: string; startIndex?: string },
): ResumePosition | undefined {
  const offset = requestedOffset(c, query);
  if (query.startIndex === undefined) return offset === undefined ? undefined : { offset };
  if (offset !== undefined) {
    throw new InvalidInputError("startIndex", "give either an offset (Last-Event-ID or ?offset=) or ?startIndex=, not both");
  }
  return { chunkIndex: Number(query.startIndex) };
}

/** Serves a run's events as an AI SDK UI message stream with offsets as SSE ids. */
export function sseResponse(
  opened: OpenedStream,
  options: { keepAliveMs?: number; signal?: AbortSignal; admission?: Admission } = {},
  headers: Record<string, string> = {},
): Response {
  // Counted as open from here until the response ends, however it ends (see the open-streams limit).
  const onEnd = options.admission?.streamOpened();
  return new Response(toSseByteStream(opened.events, { keepAliveMs: options.keepAliveMs, signal: options.signal, onEnd }), {
    status: 200,
    headers: {
      ...UI_MESSAGE_STREAM_HEADERS,
      "x-conversation-id": opened.execution.conversationId,
      "x-execution-id": opened.execution.id,
      "x-execution-mode": opened.execution.mode,
      ...headers,
    },
  });
}

/** The stream settings every streaming route uses. */
export function streamOptions(services: Pick<AppServices, "keepAliveMs" | "shutdownSignal" | "admission">) {
  return { keepAliveMs: services.keepAliveMs, signal: services.shutdownSignal, admission: services.admission };
}
