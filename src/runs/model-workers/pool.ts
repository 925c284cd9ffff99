import { existsSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { ToolSet, UIMessageChunk } from "ai";
import { isToolCallFailure } from "../../agents/mcp";
import type { Logger } from "../../logger";
import { projectRoot } from "../../paths";
import type { ModelStreamEnd } from "../model-stream";
import { createSlicedQueue } from "./sliced-queue";
import { describeError, errorOf, type ToMain, type ToMainBatch, type ToWorker, type TurnRequest } from "./protocol";

/** What a turn in a worker sends back, in order: chunk bursts, then its end. */
type TurnEvent = { chunks: UIMessageChunk[] } | { end: ModelStreamEnd } | { error: Error };

interface RunningTurn {
  tools: ToolSet;
  abortSignal?: AbortSignal;
  push(event: TurnEvent): void;
}

interface ModelWorker {
  thread: Worker;
  turns: Map<number, RunningTurn>;
}


/**
 * Threads that run the `streamText` of turns (classic turns, durable model rounds; see ./worker.ts), so that 1000 streams' AI SDK
 * plumbing is spread over the machine's cores and the main thread keeps serving HTTP on time. A turn
 * goes to the thread with the fewest turns; a thread that dies fails its turns (the runs record the
 * failure) and is replaced.
 */
export function createModelWorkers(options: { threads: number; logger: Logger }) {
  const file = path.join(projectRoot(), "dist", "model-worker.mjs");
  if (options.threads <= 0) return undefined;
  if (!existsSync(file)) {
    options.logger.warn({ file }, "model workers are not built (run `npm run build`): models stream in the main thread");
    return undefined;
  }
  let nextTurn = 0;
  let closing = false;
  const slices = createSlicedQueue();

  function spawn(): ModelWorker {
    const worker: ModelWorker = { thread: new Worker(file), turns: new Map() };
    // Idle workers never keep the process alive; a running turn keeps its own handles (its timers, sockets).
    worker.thread.unref();
    const post = (message: ToWorker) => worker.thread.postMessage(message);
    const receive = (message: ToMain) => {
      const turn = worker.turns.get(message.turn);
      if (!turn) return;
      if (message.type === "chunks") turn.push({ chunks: message.chunks });
      else if (message.type === "end") {
        worker.turns.delete(message.turn);
        turn.push({ end: { responseMessage: message.responseMessage, failure: message.failure && errorOf(message.failure) } });
      } else {
        void callTool(turn, message).then(post, (error: unknown) =>
          post({ type: "tool-error", turn: message.turn, call: message.call, error: describeError(error, isToolCallFailure(error)) }),
        );
      }
    };
    worker.thread.on("message", (batch: ToMainBatch) => {
      for (const message of batch.messages) slices.push(() => receive(message));
    });
    const stopped = (why: string) => {
      const index = workers.indexOf(worker);
      if (index === -1) return;
      if (!closing) {
        options.logger.error({ why }, "a model worker stopped; its turns fail");
        workers[index] = spawn();
      } else workers.splice(index, 1);
      for (const turn of worker.turns.values()) turn.push({ error: new Error(`the model worker stopped: ${why}`) });
      worker.turns.clear();
    };
    worker.thread.on("error", (error) => stopped(error.message));
    worker.thread.on("exit", (code) => stopped(`exit code ${code}`));
    return worker;
  }

  async function callTool(turn: RunningTurn, call: Extract<ToMain, { type: "tool-call" }>): Promise<ToWorker> {
    const execute = turn.tools[call.toolName]?.execute;
    if (!execute) throw new Error(`tool ${call.toolName} is not offered`);
    const output: unknown = await execute(call.input, { toolCallId: call.toolCallId, messages: [], abortSignal: turn.abortSignal });
    return { type: "tool-result", turn: call.turn, call: call.call, output };
  }

  const workers: ModelWorker[] = Array.from({ length: options.threads }, spawn);

  return {
    /** Streams one turn from the least busy worker; `tools` run here when the model calls them. */
    streamTurn(request: TurnRequest, tools: ToolSet, abortSignal?: AbortSignal): { chunks: AsyncIterable<UIMessageChunk>; end: ModelStreamEnd } {
      const worker = workers.reduce((least, candidate) => (candidate.turns.size < least.turns.size ? candidate : least));
      const id = nextTurn++;
      const end: ModelStreamEnd = {};
      const queue: TurnEvent[] = [];
      let wake: (() => void) | undefined;
      worker.turns.set(id, {
        tools,
        abortSignal,
        push(event) {
          queue.push(event);
          wake?.();
        },
      });
      const abort = () => worker.thread.postMessage({ type: "abort", turn: id } satisfies ToWorker);
      abortSignal?.addEventListener("abort", abort, { once: true });
      worker.thread.postMessage({ type: "turn", turn: id, ...request } satisfies ToWorker);
      // An abort event never fires for a signal that was aborted already.
      if (abortSignal?.aborted) abort();

      async function* chunks(): AsyncGenerator<UIMessageChunk> {
        try {
          for (;;) {
            const event = queue.shift();
            if (!event) {
              await new Promise<void>((resolve) => (wake = resolve));
              wake = undefined;
              continue;
            }
            if ("chunks" in event) yield* event.chunks;
            else if ("end" in event) {
              Object.assign(end, event.end);
              return;
            } else throw event.error;
          }
        } finally {
          abortSignal?.removeEventListener("abort", abort);
          worker.turns.delete(id);
        }
      }
      return { chunks: chunks(), end };
    },

    /** The busiest worker's event-loop utilization since the previous call (0–1). */
    utilizationMeter(): () => number {
      let last = new Map(workers.map((worker) => [worker, worker.thread.performance.eventLoopUtilization()]));
      return () => {
        let busiest = 0;
        const now = new Map<ModelWorker, ReturnType<Worker["performance"]["eventLoopUtilization"]>>();
        for (const worker of workers) {
          const current = worker.thread.performance.eventLoopUtilization();
          now.set(worker, current);
          const before = last.get(worker);
          const window = before ? worker.thread.performance.eventLoopUtilization(current, before) : current;
          busiest = Math.max(busiest, window.utilization);
        }
        last = now;
        return busiest;
      };
    },

    /** The threads now running (for diagnostics). */
    threads: (): Worker[] => workers.map((worker) => worker.thread),

    async close(): Promise<void> {
      closing = true;
      await Promise.all(workers.map((worker) => worker.thread.terminate()));
    },
  };
}

export type ModelWorkers = NonNullable<ReturnType<typeof createModelWorkers>>;
