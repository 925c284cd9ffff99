// Preloaded into the server by bench/load.ts: writes the event loop's delay (p99, max in ms) to
// TETHER_BENCH_LOOP_FILE every 500 ms; the bench creating `<file>.reset` starts a new measurement.
// (Not a signal: the Postgres world's queue, graphile-worker, shuts down on SIGUSR2 and its kin.)
// A preload runs in every thread of the server: the main thread writes the file, each other thread
// (model workers, the PGlite thread) `<file>.thread-<id>`, so one thread's pause is not read as another's.
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { isMainThread, threadId } from "node:worker_threads";

const file = process.env.TETHER_BENCH_LOOP_FILE;
if (file) {
  const target = isMainThread ? file : `${file}.thread-${threadId}`;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let resetSeen = 0;
  setInterval(() => {
    // Every thread resets on the same request; the main thread removes it once the others had a chance.
    if (existsSync(`${file}.reset`)) {
      if (resetSeen === 0) histogram.reset();
      resetSeen += 1;
      if (isMainThread && resetSeen > 2) rmSync(`${file}.reset`, { force: true });
    } else resetSeen = 0;
    const toMs = (ns) => Math.round(ns / 1e4) / 100;
    writeFileSync(target, JSON.stringify({ p99Ms: toMs(histogram.percentile(99)), maxMs: toMs(histogram.max) }));
  }, 500).unref();
}
