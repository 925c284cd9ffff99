import type { Context } from "hono";
import type { Admission } from "../runs/admission";
import type { OpenedStream } from "../runs/service";
import { UI_MESSAGE_STREAM_HEADERS, toSseByteStream } from "../streams";
import type { AppEnv } from "./context";
import type { AppServices } from "./router";

/** The offset a client resumes after: `Last-Event-ID` wins over `?offset=`. */
export function requestedOffset(c: Context<AppEnv>, query: { offset?: string }): string | undefined {
  return c.req.header("last-event-id") || query.offset || undefined;
}

/** Serves a run's events as an AI SDK UI message stream with offsets as SSE ids. */
export function sseResponse(
  opened: OpenedStream,
  options: { keepAliveMs?: number; signal?: AbortSignal; admission?: Admission } = {},
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
    },
  });
}

/** The stream settings every streaming route uses. */
export function streamOptions(services: Pick<AppServices, "keepAliveMs" | "shutdownSignal" | "admission">) {
  return { keepAliveMs: services.keepAliveMs, signal: services.shutdownSignal, admission: services.admission };
}
