// Preloaded into the server by bench/load.ts: writes the event loop's delay (p99, max in ms) to
// TETHER_BENCH_LOOP_FILE every 500 ms; the bench creating `<file>.reset` starts a new measurement.
// (Not a signal: the Postgres world's queue, graphile-worker, shuts down on SIGUSR2 and its kin.)
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const file = process.env.TETHER_BENCH_LOOP_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  setInterval(() => {
    if (existsSync(`${file}.reset`)) {
      rmSync(`${file}.reset`, { force: true });
      histogram.reset();
    }
    const toMs = (ns) => Math.round(ns / 1e4) / 100;
    writeFileSync(file, JSON.stringify({ p99Ms: toMs(histogram.percentile(99)), maxMs: toMs(histogram.max) }));
  }, 500).unref();
}
