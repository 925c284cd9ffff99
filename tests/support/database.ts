import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import path from "node:path";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import postgres from "postgres";
import { projectRoot } from "../../src/paths";
import { openPglite, openPostgres, type DatabaseHandle, type DatabaseKind } from "../../src/db/client";

/** The databases every DB-backed suite runs on: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function databaseKinds(): DatabaseKind[] {
  return process.env.TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
}

export interface TestDatabase {
  handle: DatabaseHandle;
  /** Connection URL of the throwaway PostgreSQL database (postgres only). */
  url?: string;
  dispose(): Promise<void>;
}

let pgliteTemplate: Promise<Uint8Array> | undefined;

/**
 * The data folder of a migrated PGlite, made once per test worker: each test database starts from it
 * (loading an archive is much cheaper than creating and migrating a database).
 */
function migratedTemplate(): Promise<Uint8Array> {
  pgliteTemplate ??= (async () => {
    const client = await PGlite.create();
    await migratePglite(drizzlePglite(client), { migrationsFolder: path.join(projectRoot(), "migrations") });
    const archive = new Uint8Array(await (await client.dumpDataDir("none")).arrayBuffer());
    await client.close();
    return archive;
  })();
  return pgliteTemplate;
}

/** A fresh, migrated database no other run can see; dispose() drops it. */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === "pglite") {
    // A copy: the archive moves to the database's thread.
    const handle = await openPglite({ archive: (await migratedTemplate()).slice() });
    return { handle, dispose: () => handle.close() };
  }
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error("TEST_DATABASE_URL is not set");
  const name = `tether_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openPostgres(url.toString(), { maxConnections: 5 });
  return {
    handle,
    url: url.toString(),
    async dispose() {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}
