import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, startServerProcess, type ServerProcess } from "../../support/server-process";

export interface E2eTether {
  server: ServerProcess;
  baseUrl: string;
  /** A JSON API call against the server (with the admin key, if any); throws on a non-2xx answer. */
  api<T = unknown>(pathname: string, init?: { method?: string; body?: unknown }): Promise<T>;
  /** `kill -9`, then a new server on the same data directory and port (open pages reconnect to it). */
  crashAndRestart(): Promise<void>;
  dispose(): Promise<void>;
}

/** The built server (`dist/server.mjs`) with its embedded defaults (PGlite, local world, demo model). */
export async function startTether(environment: Record<string, string> = {}): Promise<E2eTether> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-e2e-data-"));
  // startServerProcess waits for the "listening" info log line, so the log level stays at info.
  const serverEnvironment = { TETHER_DATA_DIR: dataDir, ...environment };
  const port = await freePort();
  let server = await startServerProcess(serverEnvironment, port);
  const baseUrl = server.baseUrl;
  const adminKey = environment.TETHER_API_KEYS?.split(",")[0];
  const api = async <T>(pathname: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
    const response = await fetch(`${baseUrl}${pathname}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: {
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        ...(adminKey ? { authorization: `Bearer ${adminKey}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${init.method ?? "GET"} ${pathname} → ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    get server() {
      return server;
    },
    baseUrl,
    api,
    async crashAndRestart() {
      await server.crash();
      server = await startServerProcess(serverEnvironment, port);
    },
    async dispose() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
