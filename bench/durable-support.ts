/**
 * Server side of bench/durable.ts: a whole Tether with its Workflow SDK runtime on one world (local world
 * over PGlite, or Postgres world over a throwaway PostgreSQL database), the bench's own workflows
 * (bench/workflows/) compiled beside it, instruments that timestamp chunks where they are produced and where they reach
 * the world, and the client worker thread. Loopback and temp folders only; everything it creates it
 * removes again.
 */
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { LanguageModelV3, LanguageModelV3StreamPart } from "@ai-sdk/provider";
import { serve, type ServerType } from "@hono/node-server";
import { buildWorkflowBundles } from "../scripts/workflow-bundles.mjs";
import postgres from "postgres";
import { getWorld } from "workflow/runtime";
import { createDemoModel, parseDemoModelId } from "../src/agents/demo-model";
import { parseConfig } from "../src/config";
import { openPglite, openPostgres, type DatabaseHandle } from "../src/db/client";
import { createLogger } from "../src/logger";
import type { WorkflowHandlers } from "../src/runs/durable/runtime";
import { provideStepServices, stepServices } from "../src/runs/durable/step-services";
import { StreamBufferRegistry } from "../src/streams";
import { createTether, type Tether } from "../src/tether";
import type { DurableClientApi } from "./durable-client";
import { sleep } from "./support";
import { startWorkerClient, type WorkerClient } from "./worker-rpc";

export { benchmarkHeader, log, median, percentile, round2, sleep, startStallMonitor, summary } from "./support";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const LOOPBACK = "127.0.0.1";

/** One clock for every thread of the process (CLOCK_MONOTONIC), in milliseconds. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export type WorldKind = "local" | "postgres";

// ---------------------------------------------------------------------------------------------------------
// Builds

/**
 * `npm run build` only when dist/ is older than a source (as tests/support/build-bundles.ts does). When the
 * build fails but Tether's workflow bundles are there, answers why, and the bench measures those bundles.
 */
export function buildTetherIfStale(): string | undefined {
  try {
    execFileSync(process.execPath, [path.join(root, "scripts", "build.mjs"), "--if-stale"], { stdio: ["ignore", 2, 2], cwd: root });
    return undefined;
  } catch (error) {
    const bundles = ["workflows.mjs", "steps.mjs"].map((file) => path.join(root, "dist", "workflow", file));
    if (!bundles.every((file) => existsSync(file))) throw error;
    const builtAt = new Date(Math.min(...bundles.map((file) => statSync(file).mtimeMs))).toISOString();
    return `scripts/build.mjs --if-stale failed (${String(error).split("\n")[0]}); measured the workflow bundles already in dist/workflow (built ${builtAt})`;
  }
}

/** A workflow of bench/workflows/, compiled on its own into a temp folder. */
export interface BenchWorkflow extends WorkflowHandlers {
  workflowId: string;
  /** What its queue names contain (`//./bench/workflows/<file>//`). */
  queueMark: string;
  buildMs: number;
  bundleBytes: number;
  dispose(): void;
}

/**
 * Compiles one file of bench/workflows/ exactly as scripts/build.mjs compiles workflows/ (the same
 * buildWorkflowBundles; only the input files are narrowed to that one file, so each bench workflow gets a
 * bundle of its own), into a temp folder that links the project's node_modules: the bundles' bare imports resolve to the
 * same `workflow` modules (so the same world and step registry) as Tether's own bundles.
 */
export async function buildBenchWorkflow(file: string, exportName: string): Promise<BenchWorkflow> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), "tether-bench-wf-"));
  process.once("exit", () => rmSync(outdir, { recursive: true, force: true }));
  symlinkSync(path.join(root, "node_modules"), path.join(outdir, "node_modules"), "dir");
  const source = path.join(root, "bench", "workflows", `${file}.ts`);

  const started = nowMs();
  await buildWorkflowBundles({
    root,
    dirs: ["bench/workflows"],
    outdir,
    selectInputs: (files) => {
      const selected = files.filter((input) => path.resolve(input) === source);
      if (selected.length !== 1) throw new Error(`bench/workflows/${file}.ts was not found by the builder`);
      return selected;
    },
  });
  const buildMs = nowMs() - started;
  const workflowId = `workflow//./bench/workflows/${file}//${exportName}`;
  const bundle = readFileSync(path.join(outdir, "workflows.mjs"), "utf8");
  if (!bundle.includes(workflowId)) throw new Error(`the bundle of bench/workflows/${file}.ts does not define ${workflowId}`);
  const load = async (name: string) =>
    ((await import(pathToFileURL(path.join(outdir, name)).href)) as { POST: (request: Request) => Promise<Response> }).POST;
  return {
    workflowId,
    queueMark: `//./bench/workflows/${file}//`,
    flow: await load("workflows.mjs"),
    step: await load("steps.mjs"),
    buildMs,
    bundleBytes: Buffer.byteLength(bundle),
    dispose: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/** The bench workflow a queue delivery (local world direct call, or Postgres world HTTP POST) is for. */
function benchWorkflowOf(request: Request, workflows: readonly BenchWorkflow[]): BenchWorkflow | undefined {
  const queue = request.headers.get("x-vqs-queue-name") ?? "";
  return workflows.find((workflow) => queue.includes(workflow.queueMark));
}

// ---------------------------------------------------------------------------------------------------------
// Instruments

/** When the instrumented model handed each text delta to the AI SDK (the step writes it right after). */
export interface EmittedDelta {
  at: number;
  delta: string;
}

/** A chunk as it reached the world (`writeToStream`/`writeToStreamMulti`, called by the SDK's flush). */
export interface WorldWrite {
  /** When the SDK called the world (its flush timer fired). */
  startedAt: number;
  /** When the world's write resolved. */
  at: number;
  stream: string;
  textDelta: boolean;
}

export interface Instruments {
  emitted: EmittedDelta[];
  worldWrites: WorldWrite[];
  /** Whether serialized chunks were readable as text (to tell text deltas apart at the world level). */
  chunkTextVisible: boolean;
  /** Off while a section writes or streams far more than it needs timestamped (load, history fill). */
  recording: boolean;
  reset(): void;
}

/**
 * Wraps a demo model so that each text delta is timestamped when the model emits it (a pass-through
 * TransformStream: no delay, and queues roomy enough that it never waits for the consumer).
 */
function timedDemoModel(tokenDelayMs: number, instruments: Instruments): LanguageModelV3 {
  const inner = createDemoModel({ tokenDelayMs });
  return {
    ...inner,
    async doStream(options) {
      const result = await inner.doStream(options);
      const timed = result.stream.pipeThrough(
        new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>(
          {
            transform(part, controller) {
              if (part.type === "text-delta" && instruments.recording) instruments.emitted.push({ at: nowMs(), delta: part.delta });
              controller.enqueue(part);
            },
          },
          // Roomy queues on both sides: parts are timestamped as the model emits them, never when a slow
          // consumer finally pulls them.
          new CountQueuingStrategy({ highWaterMark: 10_000 }),
          new CountQueuingStrategy({ highWaterMark: 10_000 }),
        ),
      );
      return { ...result, stream: timed };
    },
  };
}

type StreamWriter = (name: string, runId: unknown, chunk: unknown) => Promise<void>;
type StreamMultiWriter = (name: string, runId: unknown, chunks: unknown[]) => Promise<void>;

/**
 * Installs the instruments on the started runtime: the durable steps' model settings gain a `provided`
 * model for `demo:<ms>` ids with ms > 0 (the same demo model, timestamped), and the world's stream writes
 * are timestamped after they complete (when a reader can first see them).
 */
function installInstruments(): Instruments {
  const instruments: Instruments = {
    emitted: [],
    worldWrites: [],
    chunkTextVisible: false,
    recording: true,
    reset() {
      this.emitted.length = 0;
      this.worldWrites.length = 0;
    },
  };
  const services = stepServices();
  provideStepServices({
    ...services,
    models: {
      ...services.models,
      provided: (modelId) => {
        const demo = parseDemoModelId(modelId);
        return demo?.tokenDelayMs ? timedDemoModel(demo.tokenDelayMs, instruments) : undefined;
      },
    },
  });

  const world = getWorld() as unknown as { writeToStream: StreamWriter; writeToStreamMulti?: StreamMultiWriter };
  const decoder = new TextDecoder();
  const isTextDelta = (chunk: unknown) => {
    const text = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? decoder.decode(chunk) : "";
    if (text.includes("text-delta")) instruments.chunkTextVisible = true;
    return text.includes("text-delta");
  };
  const single = world.writeToStream.bind(world);
  world.writeToStream = async (name, runId, chunk) => {
    if (!instruments.recording) return single(name, runId, chunk);
    const startedAt = nowMs();
    await single(name, runId, chunk);
    instruments.worldWrites.push({ startedAt, at: nowMs(), stream: name, textDelta: isTextDelta(chunk) });
  };
  if (world.writeToStreamMulti) {
    const multi = world.writeToStreamMulti.bind(world);
    world.writeToStreamMulti = async (name, runId, chunks) => {
      if (!instruments.recording) return multi(name, runId, chunks);
      const startedAt = nowMs();
      await multi(name, runId, chunks);
      const at = nowMs();
      for (const chunk of chunks) instruments.worldWrites.push({ startedAt, at, stream: name, textDelta: isTextDelta(chunk) });
    };
  }
  return instruments;
}

/** The world stream name suffix of a round namespace (`strm_<ulid>_user_<base64url(namespace)>`). */
export const roundStreamSuffix = (round: number) => `_user_${Buffer.from(`r${round}`, "utf8").toString("base64url")}`;

// ---------------------------------------------------------------------------------------------------------
// The server

export interface DurableBenchServer {
  kind: WorldKind;
  tether: Tether;
  url: string;
  instruments: Instruments;
  startupMs: number;
  dispose(): Promise<void>;
}

/**
 * Where a world keeps its data: a temp folder (the local world's files and PGlite, or only Tether's data
 * folder on the Postgres world) and, on the Postgres world, a throwaway database. Plain data, so that
 * another process can start a server over it.
 */
export interface BenchWorldData {
  kind: WorldKind;
  dataDir: string;
  databaseUrl?: string;
}

/** A new, empty BenchWorldData; `remove` deletes it (after every server over it has been disposed). */
export async function createBenchWorldData(kind: WorldKind): Promise<BenchWorldData & { remove(): Promise<void> }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-bench-durable-"));
  const removeFolder = () => rmSync(dataDir, { recursive: true, force: true });
  process.once("exit", removeFolder);
  if (kind === "local") return { kind, dataDir, remove: async () => removeFolder() };
  // A throwaway database, created and dropped as tests/support/database.ts does.
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    removeFolder();
    throw new Error("TEST_DATABASE_URL is not set");
  }
  const name = `tether_bench_${randomBytes(6).toString("hex")}`;
  const admin = () => postgres(adminUrl, { max: 1, onnotice: () => {} });
  const creating = admin();
  try {
    await creating.unsafe(`create database ${name}`);
  } finally {
    await creating.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    dataDir,
    databaseUrl: url.toString(),
    /**
     * The Postgres world's pg connections are still closing for a few hundred ms after its close() has
     * resolved; dropping `with (force)` at once terminates them and the pg pool re-emits that as an
     * 'error' event nobody listens to any more (an uncaught exception). So: wait until they are gone.
     */
    async remove() {
      const dropping = admin();
      try {
        const deadline = nowMs() + 10_000;
        for (;;) {
          const [row] = await dropping<{ open: number }[]>`select count(*)::int as open from pg_stat_activity where datname = ${name}`;
          if (!row || row.open === 0 || nowMs() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await dropping.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropping.end({ timeout: 5 });
        removeFolder();
      }
    },
  };
}

async function openDatabase(data: BenchWorldData): Promise<DatabaseHandle> {
  if (data.kind === "local") return openPglite({ dir: path.join(data.dataDir, "db") });
  if (!data.databaseUrl) throw new Error("a Postgres world's data needs its databaseUrl");
  return openPostgres(data.databaseUrl, { maxConnections: 10 });
}

function close(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as ServerType & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

/**
 * Tether on one world, served on an ephemeral loopback port. Queue deliveries for the bench workflows go
 * to their own bundles, everything else to Tether's (its app, or on the local world its registered handlers).
 * Over `data` when given (which its dispose leaves in place, for the next server over it); otherwise over a
 * new, empty world that its dispose removes.
 */
export async function startDurableBenchServer(
  kind: WorldKind,
  workflows: readonly BenchWorkflow[],
  data?: BenchWorldData,
): Promise<DurableBenchServer> {
  const started = nowMs();
  const owned = data ? undefined : await createBenchWorldData(kind);
  const worldData = data ?? owned!;
  if (worldData.kind !== kind) throw new Error(`a ${kind} server cannot start over the data of a ${worldData.kind} world`);
  let database: DatabaseHandle | undefined;
  let server: ServerType | undefined;
  let tether: Tether | undefined;
  try {
    database = await openDatabase(worldData);
    const config = parseConfig({
      TETHER_MAX_EVENT_LOOP_UTILIZATION: "0",
      // The durable steps stream the bench's instrumented demo model, a provided model, which streams in the
      // main thread: classic turns stream there too, so the two modes' per-chunk costs compare like with like.
      TETHER_MODEL_WORKERS: "0",
      TETHER_DATA_DIR: worldData.dataDir,
      TETHER_DEMO_TOKEN_DELAY_MS: "0",
      TETHER_APPROVAL_TIMEOUT: "10m",
      LOG_LEVEL: "silent",
      ...(worldData.databaseUrl ? { DATABASE_URL: worldData.databaseUrl } : {}),
    });
    const logger = createLogger({ level: "silent" });
    const app = await createTether({ config, database, logger, buffers: new StreamBufferRegistry() });
    tether = app;
    const listening = await new Promise<{ server: ServerType; url: string }>((resolve) => {
      const instance = serve(
        {
          fetch: (request: Request, env: unknown) => {
            const { pathname } = new URL(request.url);
            const bench = request.method === "POST" ? benchWorkflowOf(request, workflows) : undefined;
            if (bench && pathname === "/.well-known/workflow/v1/flow") return bench.flow(request);
            if (bench && pathname === "/.well-known/workflow/v1/step") return bench.step(request);
            return app.app.fetch(request, env as never);
          },
          port: 0,
          hostname: LOOPBACK,
        },
        (info: AddressInfo) => resolve({ server: instance, url: `http://${LOOPBACK}:${info.port}` }),
      );
    });
    server = listening.server;
    const runtime = await app.startWorkflows(kind === "postgres" ? { baseUrl: listening.url } : {});
    if (kind === "local") {
      // As src/runs/durable/runtime.ts registers them, with the bench workflows' deliveries split off.
      const world = getWorld() as unknown as { registerHandler(prefix: string, handler: (request: Request) => Promise<Response>): void };
      world.registerHandler("__wkf_workflow_", (request) => (benchWorkflowOf(request, workflows) ?? runtime.handlers).flow(request));
      world.registerHandler("__wkf_step_", (request) => (benchWorkflowOf(request, workflows) ?? runtime.handlers).step(request));
    }
    const instruments = installInstruments();
    const opened = { database, server };
    return {
      kind,
      tether: app,
      url: listening.url,
      instruments,
      startupMs: nowMs() - started,
      async dispose() {
        await app.shutdown();
        await close(opened.server);
        await opened.database.close();
        await owned?.remove();
      },
    };
  } catch (error) {
    await tether?.shutdown().catch(() => undefined);
    if (server) await close(server);
    await database?.close().catch(() => undefined);
    await owned?.remove().catch(() => undefined);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading a run's timings back from the world

export interface StepTiming {
  name: string;
  createdAt: number;
  startedAt: number;
  completedAt: number;
}

export interface RunTiming {
  runId: string;
  status: string;
  createdAt: number;
  startedAt: number;
  completedAt: number;
  /** run created → run completed, as the world recorded it. */
  runMs: number;
  steps: StepTiming[];
}

export const RUN_TIMEOUT_MS = 120_000;
const RUN_POLL_MS = 10;
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const time = (value: unknown) => (value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : Number.NaN);

/** Waits (polling the world every 10 ms) for a run to end; answers the world's own timestamps of it and its steps. */
export async function waitForRun(runId: string): Promise<RunTiming> {
  const world = getWorld();
  const deadline = nowMs() + RUN_TIMEOUT_MS;
  let run = await world.runs.get(runId, { resolveData: "none" });
  while (!TERMINAL.has(run.status)) {
    if (nowMs() > deadline) throw new Error(`run ${runId} still ${run.status} after ${RUN_TIMEOUT_MS} ms`);
    await sleep(RUN_POLL_MS);
    run = await world.runs.get(runId, { resolveData: "none" });
  }
  const steps: StepTiming[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await world.steps.list({ runId, pagination: { limit: 1000, cursor, sortOrder: "asc" }, resolveData: "none" });
    for (const step of page.data) {
      steps.push({
        name: step.stepName.split("//").at(-1) ?? step.stepName,
        createdAt: time(step.createdAt),
        startedAt: time(step.startedAt),
        completedAt: time(step.completedAt),
      });
    }
    if (!page.hasMore || !page.cursor) break;
    cursor = page.cursor;
  }
  steps.sort((a, b) => a.createdAt - b.createdAt || a.completedAt - b.completedAt);
  const createdAt = time(run.createdAt);
  const completedAt = time((run as { completedAt?: unknown }).completedAt);
  return {
    runId,
    status: run.status,
    createdAt,
    startedAt: time(run.startedAt),
    completedAt,
    runMs: completedAt - createdAt,
    steps,
  };
}

/** What a section of bench/durable.ts gets from the bench around it. */
export interface DurableSectionContext {
  server: DurableBenchServer;
  client: DurableClientWorker;
  /** Records a correctness problem (a wrong answer, a failed run); any of them makes the exit code 1. */
  fail(problem: string): void;
  uniqueId(prefix: string): string;
  /** Waits for a workflow run to end; answers its status and how long it took by the world's own records. */
  waitForRun(runId: string): Promise<{ status: string; runMs: number }>;
}

/**
 * Runs `body` on a Tether of its own, started for it on a fresh world of the bench's kind (a new temp folder
 * or database) and disposed after it: sections that leave runs or data behind cannot skew the next one.
 */
export type FreshServer = <T>(body: (context: DurableSectionContext) => Promise<T>) => Promise<{
  result: T;
  startupMs: number;
  disposeMs: number;
}>;

/** Rejects when `promise` has not settled after `ms` (and then stops waiting for it). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates a durable agent through POST /api/agents. */
export async function createDurableAgent(server: DurableBenchServer, id: string, model: string, tools: readonly string[] = []) {
  const response = await fetch(`${server.url}/api/agents`, {
    method: "POST",
    signal: AbortSignal.timeout(30_000),
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, name: `bench ${id}`, model, tools, executionMode: "durable" }),
  });
  if (response.status !== 201) throw new Error(`creating agent ${id} answered ${response.status}: ${await response.text()}`);
}

// ---------------------------------------------------------------------------------------------------------
// The client worker: a thread whose event loop only runs the HTTP clients (./durable-client.ts).

export type DurableClientWorker = WorkerClient<DurableClientApi>;

export function startDurableClientWorker(): DurableClientWorker {
  return startWorkerClient<DurableClientApi>(new URL("./durable-client.ts", import.meta.url));
}
