/**
 * Load benchmark: `npm run bench:load [-- --concurrency 1000] [--db pglite,postgres] [--mode classic,durable] [--quick] [--fresh-connections]`.
 *
 * Measured as a user meets it: the built server (`dist/server.mjs`, as `npm start` runs it) in its own
 * process, on a fresh PGlite folder or a fresh PostgreSQL database; the clients in a worker thread of this
 * process. Each level sends N `POST /api/chat` turns at once (`count to 100` at `demo:50`: 20 tokens/s,
 * about 5 s per turn); each client reads 30 text deltas, drops the connection, and resumes through
 * `GET /api/chat/:id/stream` with `Last-Event-ID` to the end, checking the whole text. A turn the server
 * refuses (`503` + `Retry-After`: it is at a limit) is sent again after that long, as a client should.
 *
 * Prints ONE JSON document: per database, mode and N: errors by kind (a refusal that was retried is not an
 * error; they are counted apart), resume first byte p50/p99, wall time per turn from its accepted attempt
 * (and against the nominal 5 s) and from its first attempt, server RSS idle/peak, event-loop delay p99 of
 * the server's main thread, of its other threads (the worst) and of the client (when the client's is
 * high, the latencies are partly the client's).
 * PostgreSQL needs TEST_DATABASE_URL (an admin URL; a database is created and dropped per level).
 * Exit code 0 when it ran (targets are reported, not enforced), 1 when the bench itself failed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { freePort } from "../tests/support/server-process";
import { buildTetherIfStale } from "./durable-support";
import type { LoadClientApi } from "./load-client";
import { benchmarkHeader, log, percentile, round2, sleep } from "./support";
import { startWorkerClient } from "./worker-rpc";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}
const listOf = (text: string | undefined, fallback: string[]) => (text ? text.split(",").map((item) => item.trim()) : fallback);

const quick = process.argv.includes("--quick");
/** `--profile DIR`: the server writes a V8 CPU profile there when it stops. */
const profileDir = argument("profile");
const databases = listOf(argument("db"), process.env.TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"]) as Array<"pglite" | "postgres">;
const modes = listOf(argument("mode"), ["classic", "durable"]) as Array<"classic" | "durable">;
const classicLevels = listOf(argument("concurrency"), quick ? ["100"] : ["200", "1000"]).map(Number);
const durableLevels = listOf(argument("durable-concurrency"), quick ? ["20"] : ["200"]).map(Number);
/** The node flags `npm start` runs the server with, read from package.json so the two cannot drift apart. */
function startFlags(): string[] {
  const start = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
  const flags = /node ((?:--\S+ )*)dist\/server\.mjs/.exec(start)?.[1];
  if (flags === undefined) throw new Error(`cannot read the server's node flags from the start script: ${start}`);
  return flags.trim().split(" ").filter(Boolean);
}
/** BENCH_NODE_FLAGS: more node flags for the server, after those of the start script (a later V8 flag wins): for A/B runs. */
const SERVER_NODE_FLAGS = [
  ...startFlags(),
  ...(process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean),
  ...(process.env.BENCH_PRELOAD ? ["--import", process.env.BENCH_PRELOAD] : []),
];
const COUNT = 100;
const TOKEN_DELAY_MS = 50;
const NOMINAL_TURN_MS = COUNT * TOKEN_DELAY_MS;
const DROP_AFTER_DELTAS = 30;
/** A refused turn (503 + Retry-After) is sent again for this long, as the README tells clients to. */
const RETRY_FOR_MS = Number(argument("retry-for-ms") ?? (quick ? 30_000 : 120_000));
/** `--fresh-connections`: every request on a new connection (the client keeps them alive otherwise, as browsers do). */
const FRESH_CONNECTIONS = process.argv.includes("--fresh-connections");

interface Database {
  environment: Record<string, string>;
  dispose(): Promise<void>;
}

async function freshDatabase(kind: "pglite" | "postgres"): Promise<Database> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `tether-load-${kind}-`));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (kind === "pglite") return { environment: { TETHER_DATA_DIR: dataDir }, dispose: async () => removeDir() };
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error("--db postgres needs TEST_DATABASE_URL");
  const name = `tether_load_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    environment: { TETHER_DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    async dispose() {
      await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => undefined);
      await admin.end({ timeout: 5 });
      removeDir();
    },
  };
}

interface LoadServer {
  baseUrl: string;
  child: ChildProcess;
  loopFile: string;
  output: () => string;
  stop(): Promise<void>;
}

async function startServer(environment: Record<string, string>): Promise<LoadServer> {
  const port = await freePort();
  const loopFile = path.join(environment.TETHER_DATA_DIR!, "event-loop.json");
  const child = spawn(
    process.execPath,
    [
      ...SERVER_NODE_FLAGS,
      ...(profileDir ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(profileDir)] : []),
      "--import",
      path.join(root, "bench", "support", "event-loop-probe.mjs"),
      path.join(root, "dist", "server.mjs"),
    ],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: "warn",
        // Settings to compare (e.g. TETHER_DURABLE_CONCURRENCY=50 npm run bench:load …) reach the server.
        ...Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith("TETHER_"))),
        ...environment,
        PORT: String(port),
        TETHER_BENCH_LOOP_FILE: loopFile,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const keep = (data: Buffer) => {
    output = (output + data.toString()).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited during start-up:\n${output}`);
    const healthy = await fetch(`${baseUrl}/health`).then((response) => response.ok, () => false);
    if (healthy) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not start:\n${output}`);
    }
    await sleep(100);
  }
  return {
    baseUrl,
    child,
    loopFile,
    output: () => output,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Past the retry window, a level has this long to end; after it, it is reported as failed (never a hang). */
const LEVEL_GRACE_MS = 180_000;

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function rssMbOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return round2(kb / 1024);
}

type LoopDelay = { p99Ms: number; maxMs: number };

/**
 * The server's event-loop delay since the last reset (the probe writes it every 500 ms): of its main
 * thread, and the worst of its other threads (model workers, PGlite's).
 */
async function eventLoopDelay(server: LoadServer): Promise<{ main?: LoopDelay; otherThreads?: LoopDelay }> {
  await sleep(600);
  const read = (file: string) => {
    try {
      return JSON.parse(readFileSync(file, "utf8")) as LoopDelay;
    } catch {
      return undefined;
    }
  };
  const folder = path.dirname(server.loopFile);
  const others = readdirSync(folder)
    .filter((name) => name.startsWith(`${path.basename(server.loopFile)}.thread-`))
    .map((name) => read(path.join(folder, name)))
    .filter((delay): delay is LoopDelay => delay !== undefined);
  const worst = (key: keyof LoopDelay) => Math.max(...others.map((delay) => delay[key]));
  return {
    main: read(server.loopFile),
    otherThreads: others.length > 0 ? { p99Ms: worst("p99Ms"), maxMs: worst("maxMs") } : undefined,
  };
}

async function createAgent(baseUrl: string, mode: "classic" | "durable"): Promise<string> {
  const id = `load-${mode}`;
  const response = await fetch(`${baseUrl}/api/agents`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, name: id, model: `demo:${TOKEN_DELAY_MS}`, tools: [], executionMode: mode }),
  });
  if (response.status !== 201) throw new Error(`creating the agent answered ${response.status}: ${await response.text()}`);
  return id;
}

const stats = (values: number[]) =>
  values.length === 0
    ? null
    : { p50: round2(percentile(values, 50)), p99: round2(percentile(values, 99)), max: round2(Math.max(...values)) };

async function runLevel(kind: "pglite" | "postgres", mode: "classic" | "durable", turns: number) {
  const database = await freshDatabase(kind);
  const server = await startServer(database.environment);
  const client = startWorkerClient<LoadClientApi>(new URL("./load-client.ts", import.meta.url));
  try {
    const agentId = await createAgent(server.baseUrl, mode);
    // Warm up: code paths compiled, first-turn costs paid, before idle memory is read.
    await client.call("load", {
      baseUrl: server.baseUrl,
      agentId,
      turns: 5,
      count: 20,
      dropAfterDeltas: 5,
      runId: `warm-${Date.now()}`,
      retryForMs: RETRY_FOR_MS,
    });
    if (global.gc) global.gc();
    await sleep(1000);
    const idleRssMb = rssMbOf(server.child.pid!);
    writeFileSync(`${server.loopFile}.reset`, "");
    let peakRssMb = idleRssMb;
    const sampler = setInterval(() => {
      try {
        peakRssMb = Math.max(peakRssMb, rssMbOf(server.child.pid!));
      } catch {
        // the server is gone; the outcome says so
      }
    }, 100);
    log(`[${kind}/${mode}] ${turns} turns at once`);
    const result = await withDeadline(client.call("load", {
      baseUrl: server.baseUrl,
      agentId,
      turns,
      count: COUNT,
      dropAfterDeltas: DROP_AFTER_DELTAS,
      runId: `${Date.now().toString(36)}`,
      retryForMs: RETRY_FOR_MS,
      freshConnections: FRESH_CONNECTIONS,
    }), RETRY_FOR_MS + LEVEL_GRACE_MS, `${kind}/${mode} with ${turns} turns`).finally(() => clearInterval(sampler));
    const loop = await eventLoopDelay(server);
    const errors: Record<string, number> = {};
    const retryAfter = new Set<string>();
    for (const outcome of result.outcomes) {
      if (!outcome.error) continue;
      errors[outcome.error] = (errors[outcome.error] ?? 0) + 1;
      if (outcome.retryAfter) retryAfter.add(outcome.retryAfter);
    }
    const ok = result.outcomes.filter((outcome) => outcome.error === undefined);
    const walls = ok.map((outcome) => outcome.wallMs!);
    const report = {
      db: kind,
      mode,
      turns,
      completed: ok.length,
      errors: { total: turns - ok.length, ...errors },
      ...(retryAfter.size > 0 ? { retryAfterSeen: [...retryAfter] } : {}),
      resumeFirstByteMs: stats(ok.map((outcome) => outcome.resumeFirstByteMs!)),
      resumeHeadersMs: stats(ok.map((outcome) => outcome.resumeHeadersMs!)),
      droppedAfterMs: stats(ok.map((outcome) => outcome.droppedAfterMs!)),
      refusedThenRetried: {
        turns: ok.filter((outcome) => (outcome.refusals ?? 0) > 0).length,
        refusals: result.outcomes.reduce((sum, outcome) => sum + (outcome.refusals ?? 0), 0),
      },
      /** First attempt → the resume's [DONE], waits for Retry-After included. */
      turnWallFromFirstAttemptMs: stats(ok.map((outcome) => outcome.sinceFirstAttemptMs!)),
      turnWallMs: stats(walls),
      turnWallVsNominal: walls.length ? round2(percentile(walls, 99) / NOMINAL_TURN_MS) : null,
      levelWallMs: round2(result.durationMs),
      serverRssMb: { idle: idleRssMb, peak: peakRssMb, growth: round2(peakRssMb - idleRssMb) },
      serverEventLoopDelay: loop.main ?? null,
      serverOtherThreadsEventLoopDelay: loop.otherThreads ?? null,
      clientEventLoopDelay: result.clientEventLoopDelay,
    };
    log(`[${kind}/${mode}] ${JSON.stringify(report)}`);
    return report;
  } finally {
    await client.terminate();
    await server.stop().catch(() => undefined);
    await database.dispose();
  }
}

async function main() {
  const buildNote = buildTetherIfStale();
  const levels: unknown[] = [];
  for (const kind of databases) {
    for (const mode of modes) {
      for (const turns of mode === "classic" ? classicLevels : durableLevels) {
        try {
          levels.push(await runLevel(kind, mode, turns));
        } catch (error) {
          levels.push({ db: kind, mode, turns, failed: error instanceof Error ? error.message.slice(0, 2000) : String(error) });
        }
      }
    }
  }
  const targets = {
    errors: 0,
    resumeFirstByteP99Ms: 100,
    turnWallVsNominalP99: 1.5,
    serverRssGrowthMbPer1000: 100,
  };
  process.stdout.write(
    `${JSON.stringify({ ...benchmarkHeader("load", quick), ...(buildNote ? { buildNote } : {}), workload: { count: COUNT, tokenDelayMs: TOKEN_DELAY_MS, dropAfterDeltas: DROP_AFTER_DELTAS, connections: FRESH_CONNECTIONS ? "fresh per request" : "kept alive" }, targets, levels }, null, 2)}\n`,
  );
  const failed = levels.some((level) => (level as { failed?: string }).failed);
  process.exit(failed ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
