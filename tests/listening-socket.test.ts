import { mkdtempSync, rmSync } from "node:fs";
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

describe("the server keeps an idle connection open for longer than a refusal asks clients to wait", () => {
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

  it("answers a request sent after the longest Retry-After (5 s) on the same connection", async () => {
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
