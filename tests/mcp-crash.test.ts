import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createChatClient, ofType } from "./support/chat-client";
import { createTestDatabase, databaseKinds, type TestDatabase } from "./support/database";
import { startTestMcpServer, type TestMcpServer } from "./support/mcp-server";
import { startServerProcess, type ServerProcess } from "./support/server-process";
import { eventually, textOf, userMessage } from "./support/tether";

const TOKEN = `mcp-secret-${randomBytes(12).toString("hex")}`;
const SLOW_MS = 2_000;

// Invariant 17: a side-effect tool runs at most once per tool call; a crash that leaves its outcome unknown is
// told to the model instead of a second call. An idempotent tool is simply called again.
describe.each(databaseKinds())("an MCP tool call in flight when the server is killed (%s world)", (kind) => {
  let dataDir: string;
  let database: TestDatabase | undefined;
  let environment: Record<string, string>;
  let server: ServerProcess | undefined;
  let mcp: TestMcpServer;
  const client = createChatClient(() => server!.baseUrl, { settleMs: 60_000 });

  beforeAll(async () => {
    mcp = await startTestMcpServer({ token: TOKEN, slowMs: SLOW_MS });
    dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-mcp-crash-"));
    environment = { TETHER_DATA_DIR: dataDir, TETHER_CREDENTIAL_NOTES_TOKEN: TOKEN };
    if (kind === "postgres") {
      database = await createTestDatabase("postgres");
      await database.handle.close();
      environment.DATABASE_URL = database.url!;
    }
    server = await startServerProcess(environment);
    const headers = { Authorization: { credential: "NOTES_TOKEN", prefix: "Bearer " } };
    const registered = await client.request("/api/tool-servers", { json: { id: "notes", name: "Notes", url: mcp.url, headers } });
    expect(registered.status).toBe(201);
    // Run without asking: the call goes out as soon as the model made it.
    const approvals = { slow_record: "never", slow_touch: "never" };
    expect((await client.request("/api/tool-servers/notes", { method: "PATCH", json: { approvals } })).status).toBe(200);
    const agent = { id: "noter", name: "Noter", model: "demo", tools: ["notes:*"], executionMode: "durable" };
    expect((await client.request("/api/agents", { json: agent })).status).toBe(201);
  });
  afterEach(() => {
    if (server && process.env.TEST_SHOW_SERVER_OUTPUT) console.log(server.output());
  });
  afterAll(async () => {
    await server?.stop();
    await mcp?.stop();
    await database?.dispose().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts a turn that calls `toolName`, kills the server while the call is in flight, and restarts it. */
  async function crashDuringCall(conversationId: string, toolName: string, note: string): Promise<string> {
    const calls = mcp.calls(toolName);
    const response = await fetch(`${server!.baseUrl}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: conversationId, agentId: "noter", messages: [userMessage(`use notes__${toolName} with {"note":"${note}"}`)] }),
    });
    expect(response.status).toBe(200);
    const executionId = response.headers.get("x-execution-id")!;
    void response.text().catch(() => undefined);
    await eventually(async () => expect(mcp.calls(toolName)).toBe(calls + 1), 20_000);
    await server!.crash();
    server = await startServerProcess(environment);
    return executionId;
  }

  it("a side-effect tool is not called again: the model is told its outcome is unknown, and the run completes", async () => {
    const before = mcp.calls("slow_record");
    const executionId = await crashDuringCall(`crash-record-${kind}`, "slow_record", "pay invoice");
    await client.settled(executionId, "completed");
    // A second call would have had to answer before the run could complete: counted on arrival, it would show.
    expect(mcp.calls("slow_record")).toBe(before + 1);
    const replay = await client.streamChunks(`/api/executions/${executionId}/stream`);
    const [unknown] = ofType(replay, "tool-output-error");
    expect(unknown!.errorText).toMatch(/outcome of this call is unknown/);
    expect(ofType(replay, "tool-output-available")).toEqual([]);
    expect(textOf(replay)).toMatch(/^notes__slow_record failed: .*outcome of this call is unknown/);
    expect(replay.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "completed" } });
  });

  it("an idempotent tool is called again after the restart, and its answer reaches the model", async () => {
    const before = mcp.calls("slow_touch");
    const executionId = await crashDuringCall(`crash-touch-${kind}`, "slow_touch", "warm cache");
    await client.settled(executionId, "completed");
    expect(mcp.calls("slow_touch")).toBe(before + 2);
    const replay = await client.streamChunks(`/api/executions/${executionId}/stream`);
    expect(ofType(replay, "tool-output-error")).toEqual([]);
    expect(ofType(replay, "tool-output-available")).toHaveLength(1);
    expect(textOf(replay)).toMatch(/^notes__slow_touch returned .*slow_touch done: warm cache/);
  });
});
