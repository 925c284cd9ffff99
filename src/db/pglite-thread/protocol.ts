import type { MessagePort } from "node:worker_threads";

/** Messages between the main thread and the PGlite thread (see ./worker.ts). */

export interface ThreadQueryOptions {
  rowMode?: "array" | "object";
  /** Type oids whose values stay as PostgreSQL's text (the only parsers that can cross a thread). */
  textTypes?: number[];
}

/**
 * `tx`: a statement of that open transaction. `sync`: the main thread waits for this answer synchronously
 * (on the `answers` port, `answered` raised), so a transaction's statements follow each other without the
 * main loop going round between them, as they did with PGlite in process.
 */
export type ToDatabase = { id: number; tx?: number; sync?: boolean } & (
  | { op: "query"; sql: string; params: unknown[]; options: ThreadQueryOptions }
  | { op: "exec"; sql: string; options: ThreadQueryOptions }
  | { op: "begin" }
  | { op: "end"; commit: boolean }
  | { op: "close" }
);

/** A database error as plain data: its message and PostgreSQL's fields (code, detail, constraint …). */
export type DescribedError = { message: string; name: string } & Record<string, unknown>;

export type FromDatabase = { id: number } & ({ result: unknown } | { error: DescribedError });

export interface ThreadStart {
  /** A folder to open (created when empty), or a data folder archive (`dumpDataDir`) to load in memory. */
  dataDir?: string;
  archive?: Uint8Array<ArrayBuffer>;
  relaxedDurability: boolean;
}

/** What the thread answers synchronous requests on: a port, and a flag it raises (Atomics) when it has. */
export interface SyncAnswers {
  answers: MessagePort;
  answered: Int32Array<SharedArrayBuffer>;
}

const ERROR_FIELDS = ["code", "severity", "detail", "hint", "position", "where", "schema", "table", "column", "dataType", "constraint"];

export function describeError(error: unknown): DescribedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const described: DescribedError = { name: error.name, message: error.message };
  for (const field of ERROR_FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[field];
    if (value !== undefined) described[field] = value;
  }
  return described;
}

export function errorOf(described: DescribedError): Error {
  const { message, name, ...fields } = described;
  return Object.assign(new Error(message), { name }, fields);
}
