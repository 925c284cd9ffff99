import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChatClient, ofType, type Chunk } from "./support/chat-client";
import { databaseKinds } from "./support/database";
import type { LoggedTether } from "./support/logged-tether";
import type { TestMcpServer } from "./support/mcp-server";
import { expectCredentialKept, expectTeaLookup, startMcpSuite, type McpSuite } from "./support/mcp-suite";
import { chunksOf, eventually, parseSse, textOf, userMessage } from "./support/tether";

describe.each(databaseKinds())("MCP tools in classic runs on %s", (kind) => {
  let suite: McpSuite;
  let harness: LoggedTether;
  let mcp: TestMcpServer;
  const { seen, request, execution, settled, chat, say, answerInMessage } = createChatClient(() => harness.baseUrl);

  beforeAll(async () => {
    suite = await startMcpSuite(kind, {}, [
      { id: "noter", name: "Noter", model: "demo", tools: ["get_time", "notes:*"] },
      { id: "picky", name: "Picky", model: "demo", tools: ["notes:lookup", "notes:record"] },
      { id: "stranded", name: "Stranded", model: "demo", tools: ["flaky:lookup"] },
    ]);
    ({ harness, mcp } = suite);
  });
  afterAll(() => suite?.dispose());

  it("runs a read-only tool without approval, through one session that the turn ends", async () => {
    const before = { calls: mcp.calls("lookup"), sessions: mcp.sessions.opened };
    const { executionId, chunks } = await say("read-only", "picky", 'use notes__lookup with {"query":"tea"}');
    expectTeaLookup(chunks);
    expect((await settled(executionId, "completed")).status).toBe("completed");
    expect(mcp.calls("lookup")).toBe(before.calls + 1);
    expect(mcp.argumentsOf("lookup").at(-1)).toEqual({ query: "tea" });
    // Two tools of one server, one session for the turn; it is over once the turn is.
    expect(mcp.sessions.opened).toBe(before.sessions + 1);
    await eventually(async () => expect(mcp.sessions.open()).toBe(0));
    expect(mcp.rejected).toEqual([]);
  });

  it("asks before a side-effect tool; approved through the endpoint, it runs exactly once", async () => {
    const before = mcp.calls("record");
    const { executionId, chunks } = await say("approve-endpoint", "noter", 'use notes__record with {"note":"buy milk"}');
    expect(ofType(chunks, "tool-approval-request")).toHaveLength(1);
    const suspended = await settled(executionId, "suspended");
    const [pending] = suspended.pendingApprovals;
    expect(pending).toMatchObject({ toolName: "notes__record", input: { note: "buy milk" } });
    expect(mcp.calls("record")).toBe(before);
    await eventually(async () => expect(mcp.sessions.open()).toBe(0));

    const decisions = await Promise.all(
      [1, 2].map(() => request(`/api/executions/${executionId}/approvals/${pending!.toolCallId}`, { json: { approved: true } })),
    );
    expect(decisions.map((decision) => decision.status)).toEqual([200, 200]);
    const handedOver = await eventually(async () => {
      const current = await execution(executionId);
      expect(current.metadata.continuedBy).toBeTypeOf("string");
      return current;
    });
    const continuationId = handedOver.metadata.continuedBy as string;
    await settled(continuationId, "completed");
    const replay = chunksOf(parseSse((await request(`/api/executions/${continuationId}/stream`)).text)) as Chunk[];
    expect(textOf(replay)).toMatch(/^notes__record returned .*recorded buy milk/);
    expect(mcp.calls("record")).toBe(before + 1);
    await eventually(async () => expect(mcp.sessions.open()).toBe(0));
  });

  it("approved in the message (as the AI SDK client answers), the side-effect tool runs exactly once", async () => {
    const before = mcp.calls("record");
    const first = await say("approve-message", "noter", 'use notes__record with {"note":"call mum"}');
    expect(ofType(first.chunks, "tool-approval-request")).toHaveLength(1);
    await settled(first.executionId, "suspended");
    const second = await answerInMessage("approve-message", "noter", true);
    expect(ofType(second.chunks, "tool-output-available")).toHaveLength(1);
    expect(textOf(second.chunks)).toMatch(/^notes__record returned .*recorded call mum/);
    await settled(second.executionId, "completed");
    expect(mcp.calls("record")).toBe(before + 1);
  });

  it("denied, the side-effect tool never runs", async () => {
    const before = mcp.calls("record");
    const first = await say("deny", "noter", 'use notes__record with {"note":"sell house"}');
    await settled(first.executionId, "suspended");
    const second = await answerInMessage("deny", "noter", false);
    expect(ofType(second.chunks, "tool-output-available")).toEqual([]);
    expect(textOf(second.chunks)).toMatch(/^notes__record was denied/);
    await settled(second.executionId, "completed");
    expect(mcp.calls("record")).toBe(before);
    expect(mcp.argumentsOf("record")).not.toContainEqual({ note: "sell house" });
  });

  it("gives the model a tool error when the call fails, and the run completes", async () => {
    const { executionId, chunks } = await say("explode", "noter", "use notes__explode");
    const [failure] = ofType(chunks, "tool-output-error");
    expect(failure!.errorText).toMatch(/kaboom/);
    expect(ofType(chunks, "error")).toEqual([]);
    expect(textOf(chunks)).toMatch(/^notes__explode failed: .*kaboom/);
    expect((await settled(executionId, "completed")).error).toBeUndefined();
  });

  it("gives the model a tool error when the call times out (TETHER_TOOL_TIMEOUT), and the run completes", async () => {
    const started = Date.now();
    const { executionId, chunks } = await say("timeout", "noter", "use notes__hang");
    const [failure] = ofType(chunks, "tool-output-error");
    expect(failure!.errorText).toMatch(/notes__hang timed out after 2000 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    await settled(executionId, "completed");
    await eventually(async () => expect(mcp.sessions.open()).toBe(0));
  });

  it("gives the model a tool error when the server is down, and the run completes", async () => {
    const { executionId, chunks } = await say("down", "stranded", 'use flaky__lookup with {"query":"x"}');
    const [failure] = ofType(chunks, "tool-output-error");
    expect(failure!.errorText).toMatch(/cannot be reached/);
    expect(textOf(chunks)).toMatch(/^flaky__lookup failed: .*cannot be reached/);
    await settled(executionId, "completed");
  });

  it("ends the MCP session when the turn is stopped mid-call", async () => {
    const calls = mcp.calls("hang");
    const opened = mcp.sessions.opened;
    const response = fetch(`${harness.baseUrl}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "stopped", agentId: "noter", messages: [userMessage("use notes__hang")] }),
    });
    await eventually(async () => expect(mcp.calls("hang")).toBe(calls + 1));
    expect(mcp.sessions.opened).toBe(opened + 1);
    expect(mcp.sessions.open()).toBe(1);
    const stop = await request("/api/chat/stopped/stop", { method: "POST" });
    expect(stop.status).toBe(200);
    const stoppedAt = Date.now();
    // Well before the call's own timeout (2 s): the stop ended the turn, and the turn its session.
    await eventually(async () => expect(mcp.sessions.open()).toBe(0), 1500);
    expect(Date.now() - stoppedAt).toBeLessThan(1500);
    const body = await (await response).text();
    seen.push(body);
    expect((chunksOf(parseSse(body)).at(-1) as unknown as { data: { reason: string } }).data.reason).toBe("cancelled");
    expect((await execution(stop.json<{ executionId: string }>().executionId)).status).toBe("cancelled");
  });

  it("the credential never shows in an answer, a stream or a log line", () => expectCredentialKept(seen, harness));
});
