import { createRequire } from "node:module";
import path from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { makeWorkerUtils } from "graphile-worker";
import pg from "pg";

/** Any fixed number: serialises the set-up of concurrently starting servers on one database. */
const SETUP_LOCK = 7_402_113;

/**
 * Creates (or brings up to date) the Postgres world's schemas — `workflow` and graphile-worker's queue —
 * on the app's database. Idempotent, and safe when several servers start at once.
 */
export async function setupPostgresWorld(connectionString: string): Promise<void> {
  // The package ships its migrations beside dist/ (src/drizzle/migrations), as its own set-up CLI reads them.
  const entry = createRequire(import.meta.url).resolve("@workflow/world-postgres");
  const packageFolder = path.resolve(path.dirname(entry), "..");
  const pool = new pg.Pool({ connectionString, max: 1 });
  try {
    await pool.query("select pg_advisory_lock($1)", [SETUP_LOCK]);
    await migrate(drizzle(pool), {
      migrationsFolder: path.join(packageFolder, "src", "drizzle", "migrations"),
      migrationsTable: "workflow_migrations",
      migrationsSchema: "workflow_drizzle",
    });
    const workerUtils = await makeWorkerUtils({ pgPool: pool });
    try {
      await workerUtils.migrate();
    } finally {
      await workerUtils.release();
    }
    await pool.query("select pg_advisory_unlock($1)", [SETUP_LOCK]);
  } finally {
    await pool.end();
  }
}
