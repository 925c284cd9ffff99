import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { ofType, type Chunk } from "./chat-client";
import type { DatabaseKind } from "../../src/db/client";
import { startLoggedTether, type LoggedTether } from "./logged-tether";
import { startTestMcpServer, type TestMcpServer } from "./mcp-server";
import { textOf } from "./tether";

/** A tool server credential, random per run: finding it anywhere Tether writes means Tether handed it on. */
export const MCP_TOKEN = `mcp-secret-${randomBytes(12).toString("hex")}`;

export interface McpSuite {
  harness: LoggedTether;
  /** The `notes` server, which the suite's agents use. */
  mcp: TestMcpServer;
  dispose(): Promise<void>;
}

/**
 * A Tether with two registered MCP servers reached with the `NOTES_TOKEN` credential as a bearer token:
 * `notes` (running) and `flaky` (stopped once registered, so calls to it find it down), then `agents`.
 */
export async function startMcpSuite(
  kind: DatabaseKind,
  environment: Record<string, string>,
  agents: Array<Record<string, unknown>>,
): Promise<McpSuite> {
  const mcp = await startTestMcpServer({ token: MCP_TOKEN });
  const flaky = await startTestMcpServer({ token: MCP_TOKEN });
  const harness = await startLoggedTether(kind, { TETHER_CREDENTIAL_NOTES_TOKEN: MCP_TOKEN, TETHER_TOOL_TIMEOUT: "2s", ...environment });
  const send = (pathname: string, init: { json: unknown }) =>
    fetch(`${harness.baseUrl}${pathname}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(init.json),
    });
  const headers = { Authorization: { credential: "NOTES_TOKEN", prefix: "Bearer " } };
  for (const [id, server] of [["notes", mcp], ["flaky", flaky]] as const) {
    expect((await send("/api/tool-servers", { json: { id, name: id, url: server.url, headers } })).status).toBe(201);
  }
  for (const agent of agents) expect((await send("/api/agents", { json: agent })).status).toBe(201);
  await flaky.stop();
  return {
    harness,
    mcp,
    async dispose() {
      await harness.dispose();
      await mcp.stop();
    },
  };
}

/** What a turn that called `notes__lookup` with `{"query":"tea"}` (no approval needed) streamed. */
export function expectTeaLookup(chunks: Chunk[]): void {
  expect(ofType(chunks, "tool-approval-request")).toEqual([]);
  expect(ofType(chunks, "tool-input-available")).toEqual([
    expect.objectContaining({ toolName: "notes__lookup", input: { query: "tea" } }),
  ]);
  const [output] = ofType(chunks, "tool-output-available");
  expect(JSON.stringify(output!.output)).toContain("found tea");
  expect(textOf(chunks)).toMatch(/^notes__lookup returned .*found tea/);
}

/** The credential shows in no answer or stream the suite saw, and in no log line. */
export function expectCredentialKept(seen: readonly string[], harness: LoggedTether): void {
  expect(seen.length).toBeGreaterThan(20);
  for (const text of seen) expect(text.includes(MCP_TOKEN), "an answer or stream holds the credential").toBe(false);
  expect(harness.logLines.length).toBeGreaterThan(20);
  for (const line of harness.logLines) expect(line.includes(MCP_TOKEN), "a log line holds the credential").toBe(false);
}
