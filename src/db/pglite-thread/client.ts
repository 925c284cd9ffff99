import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { Results, Transaction } from "@electric-sql/pglite";
import { errorOf, type FromDatabase, type SyncAnswers, type ThreadQueryOptions, type ThreadStart, type ToDatabase } from "./protocol";

type Request = ToDatabase extends infer Message ? (Message extends unknown ? Omit<Message, "id"> : never) : never;

/** The query options drizzle passes: a row mode, and parsers that keep some types as text. */
interface QueryOptions {
  rowMode?: "array" | "object";
  parsers?: Record<number, (value: string, typeId: number) => unknown>;
}

const PROBE = "2000-01-01 00:00:00+00";
/** A transaction's statement takes milliseconds; this long, and the thread is gone or wedged. */
const SYNC_DEADLINE_MS = 30_000;
const textTypesCache = new WeakMap<object, number[]>();

/** Only parsers that keep a value as its text can be named across the thread boundary; refuse any other. */
function threadOptions(options: QueryOptions | undefined): ThreadQueryOptions {
  if (!options?.parsers) return { rowMode: options?.rowMode };
  let textTypes = textTypesCache.get(options.parsers);
  if (!textTypes) {
    textTypes = Object.entries(options.parsers).map(([oid, parse]) => {
      if (parse(PROBE, Number(oid)) !== PROBE) throw new Error(`the PGlite thread cannot run a parser for type ${oid}`);
      return Number(oid);
    });
    textTypesCache.set(options.parsers, textTypes);
  }
  return { rowMode: options.rowMode, textTypes };
}

/** What drizzle's PGlite driver calls on a client or on a transaction. */
export interface ThreadQueries {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(sql: string, options?: QueryOptions): Promise<Results[]>;
}

/**
 * PGlite in a thread of its own (./worker.ts), behind the part of PGlite's interface drizzle uses: queries,
 * multi-statement `exec` and transactions. A transaction holds PGlite's lock in the thread until its
 * callback here ends, as it would in process; every other statement waits meanwhile, so a transaction's
 * statements are answered synchronously: waiting a turn of a busy main loop for each one held the lock
 * ten times as long and queued everything else behind it. If the thread stops, every pending and later
 * query fails.
 */
export class PgliteThread implements ThreadQueries {
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private nextId = 0;
  private stopped: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly sync: { answers: MessagePort; answered: Int32Array<SharedArrayBuffer> },
  ) {
    worker.on("message", (message: FromDatabase) => {
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      if ("error" in message) call.reject(errorOf(message.error));
      else call.resolve(message.result);
    });
    const stop = (why: string) => {
      this.stopped ??= new Error(`the PGlite thread stopped: ${why}`);
      for (const call of this.pending.values()) call.reject(this.stopped);
      this.pending.clear();
    };
    worker.on("error", (error) => stop(error.message));
    worker.on("exit", (code) => stop(`exit code ${code}`));
  }

  /** Starts the thread on a data folder or archive; resolves once PGlite is open there. */
  static async open(file: string, start: ThreadStart): Promise<PgliteThread> {
    const { port1: answers, port2: threadAnswers } = new MessageChannel();
    const answered = new Int32Array(new SharedArrayBuffer(4));
    const workerData: ThreadStart & SyncAnswers = { ...start, answers: threadAnswers, answered };
    const worker = new Worker(file, {
      workerData,
      transferList: [threadAnswers, ...(start.archive ? [start.archive.buffer] : [])],
    });
    // A thread never keeps the process alive by itself; pending queries belong to requests that do.
    worker.unref();
    answers.unref();
    const thread = new PgliteThread(worker, { answers, answered });
    await new Promise<void>((resolve, reject) => {
      thread.pending.set(-1, { resolve: () => resolve(), reject });
    });
    return thread;
  }

  private call<T>(request: Request): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...request, id } as ToDatabase);
    });
  }

  /** Posts a request and blocks this thread until its answer (a statement takes a millisecond or so). */
  private callSync<T>(request: Request): T {
    if (this.stopped) throw this.stopped;
    const id = this.nextId++;
    Atomics.store(this.sync.answered, 0, 0);
    this.worker.postMessage({ ...request, id, sync: true } as ToDatabase);
    // A thread that died cannot say so while this one waits (its exit event needs this loop): a deadline.
    if (Atomics.wait(this.sync.answered, 0, 0, SYNC_DEADLINE_MS) === "timed-out") {
      // Taken for gone: a late answer must not be read as the next statement's.
      throw (this.stopped = new Error(`the PGlite thread did not answer a statement within ${SYNC_DEADLINE_MS / 1000} s`));
    }
    const answer = receiveMessageOnPort(this.sync.answers)!.message as FromDatabase;
    if ("error" in answer) throw errorOf(answer.error);
    return answer.result as T;
  }

  async query<T>(sql: string, params: unknown[] = [], options?: QueryOptions, tx?: number): Promise<Results<T>> {
    const request: Request = { op: "query", sql, params, options: threadOptions(options), tx };
    return tx === undefined ? this.call(request) : this.callSync(request);
  }

  async exec(sql: string, options?: QueryOptions, tx?: number): Promise<Results[]> {
    const request: Request = { op: "exec", sql, options: threadOptions(options), tx };
    return tx === undefined ? this.call(request) : this.callSync(request);
  }

  async transaction<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> {
    const tx = await this.call<number>({ op: "begin" });
    let closed = false;
    const handle = {
      query: <R>(sql: string, params?: unknown[], options?: QueryOptions) => this.query<R>(sql, params, options, tx),
      exec: (sql: string, options?: QueryOptions) => this.exec(sql, options, tx),
      get closed() {
        return closed;
      },
    } as unknown as Transaction;
    let result: T;
    try {
      result = await callback(handle);
    } catch (error) {
      closed = true;
      await this.call({ op: "end", tx, commit: false });
      throw error;
    }
    closed = true;
    await this.call({ op: "end", tx, commit: true });
    return result;
  }

  async close(): Promise<void> {
    if (!this.stopped) await this.call({ op: "close" });
    await this.worker.terminate();
  }
}
