import { DefaultChatTransport, type UIMessage } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finalMessage, textParts } from "./support/assertions";
import { createChatClient, ofType } from "./support/chat-client";
import { databaseKinds } from "./support/database";
import type { LoggedTether } from "./support/logged-tether";
import type { TestMcpServer } from "./support/mcp-server";
import { expectCredentialKept, expectTeaLookup, startMcpSuite, type McpSuite } from "./support/mcp-suite";
import { chunksOf, eventually, parseSse, textOf, userMessage } from "./support/tether";
import { createRepositories } from "../src/db/repositories";
import { cancelledDuringCall } from "../workflows/agent-run/steps/run-server-tool";

describe.each(databaseKinds())("MCP tools in durable runs on %s", (kind) => {
  let suite: McpSuite;
  let harness: LoggedTether;
  let mcp: TestMcpServer;
  const { seen, request, execution, settled, say, answerInMessage, streamChunks } = createChatClient(() => harness.baseUrl, {
    settleMs: 20_000,
  });
  /** The run's replay: the whole run, each chunk once. */
  const replayOf = (executionId: string) => streamChunks(`/api/executions/${executionId}/stream`);

  beforeAll(async () => {
    suite = await startMcpSuite(kind, { TETHER_APPROVAL_TIMEOUT: "60s" }, [
      { id: "noter", name: "Noter", model: "demo", tools: ["get_time", "notes:*"], executionMode: "durable" },
      { id: "stranded", name: "Stranded", model: "demo", tools: ["flaky:lookup"], executionMode: "durable" },
      { id: "classic-noter", name: "Classic", model: "demo", tools: ["notes:*"], executionMode: "classic" },
    ]);
    ({ harness, mcp } = suite);
  });
  afterAll(() => suite?.dispose());

  it("runs a read-only tool without approval in a step of its own; the chat response streams the whole turn", async () => {
    const before = { calls: mcp.calls("lookup"), sessions: mcp.sessions.opened };
    const { executionId, chunks } = await say("read-only", "noter", 'use notes__lookup with {"query":"tea"}');
    expectTeaLookup(chunks);
    // One message, started once and finished once, although two model steps and a tool step wrote it.
    expect(ofType(chunks, "start")).toHaveLength(1);
    expect(ofType(chunks, "finish")).toHaveLength(1);
    expect(chunks.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "completed" } });
    expect((await settled(executionId, "completed")).mode).toBe("durable");
    expect(mcp.calls("lookup")).toBe(before.calls + 1);
    expect(mcp.argumentsOf("lookup").at(-1)).toEqual({ query: "tea" });
    // A session to list the tools when the run started, one for the call; both ended.
    expect(mcp.sessions.opened).toBe(before.sessions + 2);
    await eventually(async () => expect(mcp.sessions.open()).toBe(0));
    expect(await replayOf(executionId)).toEqual(chunks);
    expect(mcp.rejected).toEqual([]);
  });

  it("asks before a side-effect tool; approved through the endpoint, it runs exactly once in the same run", async () => {
    const before = mcp.calls("record");
    const { executionId, chunks } = await say("approve-endpoint", "noter", 'use notes__record with {"note":"buy milk"}');
    expect(ofType(chunks, "tool-approval-request")).toHaveLength(1);
    const suspended = await settled(executionId, "suspended");
    const [pending] = suspended.pendingApprovals;
    expect(pending).toMatchObject({ toolName: "notes__record", input: { note: "buy milk" } });
    expect(mcp.calls("record")).toBe(before);

    const decisions = await Promise.all(
      [1, 2].map(() => request(`/api/executions/${executionId}/approvals/${pending!.toolCallId}`, { json: { approved: true } })),
    );
    expect(decisions.map((decision) => decision.status)).toEqual([200, 200]);
    await settled(executionId, "completed");
    const replay = await replayOf(executionId);
    expect(ofType(replay, "tool-output-available")).toHaveLength(1);
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
    expect(second.executionId).toBe(first.executionId);
    expect(ofType(second.chunks, "tool-output-available")).toHaveLength(1);
    expect(textOf(second.chunks)).toMatch(/^notes__record returned .*recorded call mum/);
    await settled(first.executionId, "completed");
    expect(mcp.calls("record")).toBe(before + 1);
  });

  it("denied, the side-effect tool never runs", async () => {
    const before = mcp.calls("record");
    const first = await say("deny", "noter", 'use notes__record with {"note":"sell house"}');
    await settled(first.executionId, "suspended");
    const second = await answerInMessage("deny", "noter", false);
    expect(ofType(second.chunks, "tool-output-available")).toEqual([]);
    expect(textOf(second.chunks)).toMatch(/^notes__record was denied/);
    await settled(first.executionId, "completed");
    expect(mcp.calls("record")).toBe(before);
    expect(mcp.argumentsOf("record")).not.toContainEqual({ note: "sell house" });
  });

  it.each([
    ["durable", "noter"],
    ["classic", "classic-noter"],
  ])("in %s mode, the AI SDK's own client approves a side-effect tool: it runs once and the answer streams", async (_mode, agentId) => {
    const chatId = `sdk-client-${agentId}`;
    const transport = new DefaultChatTransport<UIMessage>({ api: `${harness.baseUrl}/api/chat`, body: { agentId } });
    const send = async (messages: UIMessage[], message?: UIMessage) =>
      finalMessage(
        await transport.sendMessages({ chatId, messages, trigger: "submit-message", messageId: undefined, abortSignal: undefined }),
        message && structuredClone(message),
      );
    const before = mcp.calls("record");
    const user = userMessage('use notes__record with {"note":"from the client"}');
    const first = await send([user]);
    const asked = first.parts.find((part) => part.type === "tool-notes__record") as { state: string; approval?: { id: string } };
    expect(asked.state).toBe("approval-requested");
    // What addToolApprovalResponse does before the client posts the conversation again.
    const answered = {
      ...first,
      parts: first.parts.map((part) =>
        part === (asked as unknown) ? { ...part, state: "approval-responded", approval: { id: asked.approval!.id, approved: true } } : part,
      ),
    } as UIMessage;
    const second = await send([user, answered], answered);
    const done = second.parts.find((part) => part.type === "tool-notes__record") as { state: string; output?: unknown };
    expect(done.state).toBe("output-available");
    expect(JSON.stringify(done.output)).toContain("recorded from the client");
    expect(textParts(second)).toMatch(/notes__record returned .*recorded from the client/);
    expect(mcp.calls("record")).toBe(before + 1);
  });

  it.each([
    ["the call answers an error", "noter", "use notes__explode", /notes__explode returned an error: kaboom/],
    ["the call times out (TETHER_TOOL_TIMEOUT)", "noter", "use notes__hang", /notes__hang timed out after 2000 ms/],
    ["the server is down", "stranded", 'use flaky__lookup with {"query":"x"}', /cannot be reached/],
  ])("gives the model a tool error when %s, and the run completes", async (_case, agentId, prompt, expected) => {
    const { executionId, chunks } = await say(`error-${agentId}-${prompt.length}`, agentId, prompt);
    const [failure] = ofType(chunks, "tool-output-error");
    expect(failure!.errorText).toMatch(expected);
    expect(ofType(chunks, "error")).toEqual([]);
    expect(textOf(chunks)).toMatch(/failed: /);
    expect((await settled(executionId, "completed")).error).toBeUndefined();
  });

  it("a stop during a tool call stops the call, and records it as stopped, not as timed out", async () => {
    const conversationId = "stop-mid-call";
    const answering = request("/api/chat", { json: { id: conversationId, agentId: "noter", messages: [userMessage("use notes__hang")] } });
    const before = mcp.calls("hang");
    await eventually(async () => expect(mcp.calls("hang")).toBe(before + 1));
    expect((await request(`/api/chat/${conversationId}/stop`, { json: {} })).status).toBe(200);
    const answer = await answering;
    const executionId = answer.headers.get("x-execution-id")!;
    const [call] = ofType(chunksOf(parseSse(answer.text)), "tool-input-available");
    expect(chunksOf(parseSse(answer.text)).at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "cancelled" } });
    expect((await settled(executionId, "cancelled")).status).toBe("cancelled");
    // The call is stopped when the step learns of the cancel, not left to run into TETHER_TOOL_TIMEOUT.
    const toolCalls = createRepositories(harness.database.handle.db).toolCalls;
    const stopped = await eventually(async () => {
      const row = await toolCalls.find(executionId, String(call!.toolCallId));
      expect(row).toMatchObject({ status: "failed", errorText: cancelledDuringCall("notes__hang") });
      return row!;
    });
    // Within the step's cancel polling, well before the 2 s timeout would have ended the call.
    expect(new Date(stopped.finishedAt!).getTime() - new Date(stopped.startedAt).getTime()).toBeLessThan(1_500);
    await eventually(async () => expect(mcp.sessions.open()).toBe(0));
  });

  it("built-in tools keep working beside MCP tools", async () => {
    const { executionId, chunks } = await say("built-in", "noter", "use get_time");
    expect(textOf(chunks)).toMatch(/^get_time returned/);
    await settled(executionId, "completed");
  });

  it("the credential never shows in an answer, a stream or a log line", () => expectCredentialKept(seen, harness));
});
