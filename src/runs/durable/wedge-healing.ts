import fs from "node:fs/promises";
import path from "node:path";
import { EntityConflictError } from "workflow/errors";
import type { getWorld } from "workflow/runtime";
import type pg from "pg";
import type { Logger } from "../../logger";

type World = ReturnType<typeof getWorld>;

/**
 * Heals the crash windows the Workflow SDK leaves open when a step completes (vercel/workflow#3081):
 * a world records `step_completed` as two writes, the step entity first and the event second. A process
 * death between them leaves the step `completed` with no completion event in the log, and the run never
 * moves again: every replay re-queues the step, every delivery is refused (the step is terminal) and
 * re-queues the replay. The local world also claims a lock file before both writes: a death right after
 * the claim refuses every later completion of the step, which then stays running for good.
 *
 * The wrapper notices the refusal on the next delivery (`step_started` conflicts) and checks the run's
 * event log: when it has no `step_completed` / `step_failed` for the step, and still has none a few
 * seconds later (a live completion writes both within milliseconds), it puts the step back to running,
 * so this delivery runs it again (or, for a stale claim, drops the claim so this completion lands). Every Tether step is idempotent on a second run (runOnce answers the
 * recorded result of the steps that call the model or run tools), so the run goes on as if nothing
 * happened.
 */
export interface StepReset {
  /** Puts a finished step back to `running`; true if it did. */
  reopen(runId: string, stepId: string): Promise<boolean>;
  /**
   * Drops a claim on finishing a step that is not finished (the local world claims a lock file before it
   * writes the entity: a crash between the two refuses every later completion); true if it did.
   */
  releaseStaleClaim(runId: string, stepId: string): Promise<boolean>;
}

/** How long a step must look wedged before it is reopened (a live completion may be between its writes). */
const SETTLE_MS = 3_000;
const CHECK_EVERY_MS = 250;

const TERMINAL_EVENTS = new Set(["step_completed", "step_failed"]);

async function hasTerminalEvent(world: World, runId: string, stepId: string): Promise<boolean> {
  let cursor: string | undefined;
  do {
    const page = await world.events.list({
      runId,
      pagination: { limit: 1000, ...(cursor ? { cursor } : {}) },
      resolveData: "none",
    });
    if (page.data.some((event) => event.correlationId === stepId && TERMINAL_EVENTS.has(event.eventType))) return true;
    cursor = page.hasMore && page.cursor ? page.cursor : undefined;
  } while (cursor);
  return false;
}

export function withWedgeHealing<W extends World>(world: W, reset: StepReset, logger: Logger): W {
  const create = world.events.create.bind(world.events) as World["events"]["create"];
  /** Whether the step still lacks its completion event once a live completion would have written it. */
  async function staysWedged(runId: string, stepId: string): Promise<boolean> {
    for (const deadline = Date.now() + SETTLE_MS; ; ) {
      if (await hasTerminalEvent(world, runId, stepId)) return false;
      if (Date.now() >= deadline) return true;
      await new Promise((resolve) => setTimeout(resolve, CHECK_EVERY_MS));
    }
  }
  const healingCreate = (async (runId: string, data: Parameters<World["events"]["create"]>[1], params?: never) => {
    try {
      return await create(runId, data as never, params);
    } catch (error) {
      const stepId = "correlationId" in data ? data.correlationId : undefined;
      if (!stepId || !runId || !EntityConflictError.is(error)) throw error;
      const finishing = data.eventType === "step_completed" || data.eventType === "step_failed";
      if (data.eventType !== "step_started" && !finishing) throw error;
      // This delivery is held while it checks: the SDK's queues drop a later delivery of a step whose
      // message they already saw completed, so the refused one may be the last chance to heal.
      if (!(await staysWedged(runId, stepId))) throw error;
      const healed = finishing ? await reset.releaseStaleClaim(runId, stepId) : await reset.reopen(runId, stepId);
      if (!healed) throw error;
      logger.warn({ workflowRunId: runId, stepId, event: data.eventType }, "healed a step a crash left half finished");
      return create(runId, data as never, params);
    }
  }) as World["events"]["create"];
  return { ...world, events: { ...world.events, create: healingCreate } };
}

/** The local world's step entities: `steps/<runId>-<stepId>.json`, guarded by `.locks/steps/<…>.terminal`. */
export function localStepReset(worldFolder: string): StepReset {
  return {
    async reopen(runId, stepId) {
      const key = `${runId}-${stepId}`;
      if (!/^[A-Za-z0-9_-]+$/.test(key)) return false;
      const file = path.join(worldFolder, "steps", `${key}.json`);
      const step = JSON.parse(await fs.readFile(file, "utf8")) as { status?: string };
      if (step.status !== "completed" && step.status !== "failed") return false;
      const reopened = { ...step, status: "running", completedAt: undefined };
      const temporary = `${file}.heal.${process.pid}`;
      await fs.writeFile(temporary, JSON.stringify(reopened, null, 2));
      await fs.rename(temporary, file);
      await fs.rm(path.join(worldFolder, ".locks", "steps", `${key}.terminal`), { force: true });
      return true;
    },
    async releaseStaleClaim(runId, stepId) {
      const key = `${runId}-${stepId}`;
      if (!/^[A-Za-z0-9_-]+$/.test(key)) return false;
      const step = JSON.parse(await fs.readFile(path.join(worldFolder, "steps", `${key}.json`), "utf8")) as { status?: string };
      if (step.status === "completed" || step.status === "failed") return false;
      const claim = path.join(worldFolder, ".locks", "steps", `${key}.terminal`);
      const existed = await fs.stat(claim).then(() => true, () => false);
      await fs.rm(claim, { force: true });
      return existed;
    },
  };
}

/** The Postgres world's step entities (`workflow.workflow_steps`), reopened in one guarded statement. */
export function postgresStepReset(pool: pg.Pool): StepReset {
  return {
    async reopen(runId, stepId) {
      const result = await pool.query(
        `update workflow.workflow_steps set status = 'running', completed_at = null
          where run_id = $1 and step_id = $2 and status in ('completed', 'failed')
            and not exists (select 1 from workflow.workflow_events
                             where run_id = $1 and correlation_id = $2 and type in ('step_completed', 'step_failed'))`,
        [runId, stepId],
      );
      return (result.rowCount ?? 0) > 0;
    },
    // Its completions are one guarded UPDATE: there is no claim to go stale.
    releaseStaleClaim: async () => false,
  };
}
