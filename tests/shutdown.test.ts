import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "./support/server-process";
import { chunksOf, eventually, parseSse, textOf, userMessage } from "./support/tether";

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

  /** Reads a streaming body until `marker` shows up; answers the reader and what it read. */
  async function readUntil(response: Response, marker: string) {
    const reader = response.body!.getReader();
    let text = "";
    while (!text.includes(marker)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${marker}`);
      text += new TextDecoder().decode(value);
    }
    return { reader, text };
  }

  async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>, text: string) {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += new TextDecoder().decode(value);
    }
  }

  it("ends a classic stream with a terminal event on SIGTERM; a durable run finishes after the restart", async () => {
    const classic = await chat(server.baseUrl, "shutdown-classic", "slow-classic", "count to 3000");
    const classicId = classic.headers.get("x-execution-id")!;
    const durable = await chat(server.baseUrl, "shutdown-durable", "slow-durable", "count to 150");
    const durableId = durable.headers.get("x-execution-id")!;
    const classicRead = await readUntil(classic, '"delta":" 10"');
    const durableRead = await readUntil(durable, '"delta":" 10"');

    const exitCode = await server.stop();
    expect(exitCode).toBe(0);
    const classicEvents = parseSse(await readRest(classicRead.reader, classicRead.text));
    expect(classicEvents.at(-1)!.data).toBe("[DONE]");
    expect(chunksOf(classicEvents).at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "cancelled" } });
    const durableEvents = parseSse(await readRest(durableRead.reader, durableRead.text).catch(() => durableRead.text));
    expect(durableEvents.length).toBeGreaterThan(0);

    server = await startServerProcess({ TETHER_DATA_DIR: dataDir });
    const execution = async (id: string) =>
      (await (await fetch(`${server.baseUrl}/api/executions/${id}`)).json()) as { status: string };
    expect((await execution(classicId)).status).toBe("cancelled");
    await eventually(async () => expect((await execution(durableId)).status).toBe("completed"), 60_000);
    const replay = chunksOf(parseSse(await (await fetch(`${server.baseUrl}/api/executions/${durableId}/stream`)).text()));
    expect(textOf(replay)).toBe(Array.from({ length: 150 }, (_, index) => index + 1).join(" "));
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
