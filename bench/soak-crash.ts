/**
 * Crash-loop soak of durable runs: `npm run soak:crash [-- options]`.
 *
 * Runs the built server (`<dist>/server.mjs`) as a child process, starts many durable runs over HTTP, and
 * kills the server with SIGKILL again and again (restarting it on the same port, because the world's queue
 * calls the server back on localhost:$PORT) while approving every pending send_email call it sees. After the
 * last kill it waits for every run to settle, then checks over HTTP that every run completed, that the outbox
 * holds exactly one message per approved call, and that each run's replayed stream has its text exactly once,
 * with offsets that only grow.
 *
 * Options: --world local|postgres|both (default: both when TEST_DATABASE_URL is set, else local), --runs N (50),
 * --kills K (30), --seed S (1), --quick (10 runs, 5 kills), --dist DIR (default <repo>/dist), --timeout-s T (600:
 * the deadline for each world's runs to settle, counted from the start of that world's soak), --keep-logs (keep
 * every server process's output in a file named in the JSON).
 *
 * Prints ONE JSON document on stdout (progress on stderr). Exit code 0 only when every check of every world
 * passed, 1 otherwise. Everything it creates (child server, temp folder, throwaway database) it removes again.
 * serverLogTail holds the last lines of the last server process's stdout and stderr together: pino logs go to
 * stdout, the Workflow SDK's and graphile-worker's console output to stderr.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { freePort } from "../tests/support/server-process";

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const AGENT_ID = "soak";
const START_CONCURRENCY = 10;
const REPLAY_CONCURRENCY = 4;
const POLL_INTERVAL_MS = 250;
const KILL_DELAY_MIN_MS = 200;
const KILL_DELAY_SPAN_MS = 2_300;
const API_TIMEOUT_MS = 10_000;
const LIST_TIMEOUT_MS = 15_000;
const REPLAY_TIMEOUT_MS = 60_000;
const HEALTH_PROBE_TIMEOUT_MS = 2_000;
const READY_TIMEOUT_MS = 90_000;
const RESTART_ATTEMPTS = 3;
const LOG_TAIL_LINES = 30;
const REPORTED_FAILURES = 10;
const TERMINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);

type WorldKind = "local" | "postgres";

const now = () => performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
const roundMs = (ms: number) => Math.round(ms);

function progress(message: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// Options

interface SoakOptions {
  worlds: WorldKind[];
  runs: number;
  kills: number;
  seed: number;
  distDir: string;
  timeoutMs: number;
  keepLogs: boolean;
}

function positiveInteger(name: string, text: string | undefined, fallback: number, allowZero = false): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) throw new Error(`--${name} must be a whole number, got ${text}`);
  return value;
}

function worldsOf(text: string | undefined): WorldKind[] {
  const choice = text ?? (process.env.TEST_DATABASE_URL ? "both" : "local");
  if (choice === "local" || choice === "postgres") return [choice];
  if (choice === "both") return ["local", "postgres"];
  throw new Error(`--world must be local, postgres or both, got ${choice}`);
}

function parseOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      world: { type: "string" },
      runs: { type: "string" },
      kills: { type: "string" },
      seed: { type: "string" },
      quick: { type: "boolean", default: false },
      dist: { type: "string" },
      "timeout-s": { type: "string" },
      "keep-logs": { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const worlds = worldsOf(values.world);
  if (worlds.includes("postgres") && !process.env.TEST_DATABASE_URL) {
    throw new Error("the postgres world needs TEST_DATABASE_URL (a server on which a throwaway database can be created)");
  }
  const distDir = path.resolve(values.dist ?? path.join(repositoryRoot, "dist"));
  if (!existsSync(path.join(distDir, "server.mjs"))) throw new Error(`${distDir}/server.mjs does not exist (run npm run build)`);
  return {
    worlds,
    runs: positiveInteger("runs", values.runs, values.quick ? 10 : 50),
    kills: positiveInteger("kills", values.kills, values.quick ? 5 : 30, true),
    seed: positiveInteger("seed", values.seed, 1, true),
    distDir,
    timeoutMs: positiveInteger("timeout-s", values["timeout-s"], 600) * 1000,
    keepLogs: values["keep-logs"],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness: the kill schedule repeats for a given --seed.

/** mulberry32: a 32-bit state PRNG, answers uniform numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP: a request that cannot reach the server (refused, reset, timed out) is "server down", not a failure.

class ServerUnreachableError extends Error {
  constructor(
    readonly refused: boolean,
    message: string,
  ) {
    super(message);
  }
}

interface ApiRequest {
  method?: string;
  json?: unknown;
  timeoutMs?: number;
}

function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }> } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  return typeof code === "string" ? code : undefined;
}

async function api(baseUrl: string, pathname: string, request: ApiRequest = {}): Promise<Response> {
  const hasBody = request.json !== undefined;
  try {
    return await fetch(`${baseUrl}${pathname}`, {
      method: request.method ?? (hasBody ? "POST" : "GET"),
      headers: hasBody ? { "content-type": "application/json" } : undefined,
      body: hasBody ? JSON.stringify(request.json) : undefined,
      signal: AbortSignal.timeout(request.timeoutMs ?? API_TIMEOUT_MS),
    });
  } catch (error) {
    const code = errorCode(error);
    const name = (error as { name?: string }).name;
    const reason = code ?? name ?? String(error);
    throw new ServerUnreachableError(code === "ECONNREFUSED", `${request.method ?? "GET"} ${pathname}: ${reason}`);
  }
}

/** Reads a JSON body; a body cut off by a kill counts as the server being down. */
async function jsonBody<T>(response: Response): Promise<T> {
  try {
    return (await response.json()) as T;
  } catch (error) {
    throw new ServerUnreachableError(false, `reading a response body: ${String(error)}`);
  }
}


// ---------------------------------------------------------------------------------------------------------
// Server output: the tail of the current process, and a tally over every process of the world.

interface LogTally {
  lines: number;
  warn: number;
  error: number;
  fatal: number;
  /** Lines that are not pino JSON (stack traces, the Workflow SDK's console output). */
  plain: number;
  /** The most frequent messages of warn level and above, and plain lines. */
  topMessages: Array<{ message: string; count: number }>;
}

class ServerOutput {
  private tail: string[] = [];
  private partial = "";
  private readonly messageCounts = new Map<string, number>();
  private readonly tally = { lines: 0, warn: 0, error: 0, fatal: 0, plain: 0 };

  constructor(private readonly logFile: string | undefined) {}

  /** A new process: its tail starts empty. */
  beginProcess(label: string): void {
    this.tail = [];
    this.partial = "";
    if (this.logFile) appendFileSync(this.logFile, `----- ${label} at ${new Date().toISOString()}\n`);
  }

  /** Pino writes to stdout and everything else to stderr; both go into one tail, in arrival order. */
  append(data: Buffer): void {
    if (this.logFile) appendFileSync(this.logFile, data);
    const lines = (this.partial + data.toString()).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.record(line);
  }

  lastLines(): string[] {
    return this.partial ? [...this.tail, this.partial] : [...this.tail];
  }

  summary(): LogTally {
    const topMessages = [...this.messageCounts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([message, count]) => ({ message, count }));
    return { ...this.tally, topMessages };
  }

  private record(line: string): void {
    if (line.trim() === "") return;
    this.tail.push(line);
    if (this.tail.length > LOG_TAIL_LINES) this.tail.shift();
    this.tally.lines += 1;
    const entry = parseLogLine(line);
    if (!entry) {
      this.tally.plain += 1;
      // The continuation lines of a multi-line console message (an object's fields, its closing brace)
      // are not messages of their own.
      if (!/^[\s}\]]/.test(line)) this.countMessage(`(plain) ${line.trim()}`);
      return;
    }
    if (entry.level >= 60) this.tally.fatal += 1;
    else if (entry.level >= 50) this.tally.error += 1;
    else if (entry.level >= 40) this.tally.warn += 1;
    if (entry.level >= 40) this.countMessage(`(${entry.level}) ${entry.message}`);
  }

  private countMessage(text: string): void {
    // Ids, counts and durations differ from line to line; without them, the same message is counted as one.
    const message = text.replace(/\b(wrun|ex|call|strm|step|msg)_[A-Za-z0-9_-]+/g, "$1_…").replace(/\d+(\.\d+)?/g, "#").slice(0, 160);
    // Bounded: a flood of distinct lines must not grow without limit.
    if (!this.messageCounts.has(message) && this.messageCounts.size >= 500) return;
    this.messageCounts.set(message, (this.messageCounts.get(message) ?? 0) + 1);
  }
}

function parseLogLine(line: string): { level: number; message: string } | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const entry = JSON.parse(line) as { level?: unknown; msg?: unknown; error?: unknown; err?: { message?: unknown } };
    if (typeof entry.level !== "number") return undefined;
    const detail = typeof entry.error === "string" ? entry.error : typeof entry.err?.message === "string" ? entry.err.message : "";
    return { level: entry.level, message: `${String(entry.msg ?? "")}${detail ? `: ${detail}` : ""}` };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The server child process: started, killed with SIGKILL, restarted on the same port.

interface LaunchSettings {
  distDir: string;
  port: number;
  environment: Record<string, string>;
}

class ServerSupervisor {
  readonly baseUrl: string;
  readonly output: ServerOutput;
  /** Exits nobody asked for (the server died by itself). */
  unexpectedExits = 0;
  /** When the server last answered /health after a (re)start. */
  readyAt = 0;
  readonly restartMs: number[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private processCount = 0;
  private busy: Promise<void> = Promise.resolve();
  private readonly killedOnPurpose = new WeakSet<ChildProcess>();
  private stopped = false;

  constructor(
    private readonly launch: LaunchSettings,
    logFile: string | undefined,
  ) {
    this.baseUrl = `http://127.0.0.1:${launch.port}`;
    this.output = new ServerOutput(logFile);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server and waits for /health; tries again when a process dies during start-up. */
  start(): Promise<void> {
    return this.exclusive(async () => {
      await this.startWithRetries();
    });
  }

  /** `kill -9`, then a new process on the same port, ready. */
  crashAndRestart(): Promise<void> {
    return this.exclusive(async () => {
      await this.killNow();
      const startedAt = now();
      await this.startWithRetries();
      this.restartMs.push(now() - startedAt);
    });
  }

  /** Brings back a server that died on its own (nothing to do while a restart is under way or it runs). */
  recoverIfDead(): Promise<void> {
    return this.exclusive(async () => {
      if (!this.stopped && this.child && !this.running) await this.startWithRetries();
    });
  }

  /** The final kill: nothing may outlive the soak, and nothing starts a server after it. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.exclusive(() => this.killNow());
  }

  /** Synchronous last resort for process exit handlers. */
  killSync(): void {
    if (!this.child || !this.running) return;
    this.killedOnPurpose.add(this.child);
    this.child.kill("SIGKILL");
  }

  private exclusive(operation: () => Promise<void>): Promise<void> {
    const next = this.busy.then(operation);
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async killNow(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.running) {
      this.killedOnPurpose.add(child);
      child.kill("SIGKILL");
    }
    await this.exited;
  }

  private async startWithRetries(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= RESTART_ATTEMPTS; attempt++) {
      try {
        await this.spawnAndWaitReady();
        return;
      } catch (error) {
        lastError = error;
        progress(`server start attempt ${attempt} failed: ${String(error)}`);
        await this.killNow();
        await sleep(500);
      }
    }
    throw new Error(`the server did not come up after ${RESTART_ATTEMPTS} attempts: ${String(lastError)}`);
  }

  private async spawnAndWaitReady(): Promise<void> {
    this.processCount += 1;
    const label = `server process ${this.processCount}`;
    this.output.beginProcess(label);
    const child = spawn(process.execPath, ["--enable-source-maps", path.join(this.launch.distDir, "server.mjs")], {
      // The bundle finds migrations and workflow bundles from its own folder; the cwd is the build's root.
      cwd: path.dirname(this.launch.distDir),
      env: { PATH: process.env.PATH ?? "", ...this.launch.environment, PORT: String(this.launch.port), LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.stdout?.on("data", (data: Buffer) => this.output.append(data));
    child.stderr?.on("data", (data: Buffer) => this.output.append(data));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        if (!this.killedOnPurpose.has(child)) {
          this.unexpectedExits += 1;
          progress(`${label} exited by itself (code ${code}, signal ${signal})`);
        }
        resolve();
      });
    });
    await this.waitForHealth(child);
    this.readyAt = now();
  }

  private async waitForHealth(child: ChildProcess): Promise<void> {
    const deadline = now() + READY_TIMEOUT_MS;
    while (now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited during start-up (code ${child.exitCode})`);
      if (await this.healthy()) return;
      await sleep(50);
    }
    throw new Error(`the server did not answer /health within ${READY_TIMEOUT_MS} ms`);
  }

  private async healthy(): Promise<boolean> {
    try {
      const response = await api(this.baseUrl, "/health", { timeoutMs: HEALTH_PROBE_TIMEOUT_MS });
      if (response.status !== 200) {
        await response.body?.cancel();
        return false;
      }
      return (await jsonBody<{ ok?: unknown }>(response)).ok === true;
    } catch {
      return false;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Worlds: where the server keeps its state.

interface WorldSetup {
  environment: Record<string, string>;
  dispose(): Promise<void>;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function prepareWorld(world: WorldKind, keepData: boolean): Promise<WorldSetup> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `tether-soak-${world}-`));
  // --keep-logs keeps the data folder too, for a look at what the runs left.
  const removeDataDir = () => (keepData ? progress(`kept ${dataDir}`) : rmSync(dataDir, { recursive: true, force: true }));
  if (world === "local") return { environment: { TETHER_DATA_DIR: dataDir }, dispose: async () => removeDataDir() };

  const adminUrl = process.env.TEST_DATABASE_URL!;
  const name = `tether_soak_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    await withTimeout(admin.unsafe(`create database ${name}`), 30_000, "create database");
  } catch (error) {
    await admin.end({ timeout: 5 }).catch(() => undefined);
    removeDataDir();
    throw error;
  }
  const databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${name}`;
  progress(`[postgres] created database ${name}`);
  return {
    environment: { TETHER_DATA_DIR: dataDir, DATABASE_URL: databaseUrl.toString() },
    async dispose() {
      try {
        await withTimeout(admin.unsafe(`drop database if exists ${name} with (force)`), 30_000, "drop database");
        progress(`[postgres] dropped database ${name}`);
      } finally {
        await admin.end({ timeout: 5 }).catch(() => undefined);
        removeDataDir();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The runs

interface SoakRun {
  index: number;
  conversationId: string;
  kind: "count" | "email";
  prompt: string;
  /** The counting text `1 2 … N` (counting runs only). */
  expectedText?: string;
  executionId?: string;
  startError?: string;
  /** POST /api/chat answers of 503 before the run started (durable execution not running yet). */
  unavailableAnswers: number;
}

const countingText = (n: number) => Array.from({ length: n }, (_, index) => String(index + 1)).join(" ");

function planRuns(count: number): SoakRun[] {
  return Array.from({ length: count }, (_, index) => {
    const conversationId = `soak-${index}`;
    if (index % 3 === 0) {
      const prompt = `use send_email with {"to":"r${index}@example.com","subject":"s${index}","body":"b${index}"}`;
      return { index, conversationId, kind: "email", prompt, unavailableAnswers: 0 };
    }
    const n = 600 + ((index * 7) % 161);
    return { index, conversationId, kind: "count", prompt: `count to ${n}`, expectedText: countingText(n), unavailableAnswers: 0 };
  });
}

async function createAgent(baseUrl: string): Promise<void> {
  const response = await api(baseUrl, "/api/agents", {
    json: { id: AGENT_ID, name: AGENT_ID, model: "demo:4", tools: ["get_time", "send_email"], executionMode: "durable" },
  });
  if (response.status !== 201) throw new Error(`POST /api/agents answered ${response.status}: ${await response.text()}`);
  await response.body?.cancel();
}

/**
 * POST /api/chat, read only until the headers are in (they carry the execution id), then dropped: a
 * disconnect never cancels a run. Retried only when the server cannot have started a run: the connection
 * was refused (the request never arrived), or it answered 503 (durable execution not running yet, which it
 * checks before creating the execution).
 */
async function startRun(baseUrl: string, run: SoakRun, deadlineAt: number): Promise<void> {
  const body = {
    id: run.conversationId,
    agentId: AGENT_ID,
    messages: [{ id: `u-${run.conversationId}`, role: "user", parts: [{ type: "text", text: run.prompt }] }],
  };
  let lastAnswer = "";
  while (now() < deadlineAt) {
    try {
      const response = await api(baseUrl, "/api/chat", { json: body });
      const executionId = response.headers.get("x-execution-id");
      if (response.status === 503) {
        run.unavailableAnswers += 1;
        lastAnswer = `503 ${await response.text().catch(() => "")}`;
        await sleep(200);
        continue;
      }
      if (response.status === 200 && executionId) run.executionId = executionId;
      else run.startError = `POST /api/chat answered ${response.status}${executionId ? "" : " without x-execution-id"}: ${await response.text()}`;
      await response.body?.cancel().catch(() => undefined);
      return;
    } catch (error) {
      if (!(error instanceof ServerUnreachableError && error.refused)) {
        run.startError = String(error);
        return;
      }
      lastAnswer = error.message;
      await sleep(200);
    }
  }
  run.startError = `no run started before the deadline (last answer: ${lastAnswer.slice(0, 200)})`;
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------------------------
// Watching executions and approving every pending tool call

interface ExecutionView {
  id: string;
  status: string;
  agentId: string;
  workflowRunId?: string;
  error?: string;
  pendingApprovals: Array<{ toolCallId: string; toolName: string }>;
}

interface Snapshot {
  executions: Map<string, ExecutionView>;
  /** When the listing was answered. */
  at: number;
}

interface ToolCall {
  executionId: string;
  toolCallId: string;
  toolName: string;
}

class ApprovalKeeper {
  /** toolCallId → the approved call (a 200 answered our approval). */
  readonly approved = new Map<string, ToolCall>();
  /**
   * Approvals sent without a definitive answer (the server went down, or answered 503): sent again every
   * round, pending or not, as any client would; the decision may be recorded while the run was never woken.
   */
  readonly unanswered = new Map<string, ToolCall>();
  /** Approvals answered 409/404: a race, or a decision someone else made. */
  readonly conflicts: string[] = [];
  /** Approval POSTs answered 503 (durable execution not running on that server yet). */
  unavailableAnswers = 0;
  latest: Snapshot | undefined;

  constructor(private readonly baseUrl: string) {}

  /** One round: the listing, then an approval for each call pending or unanswered. Throws when the server is down. */
  async pollOnce(): Promise<Snapshot> {
    const snapshot = await listExecutions(this.baseUrl);
    this.latest = snapshot;
    for (const execution of snapshot.executions.values()) {
      for (const approval of execution.pendingApprovals) {
        if (this.approved.has(approval.toolCallId)) continue;
        this.unanswered.set(approval.toolCallId, { executionId: execution.id, ...approval });
      }
    }
    for (const call of [...this.unanswered.values()]) await this.approve(call);
    return snapshot;
  }

  private async approve(call: ToolCall): Promise<void> {
    const pathname = `/api/executions/${encodeURIComponent(call.executionId)}/approvals/${encodeURIComponent(call.toolCallId)}`;
    const response = await api(this.baseUrl, pathname, { json: { approved: true } });
    const text = await response.text().catch(() => "");
    if (response.status === 503) {
      this.unavailableAnswers += 1;
      return;
    }
    if (response.status === 200) this.approved.set(call.toolCallId, call);
    else if (response.status === 409 || response.status === 404) this.conflicts.push(`${call.toolCallId}: ${response.status} ${text.slice(0, 200)}`);
    // Anything else is no definitive answer either: sent again next round, and reported.
    else throw new Error(`approving ${call.toolCallId} answered ${response.status}: ${text.slice(0, 200)}`);
    this.unanswered.delete(call.toolCallId);
  }
}

async function listExecutions(baseUrl: string): Promise<Snapshot> {
  const executions = new Map<string, ExecutionView>();
  let cursor: string | null = null;
  // A page limit as a deadline of its own: a cursor that never ends must not spin forever.
  for (let page = 0; page < 1000; page++) {
    const query = new URLSearchParams({ limit: "200", agentId: AGENT_ID });
    if (cursor) query.set("cursor", cursor);
    const response = await api(baseUrl, `/api/executions?${query}`, { timeoutMs: LIST_TIMEOUT_MS });
    if (response.status !== 200) throw new ServerUnreachableError(false, `GET /api/executions answered ${response.status}`);
    const body = await jsonBody<{ executions: ExecutionView[]; nextCursor: string | null }>(response);
    for (const execution of body.executions) executions.set(execution.id, execution);
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  return { executions, at: now() };
}

function activeCount(snapshot: Snapshot | undefined): number {
  if (!snapshot) return 0;
  return [...snapshot.executions.values()].filter((execution) => !TERMINAL_STATUSES.has(execution.status)).length;
}

function allSettled(runs: readonly SoakRun[], snapshot: Snapshot): boolean {
  return runs.every((run) => {
    if (!run.executionId) return true;
    const status = snapshot.executions.get(run.executionId)?.status;
    return status !== undefined && TERMINAL_STATUSES.has(status);
  });
}

// ---------------------------------------------------------------------------------------------------------
// The soak: kills on a seeded schedule while approvals go on; then the wait for every run to settle.

interface SoakTimeline {
  killsDone: number;
  /** Runs not yet settled at each kill, by the last listing (null: no listing had answered yet). */
  activeAtKill: Array<number | null>;
  /** ms from the last restart being ready to the first listing after it where every run had settled. */
  settleMs: number | null;
  /** Approval rounds that failed for another reason than the server being down (the first few, and how many). */
  pollErrors: string[];
  pollErrorCount: number;
}

async function killOnSchedule(
  supervisor: ServerSupervisor,
  keeper: ApprovalKeeper,
  kills: number,
  random: () => number,
  deadlineAt: number,
  timeline: SoakTimeline,
): Promise<void> {
  for (let kill = 1; kill <= kills; kill++) {
    const waitUntil = supervisor.readyAt + KILL_DELAY_MIN_MS + random() * KILL_DELAY_SPAN_MS;
    if (waitUntil > deadlineAt) break;
    await sleep(waitUntil - now());
    timeline.activeAtKill.push(keeper.latest ? activeCount(keeper.latest) : null);
    await supervisor.crashAndRestart();
    timeline.killsDone = kill;
    const active = timeline.activeAtKill.at(-1);
    progress(`kill ${kill}/${kills}: back up in ${roundMs(supervisor.restartMs.at(-1) ?? 0)} ms (${active ?? "unknown"} runs active before)`);
  }
}

function notePollError(timeline: SoakTimeline, error: unknown): void {
  timeline.pollErrorCount += 1;
  if (timeline.pollErrors.length < REPORTED_FAILURES) timeline.pollErrors.push(String(error));
}

interface KillProgress {
  finished: boolean;
  /** The kill loop broke off (a server that would not come back): the soak ends. */
  brokeOff: boolean;
}

async function approveUntilSettled(
  supervisor: ServerSupervisor,
  keeper: ApprovalKeeper,
  runs: readonly SoakRun[],
  kills: KillProgress,
  deadlineAt: number,
  timeline: SoakTimeline,
): Promise<void> {
  let lastReport = now();
  while (now() < deadlineAt && !kills.brokeOff) {
    const killsWereDone = kills.finished;
    try {
      const snapshot = await keeper.pollOnce();
      // Only a listing asked for after the last restart can tell that the soak has settled.
      if (killsWereDone && allSettled(runs, snapshot)) {
        timeline.settleMs = snapshot.at - supervisor.readyAt;
        return;
      }
    } catch (error) {
      if (!(error instanceof ServerUnreachableError)) notePollError(timeline, error);
      await supervisor.recoverIfDead().catch((restartError: unknown) => notePollError(timeline, restartError));
    }
    if (now() - lastReport > 5_000) {
      lastReport = now();
      progress(`${activeCount(keeper.latest)} runs not settled yet, ${keeper.approved.size} calls approved`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Checks after the soak

interface SseEvent {
  id: string | undefined;
  data: string;
}

function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split("\n\n")) {
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("id: ")) id = line.slice(4);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ id, data: data.join("\n") });
  }
  return events;
}

interface StreamChunk {
  type: string;
  delta?: unknown;
  toolCallId?: unknown;
  toolName?: unknown;
  data?: { reason?: unknown };
}

interface ReplayVerdict {
  executionId: string;
  duplicate: boolean;
  wrong: boolean;
  offsetsOk: boolean;
  problems: string[];
}

/** Offsets are `<round>.<index>`: ordered by round, then index. */
function offsetsStrictlyIncrease(events: readonly SseEvent[]): boolean {
  let previous: [number, number] | undefined;
  for (const event of events) {
    if (event.data === "[DONE]") continue;
    const match = /^(\d+)\.(\d+)$/.exec(event.id ?? "");
    if (!match) return false;
    const current: [number, number] = [Number(match[1]), Number(match[2])];
    if (previous && (current[0] < previous[0] || (current[0] === previous[0] && current[1] <= previous[1]))) return false;
    previous = current;
  }
  return true;
}

function countingVerdict(run: SoakRun, text: string): { duplicate: boolean; wrong: boolean } {
  if (text === run.expectedText) return { duplicate: false, wrong: false };
  const numbers = text.split(/\s+/).filter((token) => token !== "");
  const duplicate = new Set(numbers).size !== numbers.length;
  return { duplicate, wrong: !duplicate };
}

function emailVerdict(chunks: readonly StreamChunk[], problems: string[]): { duplicate: boolean; wrong: boolean } {
  const calls = chunks.filter((chunk) => chunk.type === "tool-input-available" && chunk.toolName === "send_email");
  const callIds = new Set(calls.map((chunk) => String(chunk.toolCallId)));
  // The prompt asks for one email: a second call (a model round run again after a crash) sends a second one.
  let duplicate = calls.length !== callIds.size || callIds.size > 1;
  let wrong = callIds.size === 0;
  if (wrong) problems.push(`no send_email tool call in the replay (it holds: ${chunks.map((chunk) => chunk.type).join(" ")})`);
  if (callIds.size > 1) problems.push(`${callIds.size} send_email calls in the replay, one asked for (${[...callIds].join(", ")})`);
  for (const toolCallId of callIds) {
    const outputs = chunks.filter((chunk) => chunk.type === "tool-output-available" && chunk.toolCallId === toolCallId).length;
    if (outputs === 0) problems.push(`no tool-output-available for ${toolCallId}`);
    if (outputs > 1) problems.push(`${outputs} tool-output-available chunks for ${toolCallId}`);
    wrong ||= outputs === 0;
    duplicate ||= outputs > 1;
  }
  return { duplicate, wrong };
}

/** GET the whole run's stream to its end; a 503 (durable execution not running yet) is asked again. */
async function readReplay(baseUrl: string, executionId: string, onUnavailable: () => void): Promise<{ status: number; body: string }> {
  for (let attempt = 1; ; attempt++) {
    const response = await api(baseUrl, `/api/executions/${encodeURIComponent(executionId)}/stream`, { timeoutMs: REPLAY_TIMEOUT_MS });
    const body = await response.text();
    if (response.status !== 503 || attempt >= 20) return { status: response.status, body };
    onUnavailable();
    await sleep(500);
  }
}

function parseChunk(data: string): StreamChunk {
  try {
    return JSON.parse(data) as StreamChunk;
  } catch {
    return { type: `(unparsable: ${data.slice(0, 40)})` };
  }
}

async function checkReplay(baseUrl: string, run: SoakRun, executionId: string, onUnavailable: () => void): Promise<ReplayVerdict> {
  const problems: string[] = [];
  const verdict = (duplicate: boolean, wrong: boolean, offsetsOk: boolean): ReplayVerdict => ({
    executionId,
    duplicate,
    wrong,
    offsetsOk,
    problems,
  });
  let body: string;
  try {
    const replay = await readReplay(baseUrl, executionId, onUnavailable);
    body = replay.body;
    if (replay.status !== 200) {
      problems.push(`replay answered ${replay.status}: ${body.slice(0, 200)}`);
      return verdict(false, true, true);
    }
  } catch (error) {
    problems.push(`replay could not be read: ${String(error)}`);
    return verdict(false, true, true);
  }
  const events = parseSse(body);
  if (events.at(-1)?.data !== "[DONE]") problems.push("the replay does not end with [DONE]");
  const chunks = events.filter((event) => event.data !== "[DONE]").map((event) => parseChunk(event.data));
  const terminal = chunks.at(-1);
  if (terminal?.type !== "data-terminal" || terminal.data?.reason !== "completed") {
    problems.push(`the replay ends with ${terminal?.type ?? "nothing"} (${String(terminal?.data?.reason ?? "")}), not data-terminal completed`);
  }
  const offsetsOk = offsetsStrictlyIncrease(events);
  if (!offsetsOk) problems.push("offsets do not strictly increase");
  const text = chunks.flatMap((chunk) => (chunk.type === "text-delta" ? [String(chunk.delta)] : [])).join("");
  const content = run.kind === "count" ? countingVerdict(run, text) : emailVerdict(chunks, problems);
  if (run.kind === "count" && (content.duplicate || content.wrong)) {
    problems.push(`text ${content.duplicate ? "repeats" : "is wrong"}: ${text.length} chars, expected ${run.expectedText!.length} (starts ${JSON.stringify(text.slice(0, 40))})`);
  }
  const endedWrong = problems.some((problem) => problem.includes("[DONE]") || problem.includes("data-terminal"));
  return verdict(content.duplicate, content.wrong || endedWrong, offsetsOk);
}

interface OutboxCheck {
  rows: number;
  duplicates: number;
  missing: number;
  extra: number;
}

async function checkOutbox(baseUrl: string, approvedEmailCalls: ReadonlySet<string>): Promise<OutboxCheck> {
  const response = await api(baseUrl, "/api/outbox");
  if (response.status !== 200) throw new Error(`GET /api/outbox answered ${response.status}`);
  const { messages } = await jsonBody<{ messages: Array<{ toolCallId: string }> }>(response);
  const rowsPerCall = new Map<string, number>();
  for (const message of messages) rowsPerCall.set(message.toolCallId, (rowsPerCall.get(message.toolCallId) ?? 0) + 1);
  return {
    rows: messages.length,
    duplicates: [...rowsPerCall.values()].filter((count) => count > 1).length,
    missing: [...approvedEmailCalls].filter((toolCallId) => !rowsPerCall.has(toolCallId)).length,
    extra: [...rowsPerCall.keys()].filter((toolCallId) => !approvedEmailCalls.has(toolCallId)).length,
  };
}

/** Asks again while the server is momentarily unreachable (it should not be, once the soak is over). */
async function retryWhileUnreachable<T>(what: () => Promise<T>, deadlineAt: number): Promise<T> {
  for (;;) {
    try {
      return await what();
    } catch (error) {
      if (!(error instanceof ServerUnreachableError) || now() > deadlineAt) throw error;
      await sleep(500);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// One world, start to end

interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

interface WorldReport {
  world: WorldKind;
  runs: number;
  kills: number;
  completed: number;
  failed: number;
  otherStatuses: Record<string, number>;
  duplicates: number;
  missing: number;
  offsetErrors: number;
  outboxRows: number;
  approvedEmails: number;
  outboxDuplicates: number;
  outboxMissing: number;
  outboxExtra: number;
  settled: boolean;
  settleMs: number | null;
  wallMs: number;
  restartMs: { min: number; p50: number; max: number } | null;
  activeAtKill: Array<number | null>;
  unexpectedExits: number;
  approvalConflicts: string[];
  /** Approvals still without a definitive answer at the end. */
  unansweredApprovals: number;
  /** 503 answers ("durable execution is not running on this server yet") after /health had answered 200. */
  unavailableAnswers: { chat: number; approvals: number; replays: number };
  checks: Check[];
  failures: Array<{ executionId: string; workflowRunId?: string; prompt: string; status: string; error?: string }>;
  problems: string[];
  serverLogs: LogTally;
  serverLogTail?: string[];
  serverLogFile?: string;
  error?: string;
}

function spread(values: readonly number[]): WorldReport["restartMs"] {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { min: roundMs(sorted[0]!), p50: roundMs(sorted[Math.floor((sorted.length - 1) / 2)]!), max: roundMs(sorted.at(-1)!) };
}

interface SoakState {
  runs: SoakRun[];
  supervisor: ServerSupervisor;
  keeper: ApprovalKeeper;
  timeline: SoakTimeline;
  startedAt: number;
  replayUnavailableAnswers: number;
}

async function runSoak(state: SoakState, options: SoakOptions, world: WorldKind): Promise<void> {
  const { runs, supervisor, keeper, timeline } = state;
  const deadlineAt = state.startedAt + options.timeoutMs;
  await supervisor.start();
  await createAgent(supervisor.baseUrl);
  progress(`[${world}] server up on ${supervisor.baseUrl}; starting ${runs.length} runs`);
  await inParallel(runs, START_CONCURRENCY, (run) => startRun(supervisor.baseUrl, run, deadlineAt));
  progress(`[${world}] ${runs.filter((run) => run.executionId).length} runs started; ${options.kills} kills to go`);

  const killProgress: KillProgress = { finished: false, brokeOff: false };
  const kills = killOnSchedule(supervisor, keeper, options.kills, mulberry32(options.seed), deadlineAt, timeline).then(
    () => {
      killProgress.finished = true;
    },
    (error: unknown) => {
      killProgress.brokeOff = true;
      throw error;
    },
  );
  const approvals = approveUntilSettled(supervisor, keeper, runs, killProgress, deadlineAt, timeline);
  // Both loops end before anything is torn down (allSettled), then a broken-off kill loop is reported.
  const [killOutcome] = await Promise.allSettled([kills, approvals]);
  if (killOutcome.status === "rejected") throw killOutcome.reason;
  progress(
    timeline.settleMs === null
      ? `[${world}] not settled by the deadline`
      : `[${world}] settled ${roundMs(timeline.settleMs)} ms after the last restart`,
  );
}

type StartedRun = SoakRun & { executionId: string };

interface StatusTally {
  statusOf(run: StartedRun): string;
  completed: number;
  failed: number;
  otherStatuses: Record<string, number>;
  /** Executions of the soak's agent that no POST /api/chat of the soak started. */
  extraExecutions: string[];
}

function tallyStatuses(started: readonly StartedRun[], snapshot: Snapshot): StatusTally {
  const statusOf = (run: StartedRun) => snapshot.executions.get(run.executionId)?.status ?? "missing";
  const byStatus = new Map<string, number>();
  for (const run of started) byStatus.set(statusOf(run), (byStatus.get(statusOf(run)) ?? 0) + 1);
  const known = new Set(started.map((run) => run.executionId));
  return {
    statusOf,
    completed: byStatus.get("completed") ?? 0,
    failed: byStatus.get("failed") ?? 0,
    otherStatuses: Object.fromEntries([...byStatus].filter(([status]) => status !== "completed" && status !== "failed")),
    extraExecutions: [...snapshot.executions.keys()].filter((id) => !known.has(id)),
  };
}

interface ReplayTally {
  /** Runs (in any final status) whose replay repeats text or a tool output. */
  duplicates: number;
  /** Completed runs whose replay is wrong without repeating (a run that did not complete counts as failed). */
  missing: number;
  offsetErrors: number;
  countingProblems: number;
  emailProblems: number;
  problems: string[];
}

/** Replays every run that reached a final status (a run still going would stream until the timeout). */
async function checkReplays(state: SoakState, started: readonly StartedRun[], statuses: StatusTally): Promise<ReplayTally> {
  const settledRuns = started.filter((run) => TERMINAL_STATUSES.has(statuses.statusOf(run)));
  const verdicts: Array<ReplayVerdict & { run: StartedRun; completed: boolean }> = [];
  await inParallel(settledRuns, REPLAY_CONCURRENCY, async (run) => {
    const verdict = await checkReplay(state.supervisor.baseUrl, run, run.executionId, () => (state.replayUnavailableAnswers += 1));
    verdicts.push({ ...verdict, run, completed: statuses.statusOf(run) === "completed" });
  });
  const completedWrong = (kind: SoakRun["kind"]) =>
    verdicts.filter((verdict) => verdict.completed && verdict.run.kind === kind && (verdict.duplicate || verdict.wrong)).length;
  return {
    duplicates: verdicts.filter((verdict) => verdict.duplicate).length,
    missing: verdicts.filter((verdict) => verdict.completed && verdict.wrong && !verdict.duplicate).length,
    offsetErrors: verdicts.filter((verdict) => !verdict.offsetsOk).length,
    countingProblems: completedWrong("count"),
    emailProblems: completedWrong("email"),
    problems: verdicts
      .filter((verdict) => verdict.problems.length > 0)
      .slice(0, REPORTED_FAILURES)
      .map((verdict) => `${verdict.executionId} (${verdict.run.prompt.slice(0, 30)}, ${statuses.statusOf(verdict.run)}): ${verdict.problems.join("; ")}`),
  };
}

function checksOf(state: SoakState, statuses: StatusTally, replays: ReplayTally, outbox: OutboxCheck, approvedEmails: number): Check[] {
  const { runs, supervisor, timeline } = state;
  const startFailures = runs.filter((run) => run.startError);
  return [
    { name: "every run started", ok: startFailures.length === 0, detail: startFailures[0]?.startError },
    {
      name: "no executions besides the soak's",
      ok: statuses.extraExecutions.length === 0,
      detail: statuses.extraExecutions.slice(0, 3).join(", ") || undefined,
    },
    { name: "every run settled before the deadline", ok: timeline.settleMs !== null },
    { name: "every run completed", ok: statuses.completed === runs.length, detail: `${statuses.completed}/${runs.length} completed` },
    {
      name: "outbox: exactly one row per approved send_email call, none extra",
      ok: outbox.duplicates === 0 && outbox.missing === 0 && outbox.extra === 0,
      detail: `${outbox.rows} rows for ${approvedEmails} approved calls (${outbox.duplicates} duplicated, ${outbox.missing} missing, ${outbox.extra} extra)`,
    },
    {
      name: "counting runs replay 1 2 … N exactly once",
      ok: replays.countingProblems === 0 && replays.duplicates === 0,
      detail: `${replays.countingProblems} completed runs wrong, ${replays.duplicates} replays with repeats`,
    },
    { name: "email runs replay the tool output and end completed", ok: replays.emailProblems === 0, detail: `${replays.emailProblems} wrong` },
    {
      name: "each email run asked for exactly one approval",
      ok: emailRunsWithExtraCalls(state) === 0,
      detail: `${emailRunsWithExtraCalls(state)} runs asked for more than one`,
    },
    { name: "replay offsets strictly increase", ok: replays.offsetErrors === 0, detail: `${replays.offsetErrors} replays out of order` },
    { name: "the server never died by itself", ok: supervisor.unexpectedExits === 0, detail: `${supervisor.unexpectedExits} unexpected exits` },
    {
      name: "every approval round answered",
      ok: timeline.pollErrorCount === 0,
      detail: timeline.pollErrorCount === 0 ? undefined : `${timeline.pollErrorCount} failed, first: ${timeline.pollErrors[0]}`,
    },
  ];
}

/** Email runs for which more than one send_email call was approved (the prompt asks for one email). */
function emailRunsWithExtraCalls(state: SoakState): number {
  const callsPerExecution = new Map<string, number>();
  for (const call of state.keeper.approved.values()) {
    if (call.toolName === "send_email") callsPerExecution.set(call.executionId, (callsPerExecution.get(call.executionId) ?? 0) + 1);
  }
  return [...callsPerExecution.values()].filter((count) => count > 1).length;
}

async function assess(state: SoakState, world: WorldKind): Promise<WorldReport> {
  const { runs, supervisor, keeper } = state;
  const deadlineAt = now() + 120_000;
  const snapshot = await retryWhileUnreachable(() => listExecutions(supervisor.baseUrl), deadlineAt);
  const started = runs.filter((run): run is StartedRun => run.executionId !== undefined);
  const statuses = tallyStatuses(started, snapshot);
  const approvedEmailCalls = new Set([...keeper.approved].filter(([, call]) => call.toolName === "send_email").map(([id]) => id));
  const outbox = await retryWhileUnreachable(() => checkOutbox(supervisor.baseUrl, approvedEmailCalls), deadlineAt);
  const replays = await checkReplays(state, started, statuses);
  const failures = started
    .filter((run) => statuses.statusOf(run) !== "completed")
    .slice(0, REPORTED_FAILURES)
    .map((run) => ({
      executionId: run.executionId,
      workflowRunId: snapshot.executions.get(run.executionId)?.workflowRunId,
      prompt: run.prompt.slice(0, 40),
      status: statuses.statusOf(run),
      error: snapshot.executions.get(run.executionId)?.error,
    }));
  return {
    ...baseReport(state, world),
    completed: statuses.completed,
    failed: statuses.failed,
    otherStatuses: statuses.otherStatuses,
    duplicates: replays.duplicates,
    missing: replays.missing,
    offsetErrors: replays.offsetErrors,
    outboxRows: outbox.rows,
    approvedEmails: approvedEmailCalls.size,
    outboxDuplicates: outbox.duplicates,
    outboxMissing: outbox.missing,
    outboxExtra: outbox.extra,
    checks: checksOf(state, statuses, replays, outbox, approvedEmailCalls.size),
    failures,
    problems: replays.problems,
  };
}

/** The fields known even when the soak broke off. */
function baseReport(state: SoakState, world: WorldKind): WorldReport {
  const { supervisor, timeline, keeper } = state;
  return {
    world,
    runs: state.runs.length,
    kills: timeline.killsDone,
    completed: 0,
    failed: 0,
    otherStatuses: {},
    duplicates: 0,
    missing: 0,
    offsetErrors: 0,
    outboxRows: 0,
    approvedEmails: 0,
    outboxDuplicates: 0,
    outboxMissing: 0,
    outboxExtra: 0,
    settled: timeline.settleMs !== null,
    settleMs: timeline.settleMs === null ? null : roundMs(timeline.settleMs),
    wallMs: roundMs(now() - state.startedAt),
    restartMs: spread(supervisor.restartMs),
    activeAtKill: timeline.activeAtKill,
    unexpectedExits: supervisor.unexpectedExits,
    approvalConflicts: keeper.conflicts.slice(0, REPORTED_FAILURES),
    unansweredApprovals: keeper.unanswered.size,
    unavailableAnswers: {
      chat: state.runs.reduce((sum, run) => sum + run.unavailableAnswers, 0),
      approvals: keeper.unavailableAnswers,
      replays: state.replayUnavailableAnswers,
    },
    checks: [],
    failures: [],
    problems: [],
    serverLogs: supervisor.output.summary(),
  };
}

const liveSupervisors = new Set<ServerSupervisor>();
const pendingDisposals = new Set<() => Promise<void>>();

async function soakWorld(world: WorldKind, options: SoakOptions): Promise<WorldReport> {
  progress(`[${world}] ${options.runs} runs, ${options.kills} kills, seed ${options.seed}`);
  const logFile = options.keepLogs ? path.join(os.tmpdir(), `tether-soak-${world}-${process.pid}.log`) : undefined;
  // One port for every restart: the world's queue calls the server back on localhost:$PORT.
  const port = await freePort();
  const setup = await prepareWorld(world, options.keepLogs);
  pendingDisposals.add(setup.dispose);
  const supervisor = new ServerSupervisor({ distDir: options.distDir, port, environment: setup.environment }, logFile);
  liveSupervisors.add(supervisor);
  const state: SoakState = {
    runs: planRuns(options.runs),
    supervisor,
    keeper: new ApprovalKeeper(supervisor.baseUrl),
    timeline: { killsDone: 0, activeAtKill: [], settleMs: null, pollErrors: [], pollErrorCount: 0 },
    startedAt: now(),
    replayUnavailableAnswers: 0,
  };
  let report: WorldReport;
  try {
    await runSoak(state, options, world);
    report = await assess(state, world);
  } catch (error) {
    progress(`[${world}] the soak broke off: ${String(error)}`);
    report = { ...baseReport(state, world), error: String(error), checks: [{ name: "the soak ran to the end", ok: false, detail: String(error) }] };
  } finally {
    await supervisor.stop().catch(() => supervisor.killSync());
    liveSupervisors.delete(supervisor);
    pendingDisposals.delete(setup.dispose);
    await setup.dispose().catch((error: unknown) => progress(`[${world}] cleanup failed: ${String(error)}`));
  }
  report.wallMs = roundMs(now() - state.startedAt);
  report.serverLogs = supervisor.output.summary();
  if (report.checks.some((check) => !check.ok)) report.serverLogTail = supervisor.output.lastLines();
  if (logFile) report.serverLogFile = logFile;
  return report;
}

// ---------------------------------------------------------------------------------------------------------
// Entry point: always print the JSON, always clean up.

function installCleanupOnSignals(): void {
  process.once("exit", () => {
    for (const supervisor of liveSupervisors) supervisor.killSync();
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping the server and dropping what the soak created`);
      process.stdout.write(`${JSON.stringify({ benchmark: "soak:crash", ok: false, error: `interrupted by ${signal}` }, null, 2)}\n`);
      for (const supervisor of liveSupervisors) supervisor.killSync();
      const disposals = [...pendingDisposals].map((dispose) => dispose().catch(() => undefined));
      void withTimeout(Promise.all(disposals), 30_000, "cleanup")
        .catch(() => undefined)
        .finally(() => process.exit(1));
    });
  }
}

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ benchmark: "soak:crash", ok: false, error: String(error) }, null, 2)}\n`);
    return 1;
  }
  installCleanupOnSignals();
  const worlds: Array<WorldReport | { world: WorldKind; error: string }> = [];
  for (const world of options.worlds) {
    try {
      worlds.push(await soakWorld(world, options));
    } catch (error) {
      // Only the world's setup (a database that could not be created) lands here.
      worlds.push({ world, error: String(error) });
    }
  }
  const ok = worlds.every((world) => "checks" in world && world.checks.every((check) => check.ok));
  const document = {
    benchmark: "soak:crash",
    seed: options.seed,
    ok,
    options: { runs: options.runs, kills: options.kills, timeoutS: options.timeoutMs / 1000, dist: options.distDir },
    node: process.version,
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    worlds,
  };
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return ok ? 0 : 1;
}

// process.exit: a handle left open by a library must not keep a finished soak alive (stdout to a pipe or
// file is written synchronously, so the JSON is out by then).
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak:crash failed: ${String(error)}\n`);
    process.exit(1);
  },
);
