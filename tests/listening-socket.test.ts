import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "./support/server-process";

/** A GET on the agent's kept-alive connection; answers the status and the local port it went out from. */
function get(agent: http.Agent, url: string): Promise<{ status: number; localPort: number }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent }, (response) => {
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode!, localPort: request.socket!.localPort! }));
    });
    request.on("error", reject);
  });
}

/** The inode of the socket listening on `port` (/proc/net/tcp, state 0A), and how many descriptors of it `pid` holds. */
function listeningDescriptors(pid: number, port: number): number {
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  const line = readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .map((row) => row.trim().split(/\s+/))
    .find((fields) => fields[1]?.endsWith(`:${portHex}`) && fields[3] === "0A");
  if (!line) throw new Error(`nothing listens on port ${port}`);
  const inode = line[9];
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
    } catch {
      return false;
    }
  }).length;
}

describe("the server's listening socket", () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-keep-alive-"));
    server = await startServerProcess({ TETHER_DATA_DIR: dataDir });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.runIf(process.platform === "linux")("has 16 descriptors in the server, so a loaded loop accepts up to 16 connections per turn", async () => {
    expect(listeningDescriptors(server.pid, Number(new URL(server.baseUrl).port))).toBe(16);
    expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
  });

  it("keeps an idle connection open for longer than a refusal asks clients to wait: a request sent after the longest Retry-After (5 s) goes on the same connection", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(agent, `${server.baseUrl}/health`);
    // Node's default would have closed it after 5 s; a retry sent then raced the close and was reset.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const second = await get(agent, `${server.baseUrl}/health`);
    agent.destroy();
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.localPort).toBe(first.localPort);
  }, 30_000);
});
