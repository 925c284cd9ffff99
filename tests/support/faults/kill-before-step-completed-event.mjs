// Preloaded into a server process (`node --import`) by tests: kills the process with SIGKILL at the
// exact point where the Workflow SDK has recorded a step as completed on its entity but not yet written
// the `step_completed` event (vercel/workflow#3081), once: the file TETHER_FAULT_MARKER records that it
// fired, so a restarted process runs normally. Covers both worlds' writes: the local world's event file
// and the Postgres world's event row.
import { existsSync, writeFileSync } from "node:fs";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";

const marker = process.env.TETHER_FAULT_MARKER;

function fire() {
  if (!marker || existsSync(marker)) return false;
  writeFileSync(marker, String(Date.now()));
  process.kill(process.pid, "SIGKILL");
  return true;
}

const writeFile = fs.promises.writeFile;
fs.promises.writeFile = function (file, data, ...rest) {
  const isEvent = String(file).includes(`${path.sep}events${path.sep}`);
  if (isEvent && typeof data === "string" && data.includes('"eventType": "step_completed"')) fire();
  return writeFile.call(this, file, data, ...rest);
};

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, callback) {
  const text = typeof config === "string" ? config : config?.text;
  const parameters = Array.isArray(values) ? values : config?.values;
  if (typeof text === "string" && /insert into "workflow"\."workflow_events"/i.test(text) && parameters?.includes("step_completed")) {
    fire();
  }
  return query.call(this, config, values, callback);
};
