/**
 * Classic-run stream benchmark: `npm run bench:classic [-- --quick]` (or BENCH_QUICK=1).
 *
 * One process: Tether on real loopback HTTP over an embedded PGlite (temp folder) with the offline demo
 * model on the main thread; the HTTP clients in a worker thread (./client.ts). Prints ONE JSON document
 * on stdout; progress goes to stderr. Three parts:
 *   1. throughput through POST /api/chat with the stream buffer on vs off (the same route on a second
 *      Tether whose streams keep nothing), and vs the plain AI SDK path, in rotating order;
 *   2. replay of a 10,000-chunk turn through GET /api/executions/:id/stream, after the run and mid-run;
 *   3. 200 concurrent streams (50 with --quick), each with a resumer, checked for identical text, with RSS
 *      and buffer stats.
 * Exit code: 0 when every stream was correct (performance targets are reported, not enforced), 1 when a
 * stream was wrong or the bench failed, 2 when it ran out of time.
 */
import os from "node:os";
import { performance } from "node:perf_hooks";
import type { StreamBufferStats } from "../src/streams";
import type { StreamSummary } from "./client";
import {
  benchmarkHeader,
  log,
  median,
  round2,
  rssMb,
  sleep,
  startBenchServer,
  startClientWorker,
  startStallMonitor,
  summary,
  type BenchServer,
  type ClientWorker,
  emitReport,
} from "./support";

const quick = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";

const settings = quick
  ? {
      throughputChunks: 20_000,
      warmUpChunks: 2_000,
      throughputRounds: 2,
      replayChunks: 10_000,
      endedReplays: 30,
      midStreamRuns: 1,
      readersPerMidStreamRun: 30,
      concurrentStreams: 50,
      deadlineMs: 100_000,
    }
  : {
      throughputChunks: 20_000,
      warmUpChunks: 20_000,
      throughputRounds: 10,
      replayChunks: 10_000,
      endedReplays: 60,
      midStreamRuns: 2,
      readersPerMidStreamRun: 30,
      concurrentStreams: 200,
      deadlineMs: 175_000,
    };

const FAST_AGENT = "bench-demo-0";
const SLOW_AGENT = "bench-demo-1";
const CONCURRENT_AGENT = "bench-demo-5";
/** 30 mid-stream readers 150 ms apart span ~4.5 s of a ≥ 10 s run. */
const MID_STREAM_READER_SPACING_MS = 150;
const CONCURRENT_COUNT = 200;
const RESUME_SPREAD_MS = 300;
const RSS_SAMPLE_MS = 50;

const results: Record<string, unknown> = benchmarkHeader("tether classic streams", quick);
const notes: string[] = [];
/** Correctness problems (wrong text, missing [DONE], bad status…); any of them makes the exit code 1. */
const failures: string[] = [];
/** Execution ids of earlier parts, whose buffers are dropped before the memory part. */
const executionIds: string[] = [];

/** Whole-process RSS, and the main thread's V8 heap and external memory (PGlite's WASM memory is external). */
function memory() {
  const usage = process.memoryUsage();
  const mb = (bytes: number) => round2(bytes / (1024 * 1024));
  return { rssMb: mb(usage.rss), mainHeapUsedMb: mb(usage.heapUsed), mainExternalMb: mb(usage.external) };
}
const memoryCheckpoints: Record<string, ReturnType<typeof memory>> = {};

function checked(result: StreamSummary, what: string): boolean {
  if (result.problem === undefined) return true;
  failures.push(`${what}: ${result.problem}`);
  return false;
}

/** How long the server's event loop (main thread) went without running a 10 ms timer while `work` ran. */
async function withEventLoopDelay<T>(work: () => Promise<T>): Promise<[T, { p99Ms: number; maxMs: number }]> {
  const monitor = startStallMonitor();
  try {
    const value = await work();
    return [value, monitor.stop()];
  } catch (error) {
    monitor.stop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------
// 1. Throughput: stream buffer on (Tether's route) vs off (plain AI SDK baseline)

type Variant = "on" | "off" | "sdk";

async function throughput(server: BenchServer, client: ClientWorker) {
  const urls: Record<Variant, string> = {
    on: `${server.url}/api/chat`,
    off: `${server.bufferOffUrl}/api/chat`,
    sdk: `${server.baselineUrl}/chat`,
  };
  const turn = async (variant: Variant, n: number) => {
    const body = {
      id: `tp-${variant}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
      agentId: FAST_AGENT,
      messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: `count to ${n}` }] }],
    };
    const [result, stall] = await withEventLoopDelay(() =>
      client.call("stream", { url: urls[variant], json: body, expectCount: n }),
    );
    // Dropped at once so that later rounds do not run with more retained heap than earlier ones.
    if (variant === "on" && result.executionId) server.tether.buffers.delete(result.executionId);
    if (variant === "off" && result.executionId) server.bufferOff.buffers.delete(result.executionId);
    checked(result, `throughput ${variant}`);
    return { rate: result.chunks / (result.ttlbMs / 1000), ttfbMs: result.ttfbMs ?? result.ttlbMs, stall };
  };

  const variants: Variant[] = ["on", "off", "sdk"];
  log(`throughput: warm-up (count to ${settings.warmUpChunks}, every variant)`);
  for (const variant of variants) await turn(variant, settings.warmUpChunks);
  const rates: Record<Variant, number[]> = { on: [], off: [], sdk: [] };
  const firstBytes: Record<Variant, number[]> = { on: [], off: [], sdk: [] };
  const stalls: Record<Variant, number[]> = { on: [], off: [], sdk: [] };
  const pairedRatios: number[] = [];
  for (let round = 0; round < settings.throughputRounds; round++) {
    // Rotating order so that drift in machine load hits every variant alike.
    const order = variants.map((_, index) => variants[(index + round) % variants.length]!);
    const rate: Record<Variant, number> = { on: 0, off: 0, sdk: 0 };
    for (const variant of order) {
      const measured = await turn(variant, settings.throughputChunks);
      rates[variant].push((rate[variant] = measured.rate));
      firstBytes[variant].push(measured.ttfbMs);
      stalls[variant].push(measured.stall.maxMs);
    }
    pairedRatios.push(rate.on / rate.off);
    log(
      `throughput round ${round + 1}/${settings.throughputRounds}: ` +
        variants.map((variant) => `${variant} ${Math.round(rate[variant])}/s`).join(", "),
    );
  }
  const on = median(rates.on);
  const off = median(rates.off);
  const sdk = median(rates.sdk);
  const ratio = on / off;
  const worstStall = (variant: Variant) => Math.round(Math.max(...stalls[variant]));
  if (worstStall("sdk") > 2 * worstStall("on")) {
    notes.push(
      `throughput: the plain AI SDK route held the server's event loop for up to ${worstStall("sdk")} ms in one turn ` +
        `(Tether's route: ${worstStall("on")} ms): nothing in it yields while a 0 ms model streams, whereas Tether's ` +
        "runner gives the loop a turn every 64 chunks",
    );
  }
  const describe = (variant: Variant, route: string) => ({
    route,
    chunksPerSecond: Math.round(median(rates[variant])),
    min: Math.round(Math.min(...rates[variant])),
    max: Math.round(Math.max(...rates[variant])),
    ttfbMs: summary(firstBytes[variant]),
    // The server thread's longest stretch without running a 10 ms timer during one turn: how long every
    // other request had to wait.
    longestEventLoopStallMs: summary(stalls[variant]),
  });
  return {
    chunksPerTurn: settings.throughputChunks,
    rounds: settings.throughputRounds,
    order: "on, off, sdk rotated by one place per round; one warm-up turn of each first, not counted",
    bufferOn: describe("on", "POST /api/chat (agent demo:0): runner → stream buffer → reader → toSseByteStream"),
    bufferOff: describe(
      "off",
      "POST /api/chat of a second Tether on the same database whose classic streams keep no events " +
        "(bench/live-only-streams.ts): the same route, runner and persistence without the buffer",
    ),
    plainSdk: describe(
      "sdk",
      "POST /chat: streamText(demo 0 ms) → toUIMessageStream() → formatSseEvent / SSE_DONE; no database, " +
        "no message persistence, no Tether",
    ),
    ratio: round2(ratio),
    pairedRoundRatio: summary(pairedRatios),
    target: ">= 0.95 (buffer on / buffer off)",
    pass: ratio >= 0.95,
    tetherVsPlainSdk: {
      ratio: round2(on / sdk),
      note:
        "not a target: what the whole classic route (execution row, persisted messages, the response message " +
        "built from the stream for onFinish) costs next to the bare AI SDK",
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// 2. Replay of a 10,000-chunk turn, after the run ended and while it runs

async function replayEnded(server: BenchServer, client: ClientWorker) {
  const n = settings.replayChunks;
  const original = await client.call("stream", {
    url: `${server.url}/api/chat`,
    json: {
      id: `replay-${Date.now().toString(36)}`,
      agentId: FAST_AGENT,
      messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: `count to ${n}` }] }],
    },
    expectCount: n,
  });
  checked(original, "replay original");
  const executionId = original.executionId;
  if (!executionId) throw new Error(`replay original answered ${original.status} without an execution id`);
  executionIds.push(executionId);
  const url = `${server.url}/api/executions/${executionId}/stream`;
  log(`replay after end: ${settings.endedReplays} sequential replays of ${executionId}`);
  checked(await client.call("stream", { url, expectCount: n }), "replay-ended warm-up");
  const headers: number[] = [];
  const ttfb: number[] = [];
  const ttlb: number[] = [];
  const [, eventLoop] = await withEventLoopDelay(async () => {
    for (let index = 0; index < settings.endedReplays; index++) {
      const result = await client.call("stream", { url, expectCount: n });
      if (!checked(result, `replay-ended #${index}`) || result.ttfbMs === undefined) continue;
      headers.push(result.headersMs);
      ttfb.push(result.ttfbMs);
      ttlb.push(result.ttlbMs);
    }
  });
  return {
    samples: ttfb.length,
    headersMs: summary(headers),
    ttfbMs: summary(ttfb),
    ttlbMs: summary(ttlb),
    serverEventLoopDelay: eventLoop,
  };
}

async function replayMidStream(server: BenchServer, client: ClientWorker) {
  const n = settings.replayChunks;
  const headers: number[] = [];
  const ttfb: number[] = [];
  const ttlb: number[] = [];
  const tail: number[] = [];
  const runMs: number[] = [];
  let live = 0;
  let readers = 0;
  const [, eventLoop] = await withEventLoopDelay(async () => {
    for (let run = 0; run < settings.midStreamRuns; run++) {
      log(`replay mid-stream run ${run + 1}/${settings.midStreamRuns}: count to ${n} on demo:1, ${settings.readersPerMidStreamRun} readers`);
      const outcome = await client.call("midStream", {
        baseUrl: server.url,
        agentId: SLOW_AGENT,
        n,
        readers: settings.readersPerMidStreamRun,
        spacingMs: MID_STREAM_READER_SPACING_MS,
      });
      executionIds.push(outcome.executionId);
      checked(outcome.original, `mid-stream run ${run} original`);
      runMs.push(outcome.original.ttlbMs);
      for (const [index, reader] of outcome.readers.entries()) {
        readers += 1;
        if (!checked(reader, `mid-stream run ${run} reader ${index}`) || reader.ttfbMs === undefined) continue;
        if (reader.firstByteBeforeRunEnded) live += 1;
        headers.push(reader.headersMs);
        ttfb.push(reader.ttfbMs);
        ttlb.push(reader.ttlbMs);
        tail.push(reader.lastByteAfterOriginalMs);
      }
    }
  });
  if (live < readers) notes.push(`mid-stream replay: only ${live}/${readers} readers got their first byte while the run streamed`);
  return {
    model: "demo:1",
    runs: settings.midStreamRuns,
    samples: ttfb.length,
    firstByteWhileRunStreamed: live,
    readerSpacingMs: MID_STREAM_READER_SPACING_MS,
    runDurationMs: summary(runMs),
    headersMs: summary(headers),
    ttfbMs: summary(ttfb),
    ttlbMs: { ...summary(ttlb), note: "lasts until the run ends, so dominated by the demo:1 run length" },
    lastByteAfterOriginalMs: summary(tail),
    serverEventLoopDelay: eventLoop,
  };
}

// ---------------------------------------------------------------------------------------------------------
// 3. 200 concurrent streams, each with one resumer

async function concurrentStreams(server: BenchServer, client: ClientWorker) {
  // Earlier parts' buffers would otherwise stay until they expire (5 minutes) and count here.
  for (const id of executionIds) server.tether.buffers.delete(id);
  await sleep(250);
  const before = rssMb();
  memoryCheckpoints.beforeConcurrency = memory();
  let peak = { rssMb: before, atMs: 0, buffers: server.tether.buffers.stats() };
  const maxima: StreamBufferStats = { streams: 0, bytes: 0, readers: 0, liveBytes: 0, maxBytesTotal: 0 };
  const startedAt = performance.now();
  const sampler = setInterval(() => {
    const rss = rssMb();
    const stats = server.tether.buffers.stats();
    for (const key of ["streams", "bytes", "readers"] as const) maxima[key] = Math.max(maxima[key], stats[key]);
    if (rss > peak.rssMb) {
      peak = { rssMb: rss, atMs: Math.round(performance.now() - startedAt), buffers: stats };
      memoryCheckpoints.concurrencyPeak = memory();
    }
  }, RSS_SAMPLE_MS);

  log(`concurrency: ${settings.concurrentStreams} chats (count to ${CONCURRENT_COUNT} on demo:5), each with one resumer`);
  const [outcome, eventLoop] = await withEventLoopDelay(() =>
    client
      .call("concurrent", {
        baseUrl: server.url,
        agentId: CONCURRENT_AGENT,
        streams: settings.concurrentStreams,
        n: CONCURRENT_COUNT,
        resumeSpreadMs: RESUME_SPREAD_MS,
      })
      .finally(() => clearInterval(sampler)),
  );
  const after = rssMb();
  const buffersAfter = server.tether.buffers.stats();
  await sleep(1000);
  const afterOneSecond = rssMb();
  if (outcome.resumedVia.executionStream > 0) {
    notes.push(
      `concurrency: ${outcome.resumedVia.executionStream} of ${settings.concurrentStreams} resumers got 204 from ` +
        "GET /api/chat/:id/stream because their turn had completed by the time the lookup was answered (see " +
        "resumeLookupHeadersMs: the lookups queue behind the turns' PGlite queries on a saturated main thread), and " +
        "resumed through GET /api/executions/:id/stream instead; resume204BeforeOriginalGotFinishChunk counts 204s " +
        "that came before the original client had the model's finish chunk (would be a contract violation)",
    );
  }
  if (outcome.errors.total > 0) failures.push(`concurrency: ${outcome.errors.total} errors (${outcome.examples.join("; ")})`);
  return {
    streams: settings.concurrentStreams,
    resumersPerStream: 1,
    model: "demo:5",
    prompt: `count to ${CONCURRENT_COUNT}`,
    durationMs: Math.round(outcome.durationMs),
    errors: { ...outcome.errors, examples: outcome.examples },
    resumedVia: outcome.resumedVia,
    resume204BeforeOriginalGotFinishChunk: outcome.noContentBeforeOriginalFinished,
    chatHeadersMs: summary(outcome.chatHeadersMs),
    resumeLookupHeadersMs: summary(outcome.resumeHeadersMs),
    target: "0 errors",
    pass: outcome.errors.total === 0,
    rssMb: { before, peak: peak.rssMb, after, afterOneSecond, sampleEveryMs: RSS_SAMPLE_MS },
    buffersAtPeak: { ...peak.buffers, atMs: peak.atMs },
    buffersMax: maxima,
    buffersAfter,
    serverEventLoopDelay: eventLoop,
  };
}

// ---------------------------------------------------------------------------------------------------------

const benchStart = performance.now();

function emit(exitCode: number): never {
  return emitReport(results, { startedAt: benchStart, failures, notes }, exitCode);
}

async function main() {
  const watchdog = setTimeout(() => {
    results.error = `ran out of time after ${settings.deadlineMs} ms`;
    emit(2);
  }, settings.deadlineMs);
  log(`mode ${quick ? "quick" : "full"}; starting Tether on 127.0.0.1 with PGlite in a temp folder`);
  const server = await startBenchServer();
  const client = startClientWorker();
  results.startupMs = Math.round(performance.now() - benchStart);
  results.memory = memoryCheckpoints;
  memoryCheckpoints.afterStartup = memory();
  try {
    for (const [id, model] of [[FAST_AGENT, "demo:0"], [SLOW_AGENT, "demo:1"], [CONCURRENT_AGENT, "demo:5"]] as const) {
      const response = await fetch(`${server.url}/api/agents`, {
        method: "POST",
        signal: AbortSignal.timeout(30_000),
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id, name: `bench ${id}`, model, tools: [], executionMode: "classic" }),
      });
      if (response.status !== 201) throw new Error(`creating agent ${id} answered ${response.status}: ${await response.text()}`);
    }

    results.throughput = await throughput(server, client);
    memoryCheckpoints.afterThroughput = memory();
    const ended = await replayEnded(server, client);
    const midStream = await replayMidStream(server, client);
    results.replay = {
      chunks: settings.replayChunks,
      route: "GET /api/executions/:id/stream",
      ended,
      midStream,
      target: "ttfb p50 <= 5 ms",
      pass: (ended.ttfbMs.p50 ?? Infinity) <= 5 && (midStream.ttfbMs.p50 ?? Infinity) <= 5,
    };
    memoryCheckpoints.afterReplay = memory();
    results.concurrency = await concurrentStreams(server, client);
    memoryCheckpoints.afterConcurrency = memory();
  } finally {
    clearTimeout(watchdog);
    await client.terminate().catch(() => undefined);
    await server.dispose().catch((error: unknown) => log(`dispose failed: ${String(error)}`));
  }

  const cpus = results.cpus as number;
  const load = os.loadavg()[0]!;
  notes.push(
    "one process: server (Tether, baseline app, PGlite's WASM Postgres) on the main thread, HTTP clients in a " +
      "worker thread; on 2 CPUs they still contend with each other and with GC, so compare ratios, not absolute rates",
    "throughput: buffer on and off run the same Tether route (about 10 DB queries per turn, the response " +
      "message built for persistence, one extra data-terminal chunk); only where the runner's chunks go differs. " +
      "Each stream is deleted after its turn to keep rounds comparable. Every variant is bounded by the AI SDK's " +
      "own per-chunk cost; the demo model at 0 ms yields to the event loop every few batches, as a model " +
      "streaming over the network would",
    "replay: sequential requests on keep-alive connections after one uncounted warm-up; TTFB is request sent → " +
      "first body bytes, seen from the worker thread; serverEventLoopDelay is the main thread's longest stall",
    "concurrency: earlier parts' buffers are deleted first; RSS covers the whole process (both threads, PGlite) " +
      "and V8 keeps freed heap for a while, so 'after' stays high; " +
      `the ${settings.concurrentStreams} finished buffers are kept until they expire`,
  );
  const startup = memoryCheckpoints.afterStartup;
  if (startup) {
    notes.push(
      `RSS is dominated by embedded PGlite: ${startup.rssMb} MB right after startup, of which ${startup.mainExternalMb} MB ` +
        "is external (WASM) memory, before any stream ran",
    );
  }
  if (load > cpus * 0.75) notes.push(`machine was busy: 1-minute load average ${round2(load)} on ${cpus} CPUs at the end`);
  if (cpus < 2) notes.push("fewer than 2 CPUs: the server and client threads share one core");
  emit(failures.length > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  results.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
  emit(1);
});
