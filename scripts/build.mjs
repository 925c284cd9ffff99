// Bundles the server into dist/ (node_modules stay external). `--if-stale` skips the work when dist/ is
// newer than every source file, so `npm start` only pays for a build after a change.
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildWorkflowBundles } from "./workflow-bundles.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outfile = path.join(root, "dist", "server.mjs");
const sourceFolders = ["src", "drizzle", "workflows"];
const uiConfig = path.join(root, "src", "ui", "vite.config.ts");

function newestSource(folder) {
  if (!existsSync(folder)) return 0;
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

const stale = () => {
  if (!existsSync(outfile)) return true;
  const built = statSync(outfile).mtimeMs;
  const inputs = [...sourceFolders.map((folder) => newestSource(path.join(root, folder))), statSync(path.join(root, "package-lock.json")).mtimeMs];
  return inputs.some((time) => time > built);
};

if (process.argv.includes("--if-stale") && !stale()) process.exit(0);

const started = performance.now();
await buildWorkflowBundles({ root, dirs: ["workflows"], outdir: path.join(root, "dist", "workflow") });
const serverBundle = { bundle: true, platform: "node", target: "node20", format: "esm", packages: "external", sourcemap: true, logLevel: "warning" };
await build({ ...serverBundle, entryPoints: [path.join(root, "src", "server.ts")], outfile });
// The threads classic turns stream their model in (src/runs/model-workers).
await build({
  ...serverBundle,
  entryPoints: [path.join(root, "src", "runs", "model-workers", "worker.ts")],
  outfile: path.join(root, "dist", "model-worker.mjs"),
});
// The thread PGlite runs in (src/db/pglite-thread).
await build({
  ...serverBundle,
  entryPoints: [path.join(root, "src", "db", "pglite-thread", "worker.ts")],
  outfile: path.join(root, "dist", "pglite-worker.mjs"),
});
if (existsSync(uiConfig)) {
  // The builder UI: static files the server keeps in memory.
  const { build: buildUi } = await import("vite");
  await buildUi({ configFile: uiConfig, logLevel: "warn" });
}
console.log(`built ${path.relative(root, outfile)} in ${Math.round(performance.now() - started)} ms`);
