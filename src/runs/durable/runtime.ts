import path from "node:path";
import { pathToFileURL } from "node:url";
import { createLocalWorld } from "@workflow/world-local";
import { createWorld as createPostgresWorld } from "@workflow/world-postgres";
import pg from "pg";
import { getWorld, setWorld } from "workflow/runtime";
import type { Logger } from "../../logger";
import { projectRoot } from "../../paths";
import { createLocalStreamStore } from "./local-stream-store";
import { createPostgresStreamStore } from "./postgres-stream-store";
import { setupPostgresWorld } from "./postgres-world-setup";
import { localStepReset, postgresStepReset, withWedgeHealing } from "./wedge-healing";

export type WorldKind = "local" | "postgres";

/** The Workflow SDK endpoints compiled from `workflows/` by `npm run build`. */
export interface WorkflowHandlers {
  flow: (request: Request) => Promise<Response>;
  step: (request: Request) => Promise<Response>;
}

/** The id the build gives `agentRun` (from its file path: moving the file orphans in-flight runs). */
export const AGENT_RUN_WORKFLOW_ID = "workflow//./workflows/agent-run/index//agentRun";

async function loadHandlers(): Promise<WorkflowHandlers> {
  const folder = path.join(projectRoot(), "dist", "workflow");
  const load = async (file: string) => {
    const module = (await import(/* @vite-ignore */ pathToFileURL(path.join(folder, file)).href)) as {
      POST: (request: Request) => Promise<Response>;
    };
    return module.POST;
  };
  try {
    return { flow: await load("workflows.mjs"), step: await load("steps.mjs") };
  } catch (error) {
    throw new Error(`the workflow bundles are missing or broken (run \`npm run build\`): ${String(error)}`);
  }
}

/**
 * Sets the process's Workflow SDK world and starts it (which also re-queues runs a crash interrupted).
 * Local world: files under the data folder, queue messages handed straight to the compiled handlers.
 * Postgres world: the same database as the app, its schema set up idempotently first; its queue posts
 * to this server's `/.well-known/workflow/v1/*` at `baseUrl`, so the server must already listen.
 */
export async function startWorkflowRuntime(options: {
  database: { kind: "pglite"; dir: string } | { kind: "postgres"; url: string };
  dataDir: string;
  baseUrl?: string;
  logger: Logger;
  /** Postgres world: queue deliveries (workflow replays and steps, a model round each) run at once in this process. */
  concurrency: number;
  /** Called once the world is set, before it starts: its queue may deliver to the handlers from then on. */
  onHandlers?: (handlers: WorkflowHandlers) => void;
}) {
  const handlers = await loadHandlers();
  let kind: WorldKind;
  let pool: pg.Pool | undefined;
  if (options.database.kind === "postgres") {
    kind = "postgres";
    await setupPostgresWorld(options.database.url);
    if (options.baseUrl) process.env.WORKFLOW_LOCAL_BASE_URL = options.baseUrl;
    // Our own pool, so a connection dropped under it (a restart of the database) is logged, not fatal.
    pool = new pg.Pool({ connectionString: options.database.url, max: 10 });
    pool.on("error", (error) => options.logger.warn({ error: error.message }, "workflow database connection lost"));
    // The world's own default runs 10 deliveries at once: a step holds its delivery for the whole model
    // round, so the 11th concurrent durable turn would wait for one of the first ten to end.
    const world = createPostgresWorld({ pool, streamFlushIntervalMs: 0, queueConcurrency: options.concurrency });
    const streams = createPostgresStreamStore(pool, options.logger);
    const close = async () => {
      await streams.close();
      await world.close?.();
    };
    setWorld(withWedgeHealing({ ...world, ...streams, close }, postgresStepReset(pool), options.logger));
  } else {
    kind = "local";
    const worldFolder = path.join(options.dataDir, "workflow");
    const world = createLocalWorld({ dataDir: worldFolder });
    world.registerHandler("__wkf_workflow_", handlers.flow);
    world.registerHandler("__wkf_step_", handlers.step);
    const streams = createLocalStreamStore(path.join(options.dataDir, "streams"), {
      streamer: world,
      chunksFolder: path.join(worldFolder, "streams", "chunks"),
    });
    setWorld(withWedgeHealing({ ...world, ...streams }, localStepReset(worldFolder), options.logger));
  }
  const world = getWorld();
  options.onHandlers?.(handlers);
  await world.start?.();
  options.logger.info({ world: kind }, "workflow runtime started");
  return {
    kind,
    handlers,
    async close() {
      setWorld(undefined);
      await (world as { close?: () => Promise<void> }).close?.();
      await pool?.end().catch(() => undefined);
    },
  };
}

export type WorkflowRuntime = Awaited<ReturnType<typeof startWorkflowRuntime>>;
