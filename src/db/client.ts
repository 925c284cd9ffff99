import { mkdirSync } from "node:fs";
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

/** Opens PGlite on a folder (or an existing instance, e.g. a test clone) and applies pending migrations. */
export async function openPglite(source: { dir: string } | { client: PGlite }): Promise<DatabaseHandle> {
  let client: PGlite;
  if ("client" in source) {
    client = source.client;
  } else {
    mkdirSync(source.dir, { recursive: true });
    // On Node the data folder is written through directly, so PGlite's after-query "sync" has nothing to do;
    // not awaiting it saves a lock round trip per statement and loses no durability.
    client = await PGlite.create(source.dir, { relaxedDurability: true });
  }
  const db = drizzlePglite(client, { schema });
  await migratePglite(db, { migrationsFolder: migrationsFolder() });
  const locks = createInProcessLocks();
  return {
    db: db as unknown as Database,
    kind: "pglite",
    locks,
    async close() {
      await locks.close();
      await client.close();
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
