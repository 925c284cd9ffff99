/**
 * The offline `demo` language model: deterministic replies streamed with a per-token delay, so the
 * product runs end to end without an API key. What it answers is decided in ./demo-prompt.
 */
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
  LanguageModelV3Usage,
} from "@ai-sdk/provider";
import { randomBytes } from "node:crypto";
import { type DemoReply, hashText, planDemoReply } from "./demo-prompt";

/** Longest per-token delay accepted in a `demo:<ms>` model id. */
export const maximumTokenDelayMs = 60_000;

/** Settings of {@link createDemoModel}. */
export interface DemoModelSettings {
  /** Wait before each streamed text delta; 0 streams as fast as possible without timers. */
  tokenDelayMs: number;
}

/** Message of the error the `fail` command produces. */
export const demoFailureMessage = "demo model failure";

/** What `fail` produces: a permanent failure, as a provider's refusal of a bad request would be. */
class DemoModelFailure extends Error {
  readonly isRetryable = false;
  constructor() {
    super(demoFailureMessage);
    this.name = "DemoModelFailure";
  }
}

const textPartId = "text_0";
// A fixed timestamp keeps identical prompts producing identical stream parts.
const responseTimestamp = new Date(0);

/**
 * Reads a model id: `"demo"` → `{}`, `"demo:35"` → `{ tokenDelayMs: 35 }`; any other id, or a
 * delay that is not an integer between 0 and {@link maximumTokenDelayMs}, → undefined.
 */
export function parseDemoModelId(id: string): { tokenDelayMs?: number } | undefined {
  if (id === "demo") return {};
  const match = /^demo:(\d+)$/.exec(id);
  if (!match) return undefined;
  const tokenDelayMs = Number(match[1]);
  return tokenDelayMs <= maximumTokenDelayMs ? { tokenDelayMs } : undefined;
}

/** Creates the deterministic offline model (see ./demo-prompt for the commands it understands). */
export function createDemoModel(settings: DemoModelSettings): LanguageModelV3 {
  const { tokenDelayMs } = settings;
  if (!Number.isFinite(tokenDelayMs) || tokenDelayMs < 0) {
    throw new RangeError(`tokenDelayMs must be a non-negative number, got ${tokenDelayMs}`);
  }
  return {
    specificationVersion: "v3",
    provider: "tether",
    modelId: "demo",
    supportedUrls: {},
    async doGenerate(options) {
      options.abortSignal?.throwIfAborted();
      return generate(options);
    },
    async doStream(options) {
      options.abortSignal?.throwIfAborted();
      return { stream: streamReply(options, tokenDelayMs) };
    },
  };
}

interface PlannedCall {
  reply: DemoReply;
  responseId: string;
  promptHash: string;
  inputTokens: number;
}

function planCall(options: LanguageModelV3CallOptions): PlannedCall {
  const toolsAllowed = options.toolChoice?.type !== "none";
  const toolNames = new Set(
    toolsAllowed ? (options.tools ?? []).filter((tool) => tool.type === "function").map((tool) => tool.name) : [],
  );
  const serializedPrompt = JSON.stringify(options.prompt, (_key, value: unknown) =>
    value instanceof Uint8Array ? `${value.byteLength} bytes` : value,
  );
  const promptHash = hashText(serializedPrompt);
  return {
    reply: planDemoReply(options.prompt, toolNames),
    responseId: `demo_${promptHash}`,
    promptHash,
    // Roughly four characters per token, like real tokenizers on English text.
    inputTokens: Math.ceil(serializedPrompt.length / 4),
  };
}

/** Unique per call, like a hosted model's: side effects are keyed on it, so two identical requests must differ. */
function toolCallId(index: number): string {
  return `call_${index}_${randomBytes(8).toString("hex")}`;
}

function finishReason(reply: DemoReply): LanguageModelV3FinishReason {
  const unified = reply.type === "tool-calls" ? "tool-calls" : reply.type === "failure" ? "error" : "stop";
  return { unified, raw: undefined };
}

function usage(inputTokens: number, reply: DemoReply): LanguageModelV3Usage {
  const outputTokens = reply.type === "tool-calls" ? reply.calls.length : reply.tokens.length;
  return {
    inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: outputTokens, text: reply.type === "tool-calls" ? 0 : outputTokens, reasoning: 0 },
  };
}

function generate(options: LanguageModelV3CallOptions): LanguageModelV3GenerateResult {
  const { reply, responseId, promptHash, inputTokens } = planCall(options);
  if (reply.type === "failure") throw new DemoModelFailure();
  const content: LanguageModelV3Content[] =
    reply.type === "tool-calls"
      ? reply.calls.map((call, index) => ({ type: "tool-call", toolCallId: toolCallId(index), ...call }))
      : reply.tokens.length > 0
        ? [{ type: "text", text: reply.tokens.join("") }]
        : [];
  return {
    content,
    finishReason: finishReason(reply),
    usage: usage(inputTokens, reply),
    response: { id: responseId, modelId: "demo", timestamp: responseTimestamp },
    warnings: [],
  };
}

function* streamParts(planned: PlannedCall): Generator<LanguageModelV3StreamPart> {
  const { reply, responseId, promptHash, inputTokens } = planned;
  yield { type: "stream-start", warnings: [] };
  yield { type: "response-metadata", id: responseId, modelId: "demo", timestamp: responseTimestamp };
  if (reply.type === "tool-calls") {
    for (const [index, call] of reply.calls.entries()) {
      yield { type: "tool-call", toolCallId: toolCallId(index), ...call };
    }
  } else if (reply.tokens.length > 0) {
    yield { type: "text-start", id: textPartId };
    for (const delta of reply.tokens) yield { type: "text-delta", id: textPartId, delta };
    yield { type: "text-end", id: textPartId };
  }
  if (reply.type === "failure") yield { type: "error", error: new DemoModelFailure() };
  yield { type: "finish", finishReason: finishReason(reply), usage: usage(inputTokens, reply) };
}

// Parts produced ahead of the reader: enough to batch work when there is no delay, few enough
// that an abort still discards most of a long reply instead of letting it drain.
const queuedPartsLimit = 64;
/** Without a token delay, one pull in this many first gives the event loop a turn. */
const PULLS_PER_YIELD = 4;

/**
 * Streams the reply lazily, honouring backpressure: each pull enqueues parts until the queue is
 * full or a text delta is due, waiting `tokenDelayMs` before every delta. Aborting errors the
 * stream at once with the signal's reason (as a cancelled fetch would) and clears the timer.
 */
function streamReply(
  options: LanguageModelV3CallOptions,
  tokenDelayMs: number,
): LanguageModelV3StreamResult["stream"] {
  const parts = streamParts(planCall(options));
  const abortSignal = options.abortSignal;
  const stopped = new AbortController();
  let pulls = 0;
  let stopOnAbort: (() => void) | undefined;
  const release = () => {
    if (stopOnAbort) abortSignal?.removeEventListener("abort", stopOnAbort);
  };

  const source: UnderlyingDefaultSource<LanguageModelV3StreamPart> = {
    start(controller) {
      stopOnAbort = () => {
        stopped.abort(abortSignal?.reason);
        controller.error(abortSignal?.reason);
      };
      abortSignal?.addEventListener("abort", stopOnAbort, { once: true });
    },
    async pull(controller) {
      try {
        // Like tokens arriving over a network, a batch at a time: without a delay the reader would otherwise
        // take the whole reply in one task and hold the event loop until it ends.
        if (tokenDelayMs === 0 && ++pulls % PULLS_PER_YIELD === 0) await new Promise((resolve) => setImmediate(resolve));
        for (;;) {
          stopped.signal.throwIfAborted();
          const next = parts.next();
          if (next.done) {
            release();
            controller.close();
            return;
          }
          if (next.value.type === "text-delta" && tokenDelayMs > 0) {
            await sleep(tokenDelayMs, stopped.signal);
            controller.enqueue(next.value);
            return;
          }
          controller.enqueue(next.value);
          if ((controller.desiredSize ?? 0) <= 0) return;
        }
      } catch (error) {
        release();
        throw error;
      }
    },
    cancel(reason) {
      release();
      stopped.abort(reason);
    },
  };
  return new ReadableStream(source, new CountQueuingStrategy({ highWaterMark: queuedPartsLimit }));
}

function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, milliseconds);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
