import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { ExecutionBody as Execution } from "./support/assertions";
import { createTestDatabase, databaseKinds, type TestDatabase } from "./support/database";
import { freePort, startServerProcess, type ServerProcess } from "./support/server-process";
import { chunksOf, countText, eventually, parseSse, textOf, userMessage } from "./support/tether";

const FAULT = fileURLToPath(new URL("./support/faults/kill-before-step-completed-event.mjs", import.meta.url));

/** Steps whose entity says finished while the run's event log has no completion event for them. */
async function wedgedSteps(kind: "pglite" | "postgres", dataDir: string, url?: string): Promise<string[]> {
  if (kind === "postgres") {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const result = await pool.query<{ step_id: string }>(
        `select s.step_id from workflow.workflow_steps s
          where s.status = 'completed' and not exists (select 1 from workflow.workflow_events e
            where e.run_id = s.run_id and e.correlation_id = s.step_id and e.type = 'step_completed')`,
      );
      return result.rows.map((row) => row.step_id);
    } finally {
      await pool.end();
    }
  }
  const world = path.join(dataDir, "workflow");
  const events = readdirSync(path.join(world, "events")).map((file) => readFileSync(path.join(world, "events", file), "utf8"));
  // A live server may be writing a step file as it is read (the local world writes in place): a file that
  // does not parse yet fails this look with a message saying so, and `eventually` looks again.
  const steps = readdirSync(path.join(world, "steps")).map((file) => {
    const text = readFileSync(path.join(world, "steps", file), "utf8");
    try {
      return JSON.parse(text) as { stepId: string; status: string };
    } catch {
      throw new Error(`step file ${file} is being written (${text.length} bytes so far)`);
    }
  });
  return steps
    .filter((step) => step.status === "completed")
    .filter((step) => !events.some((event) => event.includes(`"correlationId": "${step.stepId}"`) && event.includes('"step_completed"')))
    .map((step) => step.stepId);
}

describe.each(databaseKinds())("a step left finished without its completion event is healed (%s)", (kind) => {
  let dataDir: string;
  let database: TestDatabase | undefined;
  let environment: Record<string, string>;
  let server: ServerProcess | undefined;
  let port: number;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-wedge-"));
    environment = { TETHER_DATA_DIR: dataDir, TETHER_FAULT_MARKER: path.join(dataDir, "fault-fired") };
    if (kind === "postgres") {
      database = await createTestDatabase("postgres");
      await database.handle.close();
      environment.DATABASE_URL = database.url!;
    }
    port = await freePort();
  });
  afterAll(async () => {
    await server?.stop();
    await database?.dispose().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("kills the server between the step's two completion writes, then completes the run after a restart", async () => {
    await crashAtFaultThenComplete(environment);
  }, 120_000);

  if (kind === "pglite") {
    it("kills the server right after the local world claimed a step's completion, then completes the run", async () => {
      await crashAtFaultThenComplete({ ...environment, TETHER_FAULT_POINT: "completion-claim" }, "claim");
    }, 120_000);
  }

  /** Runs a chat turn on a server that the fault kills once, restarts it and checks the turn completes. */
  async function crashAtFaultThenComplete(faultEnvironment: Record<string, string>, chat = "event") {
    rmSync(environment.TETHER_FAULT_MARKER!, { force: true });
    onTestFailed(() => console.log(server?.output().split("\n").filter((line) => !line.includes(`"msg":"request"`)).join("\n").slice(-6000)));
    server = await startServerProcess(faultEnvironment, port, { preload: [FAULT] });
    const api = (pathname: string, json?: unknown) =>
      fetch(`${server!.baseUrl}${pathname}`, {
        ...(json === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) }),
      });
    if (chat === "event") {
      expect((await api("/api/agents", { id: "wedge", name: "wedge", model: "demo:0", executionMode: "durable" })).status).toBe(201);
    }
    const response = await api("/api/chat", { id: `wedge-${chat}`, agentId: "wedge", messages: [userMessage("count to 30")] });
    const executionId = response.headers.get("x-execution-id")!;
    await response.text().catch(() => "");
    // The first step to complete kills the process at the fault point.
    await server.exited;
    expect(existsSync(environment.TETHER_FAULT_MARKER!)).toBe(true);
    if (chat === "event") expect(await wedgedSteps(kind, dataDir, database?.url)).toHaveLength(1);

    server = await startServerProcess(environment, port);
    // The model round records `completed` in Tether's table before the SDK records the step finished, so
    // the run is only done once the wedged step was healed and the workflow run finished.
    await eventually(async () => expect(server!.output()).toContain("healed a step a crash left half finished"), 60_000);
    const done = await eventually(async () => {
      const current = (await (await api(`/api/executions/${executionId}`)).json()) as Execution;
      expect(current.status).toBe("completed");
      return current;
    }, 60_000);
    expect(done.status).toBe("completed");
    await eventually(async () => expect(await wedgedSteps(kind, dataDir, database?.url)).toEqual([]));
    const replay = chunksOf(parseSse(await (await api(`/api/executions/${executionId}/stream`)).text()));
    expect(textOf(replay)).toBe(countText(30));
    await server.stop();
  }
});
