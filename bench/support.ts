/**
 * Server side of the benchmarks: an in-process Tether on real loopback HTTP over an embedded PGlite, the
 * no-buffer AI SDK baseline app, the client worker thread, and small statistics helpers.
 * Nothing here touches anything but 127.0.0.1 and a temp folder it removes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { serve, type ServerType } from "@hono/node-server";
import { streamText, type UIMessageChunk } from "ai";
import { Hono } from "hono";
import { createDemoModel } from "../src/agents/demo-model";
import { parseConfig } from "../src/config";
import { openPglite, type DatabaseHandle } from "../src/db/client";
import { createLogger } from "../src/logger";
import { SSE_DONE, StreamBufferRegistry, UI_MESSAGE_STREAM_HEADERS, formatSseEvent } from "../src/streams";
import { createTether, type Tether } from "../src/tether";
import type { ClientApi } from "./client";
import { LiveOnlyStreamStore } from "./live-only-streams";
import { startWorkerClient, type WorkerClient } from "./worker-rpc";

const LOOPBACK = "127.0.0.1";

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: LOOPBACK }, (info: AddressInfo) =>
      resolve({ server, url: `http://${LOOPBACK}:${info.port}` }),
    );
  });
}

function close(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as ServerType & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

export interface BenchServer {
  tether: Tether;
  /** Tether's own routes. */
  url: string;
  /** A second Tether on the same database whose classic streams keep nothing for replay (buffer off). */
  bufferOffUrl: string;
  bufferOff: Tether<LiveOnlyStreamStore>;
  /** The plain AI SDK route (`POST /chat`): no Tether at all. */
  baselineUrl: string;
  dispose(): Promise<void>;
}

/**
 * A whole Tether (private buffer registry, silent logs, PGlite in a temp folder as `npm start` keeps it)
 * served on an ephemeral loopback port; the same with the stream buffer off on a second; the plain
 * AI SDK app on a third.
 */
export async function startBenchServer(): Promise<BenchServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-bench-"));
  // Also when the bench exits early (watchdog, crash): process.exit still runs "exit" listeners.
  process.once("exit", () => rmSync(dataDir, { recursive: true, force: true }));
  const config = parseConfig({
    TETHER_DATA_DIR: dataDir,
    TETHER_DEMO_TOKEN_DELAY_MS: "0",
    LOG_LEVEL: "silent",
    // The bench measures throughput at saturation on purpose: no shedding by load.
    TETHER_MAX_EVENT_LOOP_UTILIZATION: "0",
  });
  let database: DatabaseHandle | undefined;
  try {
    database = await openPglite({ dir: path.join(dataDir, "db") });
    const logger = createLogger({ level: "silent" });
    const tether = await createTether({ config, database, logger, buffers: new StreamBufferRegistry() });
    const bufferOff = await createTether({ config, database, logger, buffers: new LiveOnlyStreamStore() });
    const main = await listen(tether.app.fetch);
    const off = await listen(bufferOff.app.fetch);
    const baseline = await listen(createBaselineApp().fetch);
    const handle = database;
    return {
      tether,
      url: main.url,
      bufferOff,
      bufferOffUrl: off.url,
      baselineUrl: baseline.url,
      async dispose() {
        await Promise.all([tether.shutdown(), bufferOff.shutdown()]);
        await Promise.all([close(main.server), close(off.server), close(baseline.server)]);
        await handle.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await database?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The plain AI SDK path with no stream buffer: demo model (0 ms) → `streamText` → `toUIMessageStream()` →
 * Tether's own SSE framing (`formatSseEvent` with `0.<n>` ids, then `SSE_DONE`) and the same headers.
 */
export function createBaselineApp(): Hono {
  const app = new Hono();
  app.post("/chat", async (c) => {
    const body = (await c.req.json()) as { messages?: Array<{ parts?: Array<{ type: string; text?: string }> }> };
    const prompt = (body.messages?.at(-1)?.parts ?? []).map((part) => part.text ?? "").join("");
    const result = streamText({ model: createDemoModel({ tokenDelayMs: 0 }), prompt });
    const encoder = new TextEncoder();
    let index = 0;
    const sse = result.toUIMessageStream().pipeThrough(
      new TransformStream<UIMessageChunk, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(encoder.encode(formatSseEvent(`0.${index++}`, chunk)));
        },
        flush(controller) {
          controller.enqueue(encoder.encode(SSE_DONE));
        },
      }),
    );
    return new Response(sse, { status: 200, headers: UI_MESSAGE_STREAM_HEADERS });
  });
  return app;
}

// ---------------------------------------------------------------------------------------------------------
// The client worker: a thread of this process whose event loop only runs the HTTP clients.

export type ClientWorker = WorkerClient<ClientApi>;

export function startClientWorker(): ClientWorker {
  return startWorkerClient<ClientApi>(new URL("./client.ts", import.meta.url));
}

// ---------------------------------------------------------------------------------------------------------
// Statistics

export const round2 = (value: number) => Math.round(value * 100) / 100;

/** The opening fields of every benchmark's JSON: what ran, where, and how busy the machine was. */
export function benchmarkHeader(benchmark: string, quick: boolean): Record<string, unknown> {
  return {
    benchmark,
    mode: quick ? "quick" : "full",
    node: process.version,
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    platform: `${process.platform}-${process.arch}`,
    loadAverageAtStart: os.loadavg().map(round2),
    startedAt: new Date().toISOString(),
  };
}

/** Percentile with linear interpolation between closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export const median = (values: readonly number[]) => percentile(values, 50);

export function summary(values: readonly number[]) {
  if (values.length === 0) return { p50: null, p95: null, min: null, max: null };
  return {
    p50: round2(percentile(values, 50)),
    p95: round2(percentile(values, 95)),
    min: round2(Math.min(...values)),
    max: round2(Math.max(...values)),
  };
}

/**
 * Measures how long this thread's event loop goes without running a 10 ms interval: the longest time during
 * which no other request, timer or socket write of the server could make progress.
 */
export function startStallMonitor(intervalMs = 10) {
  const gaps: number[] = [];
  let last = performance.now();
  const record = () => {
    const now = performance.now();
    gaps.push(Math.max(0, now - last - intervalMs));
    last = now;
  };
  const timer = setInterval(record, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      record();
      return { p99Ms: round2(percentile(gaps, 99)), maxMs: round2(Math.max(...gaps)) };
    },
  };
}

export const rssMb = () => round2(process.memoryUsage().rss / (1024 * 1024));

/** Prints the one JSON document of a bench (with its duration, first correctness failures and notes) and exits. */
export function emitReport(
  results: Record<string, unknown>,
  run: { startedAt: number; failures: readonly unknown[]; notes: unknown },
  exitCode: number,
): never {
  results.durationMs = Math.round(performance.now() - run.startedAt);
  results.correctnessFailures = run.failures.slice(0, 20);
  results.notes = run.notes;
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  process.exit(exitCode);
}
