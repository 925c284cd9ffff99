/**
 * The load benchmark's client (a worker thread, see ./load.ts): N chat turns at once, each read for a few
 * text deltas, dropped, and resumed through GET /api/chat/:id/stream with `Last-Event-ID`, as a browser
 * that loses its connection would. Plain `node:http` with a private agent, so that 2N sockets cost the
 * client as little as possible and every failure keeps its own kind (status, reset, timeout, wrong text).
 * Connections are kept alive between requests, as a browser keeps them (a refused turn is sent again on
 * the connection it was refused on), unless `freshConnections` asks for a new one per request.
 */
import http from "node:http";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { serveWorkerApi } from "./worker-rpc";

const REQUEST_TIMEOUT_MS = 120_000;

export interface LoadOptions {
  baseUrl: string;
  agentId: string;
  turns: number;
  /** The model counts to this; each number is one text delta. */
  count: number;
  /** Text deltas read from the original response before it is dropped. */
  dropAfterDeltas: number;
  runId: string;
  /** How long a refused turn keeps being sent again (0: never). */
  retryForMs: number;
  /** A new connection for every request, the harshest case for the server's accept loop. */
  freshConnections?: boolean;
}

/** One turn as the client saw it; times in ms from the POST being sent. */
interface TurnOutcome {
  error?: string;
  /** POST sent → the resume's `[DONE]`. */
  wallMs?: number;
  /** Resume request sent → its first body byte. */
  resumeFirstByteMs?: number;
  /** Resume request sent → its response headers. */
  resumeHeadersMs?: number;
  /** POST sent → the original response dropped. */
  droppedAfterMs?: number;
  /** Status of the POST (when not 200) or of the resume. */
  status?: number;
  /** 503 answers (with Retry-After) before the turn was accepted. */
  refusals?: number;
  /** First attempt sent → this outcome (waits for Retry-After included). */
  sinceFirstAttemptMs?: number;
  retryAfter?: string;
}

const agents = {
  fresh: new http.Agent({ keepAlive: false, maxSockets: Infinity }),
  kept: new http.Agent({ keepAlive: true, maxSockets: Infinity }),
};

interface SseEvent {
  id?: string;
  data: string;
}

/** Splits an SSE body into events as bytes arrive. */
function sseSplitter(onEvent: (event: SseEvent) => void) {
  let carry = "";
  return (text: string) => {
    carry += text;
    for (let end = carry.indexOf("\n\n"); end !== -1; end = carry.indexOf("\n\n")) {
      const block = carry.slice(0, end);
      carry = carry.slice(end + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("id: ")) id = line.slice(4);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length > 0) onEvent({ id, data: data.join("\n") });
    }
  };
}

class RequestFailure extends Error {
  constructor(
    readonly kind: string,
    readonly status?: number,
    readonly retryAfter?: string,
  ) {
    super(kind);
  }
}

const errorKind = (error: unknown): string => {
  if (error instanceof RequestFailure) return error.kind;
  const code = (error as { code?: string }).code;
  return code ?? (error instanceof Error ? error.message.slice(0, 60) : String(error));
};

/**
 * Sends a request and feeds its SSE events to `onEvent` until the body ends or `onEvent` answers "stop".
 * Resolves with the time of the first body byte.
 */
function request(
  url: string,
  options: { method: "GET" | "POST"; body?: string; headers?: Record<string, string>; agent: http.Agent },
  onEvent: (event: SseEvent) => "stop" | void,
): Promise<{ firstByteAt: number | undefined; headersAt: number; stopped: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method,
      agent: options.agent,
      headers: {
        ...options.headers,
        ...(options.body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(options.body) }),
      },
      timeout: REQUEST_TIMEOUT_MS,
    });
    req.on("timeout", () => req.destroy(new RequestFailure("client timeout")));
    req.on("error", reject);
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new RequestFailure(`status ${res.statusCode}`, res.statusCode, res.headers["retry-after"] as string | undefined));
        return;
      }
      let firstByteAt: number | undefined;
      const headersAt = performance.now();
      let stopped = false;
      res.setEncoding("utf8");
      const split = sseSplitter((event) => {
        if (stopped) return;
        if (onEvent(event) === "stop") {
          stopped = true;
          req.destroy();
          resolve({ firstByteAt, headersAt, stopped: true });
        }
      });
      res.on("data", (text: string) => {
        firstByteAt ??= performance.now();
        split(text);
      });
      res.on("end", () => resolve({ firstByteAt, headersAt, stopped }));
      res.on("error", (error) => (stopped ? undefined : reject(error)));
      res.on("aborted", () => (stopped ? undefined : reject(new RequestFailure("response aborted"))));
    });
    req.end(options.body);
  });
}

/**
 * One turn as a well-behaved client sends it: a `503` with `Retry-After` (the server at a limit) is sent
 * again after that long, until `retryForMs` has passed since the first attempt.
 */
async function oneTurn(options: LoadOptions, index: number): Promise<TurnOutcome> {
  const firstAttemptAt = performance.now();
  let refusals = 0;
  for (;;) {
    const outcome = await oneAttempt(options, index);
    const retryAfterS = Number(outcome.retryAfter);
    const refused = outcome.status === 503 && retryAfterS > 0;
    if (!refused || performance.now() - firstAttemptAt > options.retryForMs) {
      return { ...outcome, refusals, sinceFirstAttemptMs: performance.now() - firstAttemptAt };
    }
    refusals += 1;
    await new Promise((resolve) => setTimeout(resolve, retryAfterS * 1000 * (0.5 + Math.random())));
  }
}

async function oneAttempt(options: LoadOptions, index: number): Promise<TurnOutcome> {
  const conversationId = `load-${options.runId}-${index}`;
  const body = JSON.stringify({
    id: conversationId,
    agentId: options.agentId,
    messages: [{ id: `u_${conversationId}`, role: "user", parts: [{ type: "text", text: `count to ${options.count}` }] }],
  });
  const sentAt = performance.now();
  const deltas: string[] = [];
  let lastId: string | undefined;
  const agent = options.freshConnections ? agents.fresh : agents.kept;
  try {
    await request(`${options.baseUrl}/api/chat`, { method: "POST", body, agent }, (event) => {
      if (event.data === "[DONE]") return;
      lastId = event.id;
      const chunk = JSON.parse(event.data) as { type: string; delta?: string };
      if (chunk.type === "text-delta") deltas.push(chunk.delta!);
      if (deltas.length >= options.dropAfterDeltas) return "stop";
    });
  } catch (error) {
    return { error: `chat: ${errorKind(error)}`, status: (error as RequestFailure).status, retryAfter: (error as RequestFailure).retryAfter };
  }
  if (lastId === undefined) return { error: "chat: no event id" };

  const resumeSentAt = performance.now();
  const droppedAfterMs = resumeSentAt - sentAt;
  let done = false;
  let firstByteAt: number | undefined;
  let headersAt = 0;
  try {
    ({ firstByteAt, headersAt } = await request(
      `${options.baseUrl}/api/chat/${conversationId}/stream`,
      { method: "GET", agent, headers: { "last-event-id": lastId, "x-sent-at": String(performance.timeOrigin + performance.now()) } },
      (event) => {
        if (event.data === "[DONE]") {
          done = true;
          return;
        }
        const chunk = JSON.parse(event.data) as { type: string; delta?: string };
        if (chunk.type === "text-delta") deltas.push(chunk.delta!);
      },
    ));
  } catch (error) {
    return { error: `resume: ${errorKind(error)}`, status: (error as RequestFailure).status };
  }
  const endedAt = performance.now();
  if (!done) return { error: "resume: no [DONE]" };
  const text = deltas.join("");
  if (text !== expectedText(options.count)) return { error: `wrong text (${deltas.length} deltas)` };
  return {
    wallMs: endedAt - sentAt,
    resumeFirstByteMs: (firstByteAt ?? endedAt) - resumeSentAt,
    resumeHeadersMs: headersAt - resumeSentAt,
    droppedAfterMs,
  };
}

const expected = new Map<number, string>();
function expectedText(count: number): string {
  let text = expected.get(count);
  if (text === undefined) {
    text = Array.from({ length: count }, (_, index) => String(index + 1)).join(" ");
    expected.set(count, text);
  }
  return text;
}

const api = {
  /** Every turn at once; answers each turn's outcome. */
  async load(options: LoadOptions) {
    // The client's own lateness: when it is high, the latencies below are partly the client's.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const startedAt = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: options.turns }, (_, index) =>
        oneTurn(options, index).catch((error: unknown): TurnOutcome => ({ error: `client: ${errorKind(error)}` })),
      ),
    );
    delay.disable();
    const toMs = (ns: number) => Math.round(ns / 1e4) / 100;
    const clientEventLoopDelay = { p99Ms: toMs(delay.percentile(99)), maxMs: toMs(delay.max) };
    return { durationMs: performance.now() - startedAt, outcomes, clientEventLoopDelay };
  },
};

export type LoadClientApi = typeof api;
serveWorkerApi(api);
