/**
 * Calls into a worker thread of this process: the benchmarks run their HTTP clients there, so the clients'
 * event loop never waits on the server's (and times measured by the client are not the server's stalls).
 */
import { parentPort, Worker } from "node:worker_threads";

type Api = Record<string, (...args: never[]) => Promise<unknown>>;
type WorkerRequest = { id: number; name: string; args: unknown[] };
type WorkerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export interface WorkerClient<A extends Api> {
  call<K extends keyof A & string>(name: K, ...args: Parameters<A[K]>): Promise<Awaited<ReturnType<A[K]>>>;
  terminate(): Promise<void>;
}

/** In the worker: answers each call with the named function of `api`. */
export function serveWorkerApi(api: Api): void {
  const port = parentPort;
  if (!port) return;
  port.on("message", (request: WorkerRequest) => {
    const method = api[request.name] as unknown as (...args: unknown[]) => Promise<unknown>;
    method(...request.args).then(
      (value) => port.postMessage({ id: request.id, ok: true, value } satisfies WorkerReply),
      (error: unknown) =>
        port.postMessage({
          id: request.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        } satisfies WorkerReply),
    );
  });
}

/** In this thread: starts the worker running `entry` (a .ts module) and calls into it. */
export function startWorkerClient<A extends Api>(entry: URL): WorkerClient<A> {
  // tsx's loader hooks do not reach worker threads on Node 20, so the worker loads the entry through tsx's API.
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const worker = new Worker(
    `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))`,
    { eval: true },
  );
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on("message", (reply: WorkerReply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(new Error(`client worker: ${reply.error}`));
  });
  worker.on("error", (error) => failAll(error));
  worker.on("exit", (code) => failAll(new Error(`client worker exited (${code})`)));
  return {
    call(name, ...args) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        worker.postMessage({ id, name, args } satisfies WorkerRequest);
      });
    },
    async terminate() {
      worker.removeAllListeners("exit");
      await worker.terminate();
    },
  };
}
