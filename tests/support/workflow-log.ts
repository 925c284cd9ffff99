import path from "node:path";
import { createLocalWorld } from "@workflow/world-local";
import { createWorld as createPostgresWorld } from "@workflow/world-postgres";
import pg from "pg";

/** Where a server process keeps its Workflow SDK world: its data folder, or the PostgreSQL it shares. */
export type WorldLocation = { kind: "local"; dataDir: string } | { kind: "postgres"; url: string };

interface LoggedEvent {
  eventType: string;
  correlationId?: string;
}

/**
 * Reads a run's event log from this (test) process through the SDK's own world API, without starting
 * that world: no queue, no handlers. A local world is opened afresh for every read (it caches events).
 */
export async function readRunEvents(location: WorldLocation, runId: string): Promise<LoggedEvent[]> {
  let pool: pg.Pool | undefined;
  const world =
    location.kind === "local"
      ? createLocalWorld({ dataDir: path.join(location.dataDir, "workflow") })
      : createPostgresWorld({ pool: (pool = new pg.Pool({ connectionString: location.url, max: 1 })) });
  try {
    const page = await world.events.list({ runId, pagination: { limit: 1000, sortOrder: "asc" } });
    return page.data as LoggedEvent[];
  } finally {
    // close() also ends the Postgres world's own listener connection, which the pool does not own.
    await world.close?.();
    await pool?.end();
  }
}

/**
 * True once the run waits on a hook with every started step recorded as finished in the event log: a
 * kill now finds the log consistent. (Killed between a step's two completion writes, the SDK wedges the
 * run for good: vercel/workflow#3081.)
 */
export function isWaitingWithSettledSteps(events: LoggedEvent[]): boolean {
  const finished = new Set(
    events.filter((event) => event.eventType === "step_completed" || event.eventType === "step_failed").map((event) => event.correlationId),
  );
  const started = events.filter((event) => event.eventType === "step_started").map((event) => event.correlationId);
  return events.some((event) => event.eventType === "hook_created") && started.every((id) => finished.has(id));
}
