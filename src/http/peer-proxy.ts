import type { Context } from "hono";
import type { PeerStream } from "../runs/classic-peers";
import type { OpenedStream } from "../runs/service";
import type { AppEnv } from "./context";
import type { AppServices } from "./router";
import { sseResponse, streamOptions } from "./sse";
import { relaySse } from "./sse-relay";

/**
 * Marks a request one server process forwarded to another. The receiver answers it from its own state and
 * never forwards it again, so two processes can never bounce a request between them. A client that sends it
 * only gives up being forwarded.
 */
export const FORWARDED_HEADER = "x-tether-forwarded";

/** What a forwarded request keeps of the client's: who it is (the owner check happens there) and where it is. */
const FORWARDED_REQUEST_HEADERS = ["authorization", "last-event-id"] as const;

/** Hop-by-hop and per-response headers, which this server sets itself. */
const UNRELAYED_RESPONSE_HEADERS = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
  "date",
  "x-request-id",
]);

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/** A process that takes longer than this to start answering counts as unreachable. */
const PEER_ANSWER_TIMEOUT_MS = 5_000;

type ProxyServices = Pick<AppServices, "admission" | "keepAliveMs" | "shutdownSignal">;

/** Whether another process forwarded this request here. */
export function wasForwarded(c: Context<AppEnv>): boolean {
  return c.req.header(FORWARDED_HEADER) === "1";
}

function forwardedHeaders(c: Context<AppEnv>): Headers {
  const headers = new Headers({ accept: "text/event-stream", [FORWARDED_HEADER]: "1", "x-request-id": c.get("requestId") });
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = c.req.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  return headers;
}

function relayedHeaders(upstream: Headers): Headers {
  const headers = new Headers();
  upstream.forEach((value, name) => {
    if (!UNRELAYED_RESPONSE_HEADERS.has(name)) headers.set(name, value);
  });
  return headers;
}

/** The same path and query (the resume position with them) on the peer. */
function peerUrl(c: Context<AppEnv>, base: string): string {
  const { pathname, search } = new URL(c.req.url);
  return `${base}${pathname}${search}`;
}

/** Starts the request; rejects when the peer refuses, breaks off or takes too long to answer. */
async function askPeer(c: Context<AppEnv>, peer: PeerStream, upstream: AbortController): Promise<Response> {
  const onClientGone = () => upstream.abort();
  c.req.raw.signal.addEventListener("abort", onClientGone, { once: true });
  const timer = setTimeout(() => upstream.abort(new Error("no answer in time")), PEER_ANSWER_TIMEOUT_MS);
  try {
    // HEAD stays HEAD: a Durable Streams reader asks for the tail's position that way.
    return await fetch(peerUrl(c, peer.peer.url), { method: c.req.method, headers: forwardedHeaders(c), signal: upstream.signal });
  } finally {
    clearTimeout(timer);
    c.req.raw.signal.removeEventListener("abort", onClientGone);
  }
}

/** How the routes of one read protocol answer a forwarded request. */
export interface PeerRelay {
  /** The answer when the peer cannot be reached: the run's end as stored, in the route's own protocol. */
  serveLocally(opened: OpenedStream): Response | Promise<Response>;
  /**
   * `events`: Tether's SSE, relayed event by event, so that a peer lost mid-stream still ends the stream
   * with the run's end and `[DONE]`. `as-is`: a protocol whose clients resume from their own offsets
   * (Durable Streams), relayed byte for byte.
   */
  relay: "events" | "as-is";
}

/** Tether's SSE routes (the chat resume route, the executions stream). */
const tetherSseRelay = (services: ProxyServices): PeerRelay => ({
  serveLocally: (opened) => sseResponse(opened, streamOptions(services)),
  relay: "events",
});

/** Ends the relay once, however the body ends: read to its end, broken off, or cancelled by the client. */
function relayedAsIs(upstream: ReadableStream<Uint8Array>, ended: () => void, cancelUpstream: () => void): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          ended();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        ended();
        controller.error(error);
      }
    },
    cancel() {
      ended();
      cancelUpstream();
    },
  });
}

/**
 * Serves a stream request for a classic run of another process by forwarding it there once, with the
 * client's credentials and position, and relaying the answer: a stream (counted as open here too, and
 * stopped upstream when the client goes) or, as it is, whatever else that process answered (204, 404, 410 …).
 * When the process cannot be reached, or breaks off mid-stream, the client gets the run's end as stored.
 */
export async function forwardToPeer(
  c: Context<AppEnv>,
  peer: PeerStream,
  services: ProxyServices,
  protocol: PeerRelay = tetherSseRelay(services),
): Promise<Response> {
  const upstream = new AbortController();
  let answer: Response;
  try {
    answer = await askPeer(c, peer, upstream);
  } catch (error) {
    // Nobody is left to answer.
    if (c.req.raw.signal.aborted) return new Response(null, { status: 204 });
    c.get("logger").warn(
      { executionId: peer.peer.executionId, peer: peer.peer.url, error: error instanceof Error ? error.message : String(error) },
      "the process of a classic run does not answer",
    );
    return protocol.serveLocally(await peer.whenUnreachable());
  }
  const headers = relayedHeaders(answer.headers);
  if (answer.status !== 200 || !answer.body || !headers.get("content-type")?.startsWith("text/event-stream")) {
    return new Response(NULL_BODY_STATUSES.has(answer.status) ? null : answer.body, { status: answer.status, headers });
  }
  const cancelUpstream = () => upstream.abort();
  const ended = services.admission.streamOpened();
  if (protocol.relay === "as-is") {
    return new Response(relayedAsIs(answer.body, ended, cancelUpstream), { status: 200, headers });
  }
  const body = relaySse(answer.body, {
    onLost: async (lastOffset) => (await peer.whenUnreachable(lastOffset)).events,
    signal: services.shutdownSignal,
    cancelUpstream,
    onEnd: ended,
  });
  return new Response(body, { status: 200, headers });
}
