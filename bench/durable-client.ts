/**
 * The HTTP clients of bench/durable.ts, run in a worker thread (see startDurableClientWorker in
 * ./durable-support) so that reading SSE never shares an event loop with the server being measured.
 * Every SSE event is timestamped when the bytes that complete it arrive, on the process-wide monotonic
 * clock (process.hrtime), which the main thread's instruments use too. Plain global `fetch`, loopback only.
 */
import { serveWorkerApi } from "./worker-rpc";

/** Every request is bounded in time. */
const REQUEST_TIMEOUT_MS = 60_000;

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One SSE event as the client saw it; `at` is when the bytes completing it were read. */
export interface TimedEvent {
  at: number;
  id: string | undefined;
  /** The chunk's `type`, or "[DONE]". */
  type: string;
  delta?: string;
  /** A `data-terminal` chunk's reason (`completed`, `failed`, …). */
  terminalReason?: string;
}

export interface TimedStream {
  status: number;
  executionId: string | undefined;
  startedAt: number;
  headersAt: number;
  /** When the first bytes of the body arrived (undefined for an empty body). */
  firstByteAt: number | undefined;
  endedAt: number;
  events: TimedEvent[];
  done: boolean;
}

function parseBlock(block: string, at: number): TimedEvent | undefined {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("id: ")) id = line.slice(4);
    else if (line.startsWith("data: ")) data.push(line.slice(6));
  }
  if (data.length === 0) return undefined;
  const payload = data.join("\n");
  if (payload === "[DONE]") return { at, id, type: "[DONE]" };
  const chunk = JSON.parse(payload) as { type: string; delta?: unknown; data?: { reason?: unknown } };
  if (chunk.type === "text-delta") return { at, id, type: chunk.type, delta: String(chunk.delta) };
  if (chunk.type === "data-terminal") return { at, id, type: chunk.type, terminalReason: String(chunk.data?.reason) };
  return { at, id, type: chunk.type };
}

/**
 * Reads an SSE response to its end, timestamping each event. `onEvent` sees events as they arrive.
 * Parsing a few hundred small events as they come costs microseconds, so it does not delay reading.
 */
async function readTimed(
  response: Response,
  startedAt: number,
  headersAt: number,
  onEvent?: (event: TimedEvent) => void,
): Promise<TimedStream> {
  const events: TimedEvent[] = [];
  let firstByteAt: number | undefined;
  if (response.body) {
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    let carry = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const at = nowMs();
      firstByteAt ??= at;
      carry += decoder.decode(value, { stream: true });
      let end = carry.indexOf("\n\n");
      while (end !== -1) {
        const event = parseBlock(carry.slice(0, end), at);
        carry = carry.slice(end + 2);
        if (event) {
          events.push(event);
          onEvent?.(event);
        }
        end = carry.indexOf("\n\n");
      }
    }
  }
  return {
    status: response.status,
    executionId: response.headers.get("x-execution-id") ?? undefined,
    startedAt,
    headersAt,
    firstByteAt,
    endedAt: nowMs(),
    events,
    done: events.at(-1)?.type === "[DONE]",
  };
}

async function request(url: string, json?: unknown, signal: AbortSignal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)) {
  const startedAt = nowMs();
  const response = await fetch(url, {
    method: json === undefined ? "GET" : "POST",
    headers: json === undefined ? undefined : { "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json),
    signal,
  });
  return { response, startedAt, headersAt: nowMs() };
}

function chatBody(conversationId: string, agentId: string, text: string) {
  return {
    id: conversationId,
    agentId,
    messages: [{ id: `u_${conversationId}`, role: "user", parts: [{ type: "text", text }] }],
  };
}

/** One turn of `concurrentChats`, reduced to what the bench checks (the events themselves stay here). */
export interface ConcurrentTurn {
  conversationId: string;
  /** `ended`: read to the end of the body; `network-error`: the request or the read failed; `deadline`: still going when time ran out. */
  outcome: "ended" | "network-error" | "deadline";
  status: number | undefined;
  executionId: string | undefined;
  startedAt: number;
  headersAt: number | undefined;
  endedAt: number | undefined;
  /** The `text-delta` deltas, concatenated. */
  text: string;
  terminalReason: string | undefined;
  done: boolean;
  error?: string;
}

const textOf = (events: TimedEvent[]) => events.flatMap((event) => (event.delta === undefined ? [] : [event.delta])).join("");

async function concurrentTurn(
  options: { baseUrl: string; agentId: string; text: string },
  conversationId: string,
  deadline: AbortSignal,
): Promise<ConcurrentTurn> {
  const startedAt = nowMs();
  let opened: Awaited<ReturnType<typeof request>> | undefined;
  try {
    opened = await request(`${options.baseUrl}/api/chat`, chatBody(conversationId, options.agentId, options.text), deadline);
    const stream = await readTimed(opened.response, opened.startedAt, opened.headersAt);
    return {
      conversationId,
      outcome: "ended",
      status: stream.status,
      executionId: stream.executionId,
      startedAt,
      headersAt: stream.headersAt,
      endedAt: stream.endedAt,
      text: textOf(stream.events),
      terminalReason: stream.events.find((event) => event.terminalReason !== undefined)?.terminalReason,
      done: stream.done,
    };
  } catch (error) {
    return {
      conversationId,
      outcome: deadline.aborted ? "deadline" : "network-error",
      status: opened?.response.status,
      executionId: opened?.response.headers.get("x-execution-id") ?? undefined,
      startedAt,
      headersAt: opened?.headersAt,
      endedAt: deadline.aborted ? undefined : nowMs(),
      text: "",
      terminalReason: undefined,
      done: false,
      error: error instanceof Error ? `${error.name}: ${error.message}${error.cause ? ` (${String(error.cause)})` : ""}` : String(error),
    };
  }
}

/** What the worker offers the main thread. */
const api = {
  /** POST /api/chat (optionally overriding the agent's execution mode), read to the end. */
  async chat(options: {
    baseUrl: string;
    conversationId: string;
    agentId: string;
    text: string;
    executionMode?: "classic" | "durable";
    /** Bound on the whole request, body included (default 60 s). */
    timeoutMs?: number;
  }): Promise<TimedStream> {
    const body = chatBody(options.conversationId, options.agentId, options.text);
    const { response, startedAt, headersAt } = await request(
      `${options.baseUrl}/api/chat`,
      options.executionMode ? { ...body, executionMode: options.executionMode } : body,
      AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
    );
    return readTimed(response, startedAt, headersAt);
  },

  /**
   * One POST /api/chat per conversation id, all sent in the same tick, each read to its end; whatever is
   * still going after `deadlineMs` is aborted and answered as `deadline`.
   */
  async concurrentChats(options: {
    baseUrl: string;
    agentId: string;
    text: string;
    conversationIds: string[];
    deadlineMs: number;
  }): Promise<ConcurrentTurn[]> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`deadline of ${options.deadlineMs} ms`)), options.deadlineMs);
    try {
      return await Promise.all(options.conversationIds.map((conversationId) => concurrentTurn(options, conversationId, deadline.signal)));
    } finally {
      clearTimeout(timer);
    }
  },

  /**
   * POST /api/chat and, once its headers are in, a second client on the resume route
   * GET /api/chat/:conversationId/stream (retried every `retryMs` while it answers 204, i.e. before the
   * run has recorded `running`). Both are read to the end.
   */
  async chatWithResume(options: {
    baseUrl: string;
    conversationId: string;
    agentId: string;
    text: string;
    retryMs: number;
    maxAttempts: number;
  }) {
    const posted = await request(`${options.baseUrl}/api/chat`, chatBody(options.conversationId, options.agentId, options.text));
    const original = readTimed(posted.response, posted.startedAt, posted.headersAt);
    let noContent = 0;
    let resumed: TimedStream | undefined;
    for (let attempt = 0; attempt < options.maxAttempts; attempt++) {
      const opened = await request(`${options.baseUrl}/api/chat/${options.conversationId}/stream`);
      if (opened.response.status === 204) {
        noContent += 1;
        await opened.response.arrayBuffer();
        await sleep(options.retryMs);
        continue;
      }
      resumed = await readTimed(opened.response, opened.startedAt, opened.headersAt);
      break;
    }
    return { original: await original, resumed, noContent };
  },

  /**
   * Opens GET /api/executions/:id/stream (a live reader), lets it replay round 0 and wait for `settleMs`,
   * then POSTs the approval and times it until the first event of round 1 (offset `1.<n>`) arrives;
   * reads on to the end of the run.
   */
  async approve(options: { baseUrl: string; executionId: string; toolCallId: string; settleMs: number }) {
    const opened = await request(`${options.baseUrl}/api/executions/${options.executionId}/stream`);
    let firstRoundOne: TimedEvent | undefined;
    let announce!: () => void;
    const roundOneStarted = new Promise<void>((resolve) => (announce = resolve));
    let firstEventAt: number | undefined;
    const reading = readTimed(opened.response, opened.startedAt, opened.headersAt, (event) => {
      firstEventAt ??= event.at;
      if (!firstRoundOne && event.id?.startsWith("1.")) {
        firstRoundOne = event;
        announce();
      }
    });
    // The replay of round 0 is in when its first bytes are (it is a handful of small chunks).
    const replayDeadline = nowMs() + 10_000;
    while (firstEventAt === undefined && nowMs() < replayDeadline) await sleep(2);
    await sleep(options.settleMs);
    const postSentAt = nowMs();
    const decided = await request(`${options.baseUrl}/api/executions/${options.executionId}/approvals/${options.toolCallId}`, {
      approved: true,
    });
    const postAnsweredAt = nowMs();
    const postStatus = decided.response.status;
    const postBody = await decided.response.text();
    await Promise.race([roundOneStarted, reading]);
    const stream = await reading;
    return {
      postStatus,
      postBody: postStatus === 200 ? undefined : postBody.slice(0, 300),
      postSentAt,
      postAnsweredAt,
      replayFirstEventAt: firstEventAt,
      firstRoundOne,
      roundZeroEvents: stream.events.filter((event) => event.id?.startsWith("0.")).length,
      lastEventTypes: stream.events.slice(-3).map((event) => event.type),
      done: stream.done,
      status: stream.status,
      endedAt: stream.endedAt,
    };
  },
};

export type DurableClientApi = typeof api;
serveWorkerApi(api);
