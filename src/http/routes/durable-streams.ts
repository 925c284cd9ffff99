import { createRoute, z } from "@hono/zod-openapi";
import type { OpenedStream } from "../../runs/service";
import { SSE_PING } from "../../streams";
import { EventBatches, type EventBatch } from "../../streams/event-batches";
import {
  chunksJson,
  nextCursor,
  positionHeaders,
  sseControlFrame,
  sseDataFrame,
  STREAM_BASE_HEADERS,
  type ReadPosition,
} from "../durable-stream-protocol";
import { forwardToPeer, wasForwarded } from "../peer-proxy";
import { createRouter, type AppServices } from "../router";
import { errorResponses, Id } from "../schemas";
import { isTerminal } from "../../runs/execution-status";

const StreamParams = z.object({ executionId: Id.openapi({ param: { name: "executionId", in: "path" } }) });

const StreamQuery = z.object({
  offset: z
    .string()
    .max(100)
    .optional()
    .openapi({ description: '`-1` (the start, the default), `now` (the tail) or a `Stream-Next-Offset`', example: "-1" }),
  live: z.enum(["long-poll", "sse"]).optional().openapi({ description: "Wait for more (long-poll) or stream (SSE)" }),
  cursor: z.string().max(100).optional().openapi({ description: "The last `Stream-Cursor`, echoed" }),
});

/** How long a read waits for a run's events. */
interface Pace {
  /** For the first event of a request. */
  openWaitMs: number;
  /** A durable reader cannot say what it holds now: this much silence after an event counts as caught up. */
  quietMs: number;
  /** The longest an answer keeps collecting once it has an event. */
  lingerMs: number;
}
// A classic buffer says exactly what it holds; nothing is waited for.
const EXACT: Pace = { openWaitMs: 0, quietMs: 0, lingerMs: 0 };
// Stored chunks of a durable run arrive back to back; a live model's tokens come 20 ms or more apart.
const DURABLE_RUNNING: Pace = { openWaitMs: 500, quietMs: 10, lingerMs: 250 };
// An ended durable run is read to its end, which its reader reaches on its own.
const DURABLE_ENDED: Pace = { openWaitMs: 10_000, quietMs: 5_000, lingerMs: 10_000 };

const MAX_EVENTS_PER_ANSWER = 1000;
const DEFAULT_LONG_POLL_MS = 15_000;

/** What a read asks for, once parsed. */
interface ReadRequest {
  query: z.infer<typeof StreamQuery>;
  head: boolean;
  /** The offset read after: `-1` for the start (also for `now`, which then skips to the tail). */
  requested: string;
  signal: AbortSignal;
}

async function paceOf(services: AppServices, opened: OpenedStream): Promise<Pace> {
  if (opened.execution.mode === "classic") return EXACT;
  const row = await services.repositories.executions.find(opened.execution.id);
  return row && isTerminal(row.status) ? DURABLE_ENDED : DURABLE_RUNNING;
}

/** Reads past everything there is now; answers the last offset seen (undefined when there was none). */
async function skipToTail(batches: EventBatches, pace: Pace, signal: AbortSignal): Promise<string | undefined> {
  let last: string | undefined;
  let waitMs = pace.openWaitMs;
  for (;;) {
    const batch = await batches.next({ ...pace, waitMs, maxEvents: MAX_EVENTS_PER_ANSWER, signal });
    last = batch.events.at(-1)?.offset ?? last;
    if (batch.caughtUp) return last;
    waitMs = pace.quietMs;
  }
}

/**
 * Every execution's stream as a Durable Stream (API.md v1.1): the events of `/api/executions/:id/stream`,
 * read with `@durable-streams/client`. Offsets are Tether's own; `-1` reads from the start and `now` from
 * the tail. The stream is closed once the run's terminal event has been served.
 */
export function durableStreamRoutes(services: AppServices) {
  const router = createRouter();
  const longPollMs = services.keepAliveMs ?? DEFAULT_LONG_POLL_MS;
  const keepAliveMs = services.keepAliveMs ?? DEFAULT_LONG_POLL_MS;

  router.use("/v1/stream/*", async function durableStreamHeaders(c, next) {
    await next();
    // Also on errors and unknown streams (the protocol asks for nosniff on every answer).
    c.res.headers.set("x-content-type-options", STREAM_BASE_HEADERS["x-content-type-options"]);
  });

  router.openapi(
    createRoute({
      method: "get",
      path: "/v1/stream/executions/{executionId}",
      tags: ["Executions"],
      summary: "The whole run's stream in the Durable Streams read protocol (also HEAD)",
      request: { params: StreamParams, query: StreamQuery },
      responses: {
        200: {
          description: "A JSON array of UI message chunks (catch-up, long-poll), or SSE `data` / `control` frames",
          content: { "application/json": { schema: z.array(z.record(z.string(), z.unknown())) }, "text/event-stream": { schema: z.string() } },
        },
        204: { description: "Long-poll: nothing new in time, or the stream is closed at this offset" },
        ...errorResponses(400, 401, 404, 410, 503),
      },
    }),
    async (c) => {
      const { executionId } = c.req.valid("param");
      const query = c.req.valid("query");
      const read: ReadRequest = {
        query,
        head: c.req.method === "HEAD",
        requested: query.offset === undefined || query.offset === "now" ? "-1" : query.offset,
        signal: AbortSignal.any([c.req.raw.signal, services.shutdownSignal].filter((signal) => signal !== undefined)),
      };
      // A live read holds a connection like any stream response, and counts against the same limit.
      if (query.live) services.admission.admitStream();
      const opened = await services.runs.openRunStream(
        c.get("principal"),
        executionId,
        read.requested === "-1" ? undefined : read.requested,
        { forwarded: wasForwarded(c) },
      );
      if ("peer" in opened) {
        // Another process's classic run: its process answers in this protocol, and its readers resume by offset.
        const relay = { serveLocally: (local: OpenedStream) => answerRead(local, read), relay: "as-is" } as const;
        return (await forwardToPeer(c, opened, services, relay)) as never;
      }
      return (await answerRead(opened, read)) as never;
    },
  );

  /** One read of an opened run stream, answered in the Durable Streams protocol. */
  async function answerRead(opened: OpenedStream, read: ReadRequest): Promise<Response> {
    const { query, signal } = read;
    const fromTail = query.offset === "now" || read.head;
    const batches = new EventBatches(opened.events);
    const headers = {
      ...STREAM_BASE_HEADERS,
      "x-conversation-id": opened.execution.conversationId,
      "x-execution-id": opened.execution.id,
      "x-execution-mode": opened.execution.mode,
    };
    // "-1" again when nothing was read yet: reading from the start then misses nothing.
    let nextOffset = read.requested;
    let handedToBody = false;
    const streamClosed = query.live ? services.admission.streamOpened() : () => {};
    try {
      const pace = await paceOf(services, opened);
      let openWaitMs = pace.openWaitMs;
      if (fromTail) {
        nextOffset = (await skipToTail(batches, pace, signal)) ?? "-1";
        openWaitMs = 0;
      }
      if (read.head || (fromTail && !query.live)) {
        const position = { nextOffset, upToDate: true, closed: batches.ended };
        return new Response(read.head ? null : "[]", {
          status: 200,
          headers: { ...headers, "content-type": "application/json", ...positionHeaders(position) },
        });
      }
      if (query.live === "sse") {
        const body = sseBody(batches, {
          ...{ nextOffset, openWaitMs, keepAliveMs, pace, signal },
          cursor: query.cursor,
          onEnd: streamClosed,
        });
        handedToBody = true;
        return new Response(body, {
          status: 200,
          headers: { ...headers, "content-type": "text/event-stream", "x-accel-buffering": "no" },
        });
      }
      const live = query.live === "long-poll";
      const batch = await batches.next({
        waitMs: live ? Math.max(longPollMs, openWaitMs) : openWaitMs,
        quietMs: pace.quietMs,
        lingerMs: pace.lingerMs,
        maxEvents: MAX_EVENTS_PER_ANSWER,
        signal,
      });
      const position: ReadPosition = {
        nextOffset: batch.events.at(-1)?.offset ?? nextOffset,
        upToDate: batch.caughtUp,
        closed: batch.ended,
        cursor: live && !batch.ended ? nextCursor(query.cursor) : undefined,
      };
      if (live && batch.events.length === 0) {
        return new Response(null, { status: 204, headers: { ...headers, ...positionHeaders(position) } });
      }
      return new Response(chunksJson(batch.events), {
        status: 200,
        headers: { ...headers, "content-type": "application/json", ...positionHeaders(position) },
      });
    } finally {
      if (!handedToBody) {
        batches.close();
        streamClosed();
      }
    }
  }

  return router;
}

/** The SSE body: a `data` frame per batch, then a `control` frame; pings while idle; ends once closed. */
function sseBody(
  batches: EventBatches,
  options: {
    nextOffset: string;
    openWaitMs: number;
    keepAliveMs: number;
    pace: Pace;
    cursor?: string;
    signal: AbortSignal;
    onEnd: () => void;
  },
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let nextOffset = options.nextOffset;
  const cursor = nextCursor(options.cursor);
  let first = true;
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    batches.close();
    options.onEnd();
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let batch: EventBatch;
      try {
        batch = await batches.next({
          ...options.pace,
          waitMs: first ? options.openWaitMs : options.keepAliveMs,
          maxEvents: MAX_EVENTS_PER_ANSWER,
          signal: options.signal,
        });
      } catch {
        // The run's reader failed: end the response; the client reconnects from its last control frame.
        return finish(controller);
      }
      const wasFirst = first;
      first = false;
      // Shutdown or a gone client: the client resumes from the last control frame, on this server or another.
      if (options.signal.aborted) return finish(controller);
      if (batch.events.length === 0 && !batch.ended && !wasFirst) {
        controller.enqueue(encoder.encode(SSE_PING));
        return;
      }
      let frames = "";
      if (batch.events.length > 0) {
        nextOffset = batch.events.at(-1)!.offset;
        frames += sseDataFrame(batch.events);
      }
      frames += sseControlFrame({ nextOffset, upToDate: batch.caughtUp, closed: batch.ended, cursor });
      controller.enqueue(encoder.encode(frames));
      if (batch.ended) finish(controller);
    },
    cancel() {
      batches.close();
      options.onEnd();
    },
  });
}
