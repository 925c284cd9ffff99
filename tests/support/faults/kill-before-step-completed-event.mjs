// Preloaded into a server process (`node --import`) by tests: kills the process with SIGKILL once, at
// the exact point TETHER_FAULT_POINT names (the file TETHER_FAULT_MARKER records that it fired, so a
// restarted process runs normally):
// - `completion-event` (default): the Workflow SDK has recorded a step as completed on its entity but not
//   yet written the `step_completed` event (vercel/workflow#3081); both worlds (the local world's event
//   file, the Postgres world's event row);
// - `completion-claim`: the local world has claimed the lock file that guards a step's completion but
//   written neither the entity nor the event.
import { existsSync, writeFileSync } from "node:fs";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";

const marker = process.env.TETHER_FAULT_MARKER;
const point = process.env.TETHER_FAULT_POINT ?? "completion-event";

function fire() {
  if (!marker || existsSync(marker)) return false;
  writeFileSync(marker, String(Date.now()));
  process.kill(process.pid, "SIGKILL");
  return true;
}

const writeFile = fs.promises.writeFile;
fs.promises.writeFile = function (file, data, ...rest) {
  const isEvent = String(file).includes(`${path.sep}events${path.sep}`);
  if (point === "completion-event" && isEvent && typeof data === "string" && data.includes('"eventType": "step_completed"')) fire();
  return writeFile.call(this, file, data, ...rest);
};

const link = fs.promises.link;
fs.promises.link = async function (existing, created) {
  await link.call(this, existing, created);
  if (point === "completion-claim" && String(created).endsWith(".terminal")) fire();
};

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, callback) {
  const text = typeof config === "string" ? config : config?.text;
  const parameters = Array.isArray(values) ? values : config?.values;
  if (point === "completion-event" && typeof text === "string" && /insert into "workflow"\."workflow_events"/i.test(text) && parameters?.includes("step_completed")) {
    fire();
  }
  return query.call(this, config, values, callback);
};
