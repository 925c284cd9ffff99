/**
 * The PGlite thread's entry (bundled to dist/pglite-worker.mjs). PGlite is PostgreSQL compiled to
 * WebAssembly: every statement runs synchronously on the thread that owns the instance, and its queue
 * chains statements through microtasks, so in the main thread a burst of turns' statements kept the event
 * loop from accepting connections for hundreds of milliseconds. Here they cost the HTTP thread nothing.
 */
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { parentPort, workerData } from "node:worker_threads";
import { describeError, type FromDatabase, type SyncAnswers, type ThreadQueryOptions, type ThreadStart, type ToDatabase } from "./protocol";

const port = parentPort!;
const { answers, answered, ...start } = workerData as ThreadStart & SyncAnswers;
function reply(message: FromDatabase, sync?: boolean) {
  if (!sync) return port.postMessage(message);
  answers.postMessage(message);
  Atomics.store(answered, 0, 1);
  Atomics.notify(answered, 0);
}

type Client = Pick<Transaction, "query" | "exec">;

interface OpenTransaction {
  tx: Transaction;
  finish(commit: boolean): void;
  /** Settles with the transaction's own end (its COMMIT or ROLLBACK). */
  ended: Promise<void>;
}

const keepText = (value: string) => value;
const parserSets = new Map<string, Record<number, (value: string) => string>>();
function queryOptions(options: ThreadQueryOptions) {
  if (!options.textTypes?.length) return { rowMode: options.rowMode };
  const key = options.textTypes.join(",");
  let parsers = parserSets.get(key);
  if (!parsers) {
    parsers = Object.fromEntries(options.textTypes.map((oid) => [oid, keepText]));
    parserSets.set(key, parsers);
  }
  return { rowMode: options.rowMode, parsers };
}

class Rollback extends Error {}

async function main() {
  const pg = await PGlite.create({
    dataDir: start.dataDir,
    loadDataDir: start.archive ? new Blob([start.archive]) : undefined,
    relaxedDurability: start.relaxedDurability,
  });
  const transactions = new Map<number, OpenTransaction>();
  let nextTransaction = 0;

  /** Opens a transaction and holds it (and PGlite's lock) until the main thread sends its end. */
  function begin(): Promise<number> {
    return new Promise((opened, failed) => {
      const id = nextTransaction++;
      let decide!: (commit: boolean) => void;
      const decided = new Promise<boolean>((resolve) => (decide = resolve));
      const entry = { finish: decide } as OpenTransaction;
      entry.ended = pg
        .transaction(async (tx) => {
          entry.tx = tx;
          transactions.set(id, entry);
          opened(id);
          if (!(await decided)) throw new Rollback();
        })
        .then(
          () => undefined,
          (error: unknown) => {
            if (error instanceof Rollback) return;
            // Before it opened (BEGIN failed) nobody waits for its end: the begin fails instead.
            if (!transactions.has(id)) return failed(error);
            throw error;
          },
        )
        .finally(() => transactions.delete(id));
    });
  }

  async function handle(message: ToDatabase): Promise<unknown> {
    const open = message.tx === undefined ? undefined : transactions.get(message.tx);
    if (message.tx !== undefined && !open) throw new Error(`transaction ${message.tx} is not open`);
    const client: Client = open?.tx ?? pg;
    switch (message.op) {
      case "query":
        return client.query(message.sql, message.params, queryOptions(message.options));
      case "exec":
        return client.exec(message.sql, queryOptions(message.options));
      case "begin":
        return begin();
      case "end":
        open!.finish(message.commit);
        return open!.ended;
      case "close":
        await pg.close();
        return null;
    }
  }

  port.on("message", (message: ToDatabase) => {
    handle(message).then(
      (result) => reply({ id: message.id, result }, message.sync),
      (error: unknown) => reply({ id: message.id, error: describeError(error) }, message.sync),
    );
  });
  reply({ id: -1, result: "ready" });
}

main().catch((error: unknown) => reply({ id: -1, error: describeError(error) }));
