/**
 * A model worker's entry (bundled to dist/model-worker.mjs): runs the `streamText` of the turns the main
 * thread sends, so that their per-chunk cost (the AI SDK's stream plumbing) is paid off the thread that
 * serves HTTP. Everything the turns send in one turn of this thread's loop goes back as one message: with
 * hundreds of turns, a message per turn's burst cost the main thread more than the writes it led to.
 */
import { jsonSchema, tool, zodSchema, type ToolSet, type UIMessageChunk } from "ai";
import { parentPort } from "node:worker_threads";
import { ToolCallFailure } from "../../agents/mcp";
import { modelOfSpec } from "../../agents/models";
import { isToolName, toolDefinition } from "../../agents/tools";
import { streamModel } from "../model-stream";
import { lowerThreadPriority } from "./thread-priority";
import { describeError, type ToMain, type ToMainBatch, type ToWorker, type ToolDescription } from "./protocol";

const port = parentPort!;
/** Lower than the main thread's 0: under a full CPU it kept a resume's headers 3-5x closer to on time. */
const WORKER_NICENESS = 5;
// The main thread serves HTTP and accepts resumes; when both want the CPU, it should win.
lowerThreadPriority(WORKER_NICENESS);

/** The messages of this loop turn, in order; each turn's chunks since its last other message are one burst. */
let outbox: ToMain[] = [];
const openBursts = new Map<number, UIMessageChunk[]>();
let flushing = false;
function flush() {
  flushing = false;
  openBursts.clear();
  const messages = outbox;
  outbox = [];
  port.postMessage({ type: "batch", messages } satisfies ToMainBatch);
}
function send(message: ToMain) {
  // A turn's later chunks must not overtake this message.
  openBursts.delete(message.turn);
  outbox.push(message);
  if (!flushing) {
    flushing = true;
    setImmediate(flush);
  }
}
function sendChunk(turn: number, chunk: UIMessageChunk) {
  const burst = openBursts.get(turn);
  if (burst) return void burst.push(chunk);
  const chunks = [chunk];
  send({ type: "chunks", turn, chunks });
  openBursts.set(turn, chunks);
}

interface PendingCall {
  resolve(output: unknown): void;
  reject(error: Error): void;
}
const aborts = new Map<number, AbortController>();
const calls = new Map<string, PendingCall>();
let nextCall = 0;

function rebuildTools(turn: number, descriptions: ToolDescription[], signal: AbortSignal): ToolSet {
  const tools: ToolSet = {};
  for (const description of descriptions) {
    tools[description.name] = tool({
      description: description.description,
      // A built-in tool's input is checked as in the main thread (zod); an MCP tool's is the server's to check.
      inputSchema: isToolName(description.name)
        ? zodSchema(toolDefinition(description.name).inputSchema)
        : jsonSchema<Record<string, unknown>>(description.inputSchema),
      needsApproval: description.needsApproval,
      execute: (input: unknown, { toolCallId }: { toolCallId: string }) =>
        new Promise((resolve, reject) => {
          signal.throwIfAborted();
          const call = nextCall++;
          calls.set(`${turn}:${call}`, { resolve, reject });
          send({ type: "tool-call", turn, call, toolName: description.name, toolCallId, input });
        }),
    });
  }
  return tools;
}

async function runTurn(message: Extract<ToWorker, { type: "turn" }>): Promise<void> {
  const controller = new AbortController();
  aborts.set(message.turn, controller);
  const model = streamModel({
    model: modelOfSpec(message.spec),
    system: message.system,
    history: message.history,
    tools: rebuildTools(message.turn, message.tools, controller.signal),
    maxSteps: message.maxSteps,
    maxRetries: message.maxRetries,
    abortSignal: controller.signal,
    messageId: message.messageId,
    sendStart: message.sendStart,
  });
  let failure: unknown;
  try {
    for await (const chunk of model.chunks) sendChunk(message.turn, chunk);
  } catch (error) {
    failure = error;
  } finally {
    aborts.delete(message.turn);
  }
  failure ??= model.end.failure;
  send({
    type: "end",
    turn: message.turn,
    responseMessage: model.end.responseMessage,
    ...(failure === undefined ? {} : { failure: describeError(failure) }),
  });
}

port.on("message", (message: ToWorker) => {
  if (message.type === "turn") void runTurn(message);
  else if (message.type === "abort") aborts.get(message.turn)?.abort();
  else {
    const key = `${message.turn}:${message.call}`;
    const pending = calls.get(key);
    calls.delete(key);
    if (!pending) return;
    if (message.type === "tool-result") pending.resolve(message.output);
    else {
      const error = message.error.toolCallFailure ? new ToolCallFailure(message.error.message) : new Error(message.error.message);
      error.name = message.error.name;
      pending.reject(error);
    }
  }
});
