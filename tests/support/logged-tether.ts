import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { parseConfig } from "../../src/config";
import type { DatabaseKind } from "../../src/db/client";
import { createLogger } from "../../src/logger";
import { StreamBufferRegistry } from "../../src/streams";
import { createTether, type Tether } from "../../src/tether";
import { createTestDatabase, type TestDatabase } from "./database";

/** A whole Tether whose log lines (debug and up) are kept, served on a real socket. */
export async function startLoggedTether(kind: DatabaseKind, environment: Record<string, string>) {
  const database: TestDatabase = await createTestDatabase(kind);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-mcp-"));
  const config = parseConfig({
    TETHER_MAX_EVENT_LOOP_UTILIZATION: "0",
    TETHER_DATA_DIR: dataDir,
    TETHER_DEMO_TOKEN_DELAY_MS: "0",
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...environment,
  });
  const logLines: string[] = [];
  // No secrets given to the logger: nothing masks a credential that Tether's own code would log.
  const logger = createLogger({ level: "debug", destination: { write: (line: string) => void logLines.push(line) } });
  const tether: Tether = await createTether({ config, database: database.handle, logger, buffers: new StreamBufferRegistry() });
  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch: tether.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await tether.startWorkflows(kind === "postgres" ? { baseUrl } : {});
  return {
    baseUrl,
    dataDir,
    database,
    logLines,
    async dispose() {
      await tether.shutdown();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type LoggedTether = Awaited<ReturnType<typeof startLoggedTether>>;
