import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A free loopback port (asked of the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface ServerProcess {
  baseUrl: string;
  pid: number;
  output(): string;
  /** `kill -9`: no shutdown hook runs. */
  crash(): Promise<void>;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<number | null>;
  /** Sends a signal; answers the exit code once the process ends. */
  signal(name: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Runs the built server (`dist/server.mjs`) as a child process, as `npm start` does. `preload`: modules
 * loaded before it (`node --import`), such as a fault injector.
 */
export async function startServerProcess(
  environment: Record<string, string>,
  port?: number,
  options: { preload?: string[] } = {},
): Promise<ServerProcess> {
  const listenPort = port ?? (await freePort());
  const preload = (options.preload ?? []).flatMap((file) => ["--import", file]);
  const child: ChildProcess = spawn(process.execPath, [...preload, path.join(root, "dist", "server.mjs")], {
    cwd: root,
    // A busy loop on a shared test machine is not an overloaded server (see tests/overload.test.ts).
    env: { PATH: process.env.PATH, LOG_LEVEL: "info", TETHER_MAX_EVENT_LOOP_UTILIZATION: "0", ...environment, PORT: String(listenPort) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (data: Buffer) => (output += data.toString()));
  child.stderr?.on("data", (data: Buffer) => (output += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${listenPort}`;

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited during start-up:\n${output}`);
    try {
      const health = await fetch(`${baseUrl}/health`);
      if (health.ok && output.includes("listening")) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the server did not start in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    baseUrl,
    pid: child.pid!,
    output: () => output,
    exited,
    async crash() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
    signal(name) {
      child.kill(name);
      return exited;
    },
  };
}
