import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executionReader, settled } from "./support/executions";
import { startServerProcess, type ServerProcess } from "./support/server-process";
import { chunksOf, countText, eventually, parseSse, readUntil, textOf, userMessage } from "./support/tether";

describe("graceful shutdown", () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-shutdown-"));
    server = await startServerProcess({ TETHER_DATA_DIR: dataDir });
    for (const [id, mode] of [["slow-classic", "classic"], ["slow-durable", "durable"]] as const) {
      await fetch(`${server.baseUrl}/api/agents`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id, name: id, model: "demo:20", executionMode: mode }),
      });
    }
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const chat = (baseUrl: string, conversationId: string, agentId: string, text: string) =>
    fetch(`${baseUrl}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: conversationId, agentId, messages: [userMessage(text)] }),
    });

  it("ends a classic reader with `cancelled` and a durable one with [DONE] only on SIGTERM; the durable run finishes after the restart", async () => {
    const classic = await chat(server.baseUrl, "shutdown-classic", "slow-classic", "count to 3000");
    const classicId = classic.headers.get("x-execution-id")!;
    const durable = await chat(server.baseUrl, "shutdown-durable", "slow-durable", "count to 150");
    const durableId = durable.headers.get("x-execution-id")!;
    const classicRead = await readUntil(classic, '"delta":" 10"');
    const durableRead = await readUntil(durable, '"delta":" 10"');

    const exitCode = await server.stop();
    const [classicBody, durableBody] = await Promise.all([classicRead.rest(), durableRead.rest()]);
    // Restarted before any assertion: the next test needs a server even when one here fails.
    server = await startServerProcess({ TETHER_DATA_DIR: dataDir });
    expect(exitCode).toBe(0);
    // docs/design.md invariant 7: every chat response ends with [DONE].
    const classicEvents = parseSse(classicBody);
    const durableEvents = parseSse(durableBody);
    for (const events of [classicEvents, durableEvents]) expect(events.at(-1)).toEqual({ id: undefined, data: "[DONE]" });
    // The classic turn dies with the process (invariant 3: its readers learn how it ended).
    expect(chunksOf(classicEvents).at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "cancelled" } });
    // The durable run has not ended: no terminal event claims it did; its reader resumes after the restart.
    expect(chunksOf(durableEvents).some((chunk) => chunk.type === "data-terminal" || chunk.type === "finish")).toBe(false);

    const execution = executionReader((pathname) => fetch(`${server.baseUrl}${pathname}`));
    expect((await execution(classicId)).status).toBe("cancelled");
    const lastSeen = durableEvents.findLast((event) => event.id !== undefined)!.id!;
    const resumed = parseSse(
      await (await fetch(`${server.baseUrl}/api/chat/shutdown-durable/stream`, { headers: { "last-event-id": lastSeen } })).text(),
    );
    expect(resumed.at(-1)).toEqual({ id: undefined, data: "[DONE]" });
    expect(chunksOf(resumed).at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "completed" } });
    // What the reader had before the shutdown and what it resumed make the whole answer, once.
    expect(textOf([...chunksOf(durableEvents), ...chunksOf(resumed)])).toBe(countText(150));
    await settled(execution, durableId, "completed", 60_000);
    const replay = chunksOf(parseSse(await (await fetch(`${server.baseUrl}/api/executions/${durableId}/stream`)).text()));
    expect(textOf(replay)).toBe(countText(150));
  });

  it("exits at once on a second signal", async () => {
    // A request whose body never finishes keeps the graceful path waiting for its connection.
    const { port } = new URL(server.baseUrl);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    socket.on("error", () => undefined);
    // A full round trip on another connection: the server has accepted the stalled one by now.
    expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);

    const exited = server.signal("SIGTERM");
    await eventually(async () => expect(server.output()).toContain("shutting down"));
    const started = Date.now();
    server.signal("SIGINT");
    expect(await exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.output()).toContain("second signal");
    socket.destroy();
    server = await startServerProcess({ TETHER_DATA_DIR: dataDir });
  });
});
