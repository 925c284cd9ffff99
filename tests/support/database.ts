import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
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

let pgliteTemplate: Promise<PGlite> | undefined;

/** A migrated in-memory PGlite made once per worker; each test database is a clone (much cheaper). */
function migratedTemplate(): Promise<PGlite> {
  pgliteTemplate ??= (async () => {
    const client = await PGlite.create();
    await openPglite({ client });
    return client;
  })();
  return pgliteTemplate;
}

/** A fresh, migrated database no other run can see; dispose() drops it. */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === "pglite") {
    const client = (await (await migratedTemplate()).clone()) as PGlite;
    const handle = await openPglite({ client });
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
