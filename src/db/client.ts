import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import * as schema from "../../drizzle/schema";
import { projectRoot } from "../paths";
import { createInProcessLocks, createPostgresLocks, type NamedLocks } from "./locks";
import { PgliteThread } from "./pglite-thread/client";
import type { ThreadStart } from "./pglite-thread/protocol";

export type Schema = typeof schema;
/** The drizzle database, whichever driver is behind it. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type DatabaseKind = "pglite" | "postgres";

export interface DatabaseHandle {
  db: Database;
  kind: DatabaseKind;
  /** Exclusive named locks across every process on this database. */
  locks: NamedLocks;
  close(): Promise<void>;
}

const migrationsFolder = () => path.join(projectRoot(), "migrations");

/**
 * Where PGlite's data lives: a folder (created when missing), or a data folder archive (`dumpDataDir`) loaded
 * into memory, as tests start each database from one migrated template.
 */
export type PgliteSource = { dir: string } | { archive: Uint8Array<ArrayBuffer> };

/** PGlite in its own thread (./pglite-thread) when the thread's bundle is built, else in this thread. */
async function startPglite(source: PgliteSource): Promise<{ client: PGlite | PgliteThread; close(): Promise<void> }> {
  if ("dir" in source) mkdirSync(source.dir, { recursive: true });
  // On Node the data folder is written through directly, so PGlite's after-query "sync" has nothing to do;
  // not awaiting it saves a lock round trip per statement and loses no durability.
  const start: ThreadStart = { relaxedDurability: true, ...("dir" in source ? { dataDir: source.dir } : { archive: source.archive }) };
  const threadFile = path.join(projectRoot(), "dist", "pglite-worker.mjs");
  if (existsSync(threadFile)) {
    const thread = await PgliteThread.open(threadFile, start);
    return { client: thread, close: () => thread.close() };
  }
  const client = await PGlite.create({ ...start, loadDataDir: start.archive && new Blob([start.archive]) });
  return { client, close: () => client.close() };
}

/** Opens PGlite and applies pending migrations. */
export async function openPglite(source: PgliteSource): Promise<DatabaseHandle> {
  const pglite = await startPglite(source);
  // The thread answers the part of PGlite's interface drizzle's driver calls (query, exec, transaction).
  const db = drizzlePglite(pglite.client as PGlite, { schema });
  await migratePglite(db, { migrationsFolder: migrationsFolder() });
  const locks = createInProcessLocks();
  return {
    db: db as unknown as Database,
    kind: "pglite",
    locks,
    async close() {
      await locks.close();
      await pglite.close();
    },
  };
}

/** Opens PostgreSQL through postgres.js and applies pending migrations. */
export async function openPostgres(url: string, options: { maxConnections?: number } = {}): Promise<DatabaseHandle> {
  const client = postgres(url, { max: options.maxConnections ?? 10, onnotice: () => {} });
  const db = drizzlePostgres(client, { schema });
  await migratePostgres(db, { migrationsFolder: migrationsFolder() });
  const locks = createPostgresLocks(client);
  return {
    db: db as unknown as Database,
    kind: "postgres",
    locks,
    async close() {
      await locks.close();
      await client.end({ timeout: 5 });
    },
  };
}

export function openDatabase(
  database: { kind: "pglite"; dir: string } | { kind: "postgres"; url: string },
): Promise<DatabaseHandle> {
  return database.kind === "pglite" ? openPglite({ dir: database.dir }) : openPostgres(database.url);
}
