/**
 * The HTTP clients of the benchmarks. Runs in a worker thread (see startClientWorker in ./support) so that
 * reading and checking SSE never shares an event loop with the server being measured, and so that a
 * server busy in one long task cannot delay when the client notices bytes. Plain global `fetch`, loopback only.
 */
import { performance } from "node:perf_hooks";
import { threadId } from "node:worker_threads";
import { serveWorkerApi } from "./worker-rpc";

/** Every request is bounded in time. */
const REQUEST_TIMEOUT_MS = 60_000;

let uniqueCounter = 0;
function uniqueId(prefix: string): string {
  uniqueCounter += 1;
  return `${prefix}-${process.pid}-${threadId}-${Date.now().toString(36)}-${uniqueCounter}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function countingText(n: number): string {
  return Array.from({ length: n }, (_, index) => String(index + 1)).join(" ");
}

export function chatBody(conversationId: string, agentId: string, text: string) {
  return {
    id: conversationId,
    agentId,
    messages: [{ id: `u_${conversationId}`, role: "user", parts: [{ type: "text", text }] }],
  };
}

/** One SSE response as the client saw it. Times are this thread's performance.now(). */
export interface StreamSummary {
  status: number;
  executionId: string | undefined;
  startedAt: number;
  /** Request sent → response headers. */
  headersMs: number;
  /** Request sent → first body bytes (undefined for an empty body). */
  ttfbMs: number | undefined;
  /** Request sent → end of body. */
  ttlbMs: number;
  firstByteAt: number | undefined;
  endedAt: number;
  /** `\n\n`-terminated SSE events counted while reading ([DONE] included). */
  events: number;
  /** UI message chunks ([DONE] and comments excluded), from parsing the whole body afterwards. */
  chunks: number;
  bytes: number;
  /** Why the stream is wrong (status, missing [DONE], text ≠ "1 2 … n"); undefined when it is right. */
  problem: string | undefined;
}

interface StreamRequest {
  url: string;
  method?: "GET" | "POST";
  json?: unknown;
  /** Check that the text deltas spell `1 2 … expectCount` and that [DONE] came. */
  expectCount?: number;
  /** Called once the response headers are in. */
  onHeaders?: (response: Response) => void;
}

interface ParsedSse {
  chunks: number;
  done: boolean;
  text: string;
  textDeltas: number;
}

function parseSse(body: string): ParsedSse {
  let chunks = 0;
  let done = false;
  const deltas: string[] = [];
  for (const block of body.split("\n\n")) {
    const data: string[] = [];
    for (const line of block.split("\n")) if (line.startsWith("data: ")) data.push(line.slice(6));
    if (data.length === 0) continue;
    const payload = data.join("\n");
    if (payload === "[DONE]") {
      done = true;
      continue;
    }
    chunks += 1;
    const chunk = JSON.parse(payload) as { type: string; delta?: unknown };
    if (chunk.type === "text-delta") deltas.push(String(chunk.delta));
  }
  return { chunks, done, text: deltas.join(""), textDeltas: deltas.length };
}

const expectedTexts = new Map<number, string>();

/** Why a body is not `1 2 … n` followed by [DONE] (or a 200), or undefined when it is right. */
function problemOf(status: number, body: string, n: number): string | undefined {
  let expected = expectedTexts.get(n);
  if (expected === undefined) expectedTexts.set(n, (expected = countingText(n)));
  if (status !== 200) return `status ${status}`;
  const parsed = parseSse(body);
  if (!parsed.done) return "no [DONE]";
  if (parsed.text !== expected) {
    return `wrong text: ${parsed.textDeltas} text deltas, starts ${JSON.stringify(parsed.text.slice(0, 24))}`;
  }
  return undefined;
}

interface RawStream extends StreamSummary {
  body: string;
  /** When the bytes holding the UI stream's `finish` chunk arrived (the model's answer is complete). */
  finishChunkAt: number | undefined;
}

const FINISH_CHUNK = /"type":"finish"[,}]/;

/**
 * Sends a request and reads the SSE body to its end, counting events and timing the first and last byte.
 * The body is only parsed by {@link finish}: with several streams ending together, parsing one here would
 * delay noticing the others' last bytes.
 */
async function readRaw(request: StreamRequest): Promise<RawStream> {
  const startedAt = performance.now();
  const response = await fetch(request.url, {
    method: request.method ?? (request.json === undefined ? "GET" : "POST"),
    headers: request.json === undefined ? undefined : { "content-type": "application/json" },
    body: request.json === undefined ? undefined : JSON.stringify(request.json),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const headersMs = performance.now() - startedAt;
  request.onHeaders?.(response);
  let firstByteAt: number | undefined;
  let finishChunkAt: number | undefined;
  let events = 0;
  let bytes = 0;
  const pieces: string[] = [];
  if (response.body) {
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    let carry = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      firstByteAt ??= performance.now();
      bytes += value.byteLength;
      const text = decoder.decode(value, { stream: true });
      // A "\n\n" may straddle two reads: look at the previous read's last character too.
      const scanned = carry + text;
      for (let at = scanned.indexOf("\n\n"); at !== -1; at = scanned.indexOf("\n\n", at + 2)) events += 1;
      carry = scanned.endsWith("\n") && !scanned.endsWith("\n\n") ? "\n" : "";
      // A chunk split across two reads is missed here; that only leaves finishChunkAt undefined.
      if (finishChunkAt === undefined && FINISH_CHUNK.test(text)) finishChunkAt = performance.now();
      pieces.push(text);
    }
    pieces.push(decoder.decode());
  }
  const endedAt = performance.now();
  return {
    status: response.status,
    executionId: response.headers.get("x-execution-id") ?? undefined,
    startedAt,
    headersMs,
    ttfbMs: firstByteAt === undefined ? undefined : firstByteAt - startedAt,
    ttlbMs: endedAt - startedAt,
    firstByteAt,
    endedAt,
    events,
    chunks: 0,
    bytes,
    problem: undefined,
    body: pieces.join(""),
    finishChunkAt,
  };
}

/** Parses the body: counts chunks and, with `expectCount`, checks it; drops the body. */
function finish(raw: RawStream, expectCount: number | undefined): StreamSummary {
  const { body, finishChunkAt: _, ...summary } = raw;
  summary.chunks = parseSse(body).chunks;
  if (expectCount !== undefined) summary.problem = problemOf(raw.status, body, expectCount);
  return summary;
}

async function readStream(request: StreamRequest): Promise<StreamSummary> {
  return finish(await readRaw(request), request.expectCount);
}

/** Starts a POST /api/chat; `executionId` resolves at the response headers (undefined if there are none). */
function startChat(baseUrl: string, agentId: string, text: string) {
  const conversationId = uniqueId("chat");
  let announce!: (executionId: string | undefined) => void;
  const headers = new Promise<string | undefined>((resolve) => (announce = resolve));
  const done = readRaw({
    url: `${baseUrl}/api/chat`,
    json: chatBody(conversationId, agentId, text),
    onHeaders: (response) => announce(response.headers.get("x-execution-id") ?? undefined),
  });
  const executionId = Promise.race([headers, done.then(() => undefined)]);
  return { conversationId, executionId, done };
}

/** What the worker offers the main thread. */
const api = {
  /** One whole request (`url` with `json` → POST). */
  stream(request: Omit<StreamRequest, "onHeaders">): Promise<StreamSummary> {
    return readStream(request);
  },

  /** `count to n` on a chat, and `readers` replays of its execution stream started `spacingMs` apart while it runs. */
  async midStream(options: { baseUrl: string; agentId: string; n: number; readers: number; spacingMs: number }) {
    const chat = startChat(options.baseUrl, options.agentId, `count to ${options.n}`);
    const executionId = await chat.executionId;
    if (!executionId) throw new Error(`mid-stream chat answered ${(await chat.done).status} without an execution id`);
    const readers: Promise<RawStream>[] = [];
    for (let index = 0; index < options.readers; index++) {
      if (index > 0) await sleep(options.spacingMs);
      readers.push(readRaw({ url: `${options.baseUrl}/api/executions/${executionId}/stream` }));
    }
    const [original, ...replays] = await Promise.all([chat.done, ...readers]);
    return {
      executionId,
      original: finish(original!, options.n),
      readers: replays.map((reader) => ({
        ...finish(reader, options.n),
        firstByteBeforeRunEnded: reader.firstByteAt !== undefined && reader.firstByteAt < original!.endedAt,
        lastByteAfterOriginalMs: reader.endedAt - original!.endedAt,
      })),
    };
  },

  /**
   * `streams` chats of `count to n` at once; for each, a second client that resumes through
   * GET /api/chat/:id/stream while it runs (GET /api/executions/:id/stream when the turn already ended).
   */
  async concurrent(options: { baseUrl: string; agentId: string; streams: number; n: number; resumeSpreadMs: number }) {
    const errors = { originalStatus: 0, resumerStatus: 0, originalText: 0, resumerText: 0, missingDone: 0, exceptions: 0 };
    const resumedVia = { chatStream: 0, executionStream: 0 };
    /** 204 from the resume route that arrived before the original client even had the model's finish chunk. */
    let noContentBeforeOriginalFinished = 0;
    /** Headers latency of GET /api/chat/:id/stream (the resume lookup), and of the originals' POST. */
    const resumeHeadersMs: number[] = [];
    const chatHeadersMs: number[] = [];
    const examples: string[] = [];
    const fail = (kind: keyof typeof errors, message: string) => {
      errors[kind] += 1;
      if (examples.length < 5) examples.push(message);
    };
    const check = (raw: RawStream | undefined, who: "original" | "resumer", conversationId: string) => {
      const result = raw && finish(raw, options.n);
      if (!result || result.status !== 200) fail(`${who}Status`, `${conversationId} ${who}: status ${result?.status}`);
      else if (result.problem === "no [DONE]") fail("missingDone", `${conversationId} ${who}: no [DONE]`);
      else if (result.problem) fail(`${who}Text`, `${conversationId} ${who}: ${result.problem}`);
    };
    const one = async (index: number) => {
      const chat = startChat(options.baseUrl, options.agentId, `count to ${options.n}`);
      let noContentAt: number | undefined;
      const resumer = (async () => {
        const executionId = await chat.executionId;
        if (!executionId) return undefined;
        // Spread the resumers (deterministically) over the first part of the turns.
        await sleep((index * 37) % options.resumeSpreadMs);
        const resumed = await readRaw({ url: `${options.baseUrl}/api/chat/${chat.conversationId}/stream` });
        resumeHeadersMs.push(resumed.headersMs);
        if (resumed.status !== 204) {
          resumedVia.chatStream += 1;
          return resumed;
        }
        resumedVia.executionStream += 1;
        noContentAt = resumed.startedAt + resumed.headersMs;
        return readRaw({ url: `${options.baseUrl}/api/executions/${executionId}/stream` });
      })();
      const [original, resumed] = await Promise.all([chat.done, resumer]);
      chatHeadersMs.push(original.headersMs);
      if (noContentAt !== undefined && (original.finishChunkAt === undefined || noContentAt < original.finishChunkAt)) {
        noContentBeforeOriginalFinished += 1;
      }
      return { conversationId: chat.conversationId, original, resumed };
    };
    const startedAt = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: options.streams }, (_, index) =>
        one(index).catch((error: unknown) => {
          fail("exceptions", `stream ${index}: ${error instanceof Error ? error.message : String(error)}`);
          return undefined;
        }),
      ),
    );
    const durationMs = performance.now() - startedAt;
    // Checked once everything has ended, so that parsing never delays reading.
    for (const outcome of outcomes) {
      if (!outcome) continue;
      check(outcome.original, "original", outcome.conversationId);
      check(outcome.resumed, "resumer", outcome.conversationId);
    }
    const total = Object.values(errors).reduce((sum, count) => sum + count, 0);
    return {
      durationMs,
      errors: { total, ...errors },
      examples,
      resumedVia,
      noContentBeforeOriginalFinished,
      chatHeadersMs,
      resumeHeadersMs,
    };
  },
};

export type ClientApi = typeof api;
serveWorkerApi(api);
