// Preloaded into the server by bench/load.ts: writes the event loop's delay (p99, max in ms) to
// TETHER_BENCH_LOOP_FILE every 500 ms; SIGUSR2 starts a new measurement.
import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const file = process.env.TETHER_BENCH_LOOP_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  process.on("SIGUSR2", () => histogram.reset());
  setInterval(() => {
    const toMs = (ns) => Math.round(ns / 1e4) / 100;
    writeFileSync(file, JSON.stringify({ p99Ms: toMs(histogram.percentile(99)), maxMs: toMs(histogram.max) }));
  }, 500).unref();
}
