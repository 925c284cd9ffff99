import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "./support/database";
import {
  chunksOf,
  eventually,
  parseSse,
  readSse,
  startTestTether,
  textOf,
  userMessage,
  type SseEvent,
  type TestTether,
} from "./support/tether";
import { ISO, expectError, expectInvalid, type ExecutionBody as Execution } from "./support/assertions";


const EMAIL = { to: "a@example.com", subject: "s", body: "b" };
const SEND_EMAIL = `use send_email with ${JSON.stringify(EMAIL)}`;

function expectWellFramed(events: SseEvent[]) {
  expect(events.length).toBeGreaterThan(1);
  expect(events.at(-1)).toEqual({ id: undefined, data: "[DONE]" });
  for (const event of events.slice(0, -1)) expect(event.id).toMatch(/^\d+\.\d+$/);
}

/** Reads the first events of an SSE body, leaving the rest to be read later. */
async function firstEvents(response: Response, count: number) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let raw = "";
  for (;;) {
    const events = parseSse(raw.slice(0, raw.lastIndexOf("\n\n") + 2));
    if (events.length >= count) {
      return { events, rest: async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return parseSse(raw);
          raw += decoder.decode(value, { stream: true });
        }
      } };
    }
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended after ${events.length} events`);
    raw += decoder.decode(value, { stream: true });
  }
}

describe.each(databaseKinds())("execution and conversation routes on %s", (kind) => {
  let t: TestTether;
  let sequence = 0;
  const newConversation = (prefix = "conv-ex") => `${prefix}-${++sequence}`;

  beforeAll(async () => {
    t = await startTestTether(kind);
    for (const [id, model] of [
      ["slow", "demo:30"],
      ["second", "demo"],
    ]) {
      expect((await t.request("/api/agents", { json: { id, name: id, model, tools: ["send_email"] } })).status).toBe(
        201,
      );
    }
  });
  afterAll(async () => {
    await t?.dispose();
  });

  async function getExecution(executionId: string): Promise<Execution> {
    const response = await t.request(`/api/executions/${executionId}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Execution;
  }

  const untilStatus = (executionId: string, status: string) =>
    eventually(async () => {
      const execution = await getExecution(executionId);
      expect(execution.status).toBe(status);
      return execution;
    });

  /** One chat turn read to its end; answers its execution once it reached `status`. */
  async function turn(conversationId: string, text: string, agentId = "assistant", status = "completed") {
    const response = await t.request("/api/chat", {
      json: { id: conversationId, agentId, messages: [userMessage(text)] },
    });
    expect(response.status).toBe(200);
    const events = await readSse(response);
    const executionId = response.headers.get("x-execution-id")!;
    const execution = await untilStatus(executionId, status);
    return { execution, events, chunks: chunksOf(events) };
  }

  /** A slow run that is certainly still going (its first events have arrived). */
  async function runningExecution() {
    const conversationId = newConversation("conv-slow");
    const response = await t.request("/api/chat", {
      json: { id: conversationId, agentId: "slow", messages: [userMessage("count to 500")] },
    });
    expect(response.status).toBe(200);
    const stream = await firstEvents(response, 3);
    return { conversationId, executionId: response.headers.get("x-execution-id")!, stream };
  }

  async function list(query: string) {
    const response = await t.request(`/api/executions${query}`);
    expect(response.status).toBe(200);
    return (await response.json()) as { executions: Execution[]; nextCursor: string | null };
  }

  describe("GET /api/executions", () => {
    let convA: string;
    let convB: string;
    const idsA: string[] = [];
    let idB: string;
    let failedId: string;

    beforeAll(async () => {
      convA = newConversation("list-a");
      convB = newConversation("list-b");
      for (const text of ["one", "two", "three"]) idsA.push((await turn(convA, text)).execution.id);
      idB = (await turn(convB, "hello", "second")).execution.id;
      failedId = (await turn(newConversation("list-fail"), "fail", "assistant", "failed")).execution.id;
    });

    it("filters by conversationId, newest first", async () => {
      const { executions, nextCursor } = await list(`?conversationId=${convA}`);
      expect(executions.map((e) => e.id)).toEqual([...idsA].reverse());
      expect(executions.every((e) => e.conversationId === convA)).toBe(true);
      expect(nextCursor).toBeNull();
    });

    it("filters by agentId", async () => {
      const { executions } = await list("?agentId=second");
      expect(executions.map((e) => e.id)).toContain(idB);
      expect(executions.every((e) => e.agentId === "second")).toBe(true);
      expect(executions.some((e) => idsA.includes(e.id))).toBe(false);
    });

    it("filters by status", async () => {
      const failed = await list("?status=failed");
      expect(failed.executions.map((e) => e.id)).toContain(failedId);
      expect(failed.executions.every((e) => e.status === "failed")).toBe(true);
      const completed = await list("?status=completed&limit=200");
      expect(completed.executions.map((e) => e.id)).toEqual(expect.arrayContaining([...idsA, idB]));
      expect(completed.executions.map((e) => e.id)).not.toContain(failedId);
    });

    it("filters by mode", async () => {
      const classic = await list(`?mode=classic&conversationId=${convA}`);
      expect(classic.executions.map((e) => e.id).sort()).toEqual([...idsA].sort());
      const durable = await list(`?mode=durable&conversationId=${convA}`);
      expect(durable.executions).toEqual([]);
    });

    it("pages with limit and cursor: every execution once, in order, then nextCursor null", async () => {
      const all = await list("?limit=200");
      expect(all.executions.length).toBeGreaterThanOrEqual(5);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await list(`?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        expect(page.executions.length).toBeLessThanOrEqual(2);
        seen.push(...page.executions.map((e) => e.id));
        cursor = page.nextCursor;
        pages += 1;
        expect(pages).toBeLessThan(100);
      } while (cursor);
      expect(seen).toEqual(all.executions.map((e) => e.id));
      expect(pages).toBe(Math.ceil(all.executions.length / 2));
    });

    it("answers each execution with pendingApprovals", async () => {
      const { executions } = await list(`?conversationId=${convA}&limit=1`);
      expect(executions).toHaveLength(1);
      expect(executions[0]).toMatchObject({ id: idsA.at(-1), pendingApprovals: [] });
    });

    it.each([
      ["a bad status", "?status=sleeping", /status/],
      ["a bad mode", "?mode=turbo", /mode/],
      ["limit 0", "?limit=0", /limit/],
      ["a non-numeric limit", "?limit=ten", /limit/],
      ["a limit over the maximum", "?limit=100000", /limit/],
    ])("answers 400 for %s", async (_label, query, field) => {
      await expectInvalid(await t.request(`/api/executions${query}`), field);
    });

    it("answers 400 for a cursor it never gave out", async () => {
      await expectInvalid(await t.request("/api/executions?cursor=not-a-cursor"), /cursor/);
    });
  });

  describe("GET /api/executions/:id", () => {
    it("answers 200 with the Execution shape of docs/api.md", async () => {
      const conversationId = newConversation();
      const { execution } = await turn(conversationId, "shape please");
      expect(execution).toEqual({
        id: expect.any(String),
        mode: "classic",
        status: "completed",
        agentId: "assistant",
        conversationId,
        pendingApprovals: [],
        metadata: expect.any(Object),
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
        completedAt: expect.stringMatching(ISO),
      });
      expect(Array.isArray(execution.metadata)).toBe(false);
      expect(Date.parse(execution.completedAt!)).toBeGreaterThanOrEqual(Date.parse(execution.createdAt));
    });

    it("records a failed run with its error", async () => {
      const { execution } = await turn(newConversation(), "fail", "assistant", "failed");
      expect(execution).toMatchObject({ status: "failed", error: expect.any(String) });
      expect(execution.completedAt).toMatch(ISO);
    });

    it("answers 404 for an unknown execution", async () => {
      await expectError(await t.request("/api/executions/ex_nope"), 404, "not_found", /ex_nope/);
    });
  });

  describe("GET /api/executions/:id/stream", () => {
    it("replays a finished classic run: same events, ends with data-terminal then [DONE]", async () => {
      const conversationId = newConversation();
      const { execution, events } = await turn(conversationId, "count to 7");
      const response = await t.request(`/api/executions/${execution.id}/stream`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
      expect(response.headers.get("x-accel-buffering")).toBe("no");
      expect(response.headers.get("x-execution-id")).toBe(execution.id);
      expect(response.headers.get("x-conversation-id")).toBe(conversationId);
      expect(response.headers.get("x-execution-mode")).toBe("classic");
      const replay = await readSse(response);
      expectWellFramed(replay);
      expect(replay).toEqual(events);
      const chunks = chunksOf(replay);
      expect(chunks[0]?.type).toBe("start");
      expect(chunks.at(-1)).toEqual({ type: "data-terminal", data: { reason: "completed" }, transient: true });
      expect(textOf(chunks)).toBe("1 2 3 4 5 6 7");

      const offset = replay[4]!.id!;
      const after = await readSse(await t.request(`/api/executions/${execution.id}/stream?offset=${offset}`));
      expect(after).toEqual(replay.slice(5));
      const afterHeader = await readSse(
        await t.request(`/api/executions/${execution.id}/stream`, { headers: { "last-event-id": offset } }),
      );
      expect(afterHeader).toEqual(replay.slice(5));
    });

    it("answers 400 for a malformed offset", async () => {
      const { execution } = await turn(newConversation(), "hi");
      const error = await expectError(
        await t.request(`/api/executions/${execution.id}/stream?offset=nope`),
        400,
        "invalid_input",
        /offset/i,
      );
      expect(error.field).toMatch(/offset/);
    });

    it("answers 404 for an unknown execution", async () => {
      await expectError(await t.request("/api/executions/ex_ghost/stream"), 404, "not_found", /ex_ghost/);
    });
  });

  describe("POST /api/executions/:id/approvals/:toolCallId", () => {
    let conversationId: string;
    let suspended: Execution;
    let toolCallId: string;
    let chunks: Array<Record<string, unknown> & { type: string }>;

    beforeAll(async () => {
      conversationId = newConversation("approve");
      const started = await turn(conversationId, SEND_EMAIL, "assistant", "suspended");
      suspended = started.execution;
      chunks = started.chunks;
      toolCallId = suspended.pendingApprovals[0]?.toolCallId ?? "";
    });

    it("suspends the execution with one pending approval, announced on the stream and persisted", async () => {
      expect(suspended.status).toBe("suspended");
      expect(suspended.pendingApprovals).toEqual([
        { toolCallId: expect.any(String), toolName: "send_email", input: EMAIL, requestedAt: expect.stringMatching(ISO) },
      ]);
      expect(chunks).toContainEqual(expect.objectContaining({ type: "tool-approval-request", toolCallId }));
      expect(chunks.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "suspended" } });
      // Nothing streams while the turn waits for its answer.
      expect((await t.request(`/api/chat/${conversationId}/stream`)).status).toBe(204);

      const conversation = (await (await t.request(`/api/conversations/${conversationId}`)).json()) as {
        activeExecutionId: string | null;
        messages: Array<{ role: string; parts: Array<Record<string, unknown>> }>;
      };
      expect(conversation.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
      expect(conversation.messages[1]!.parts).toContainEqual(
        expect.objectContaining({ type: "tool-send_email", toolCallId, state: "approval-requested" }),
      );
      expect(conversation.activeExecutionId).toBe(suspended.id);
    });

    it.each([
      ["a missing decision", {}],
      ["a non-boolean decision", { approved: "yes" }],
      ["an extra field", { approved: true, by: "me" }],
    ])("answers 400 for %s", async (_label, json) => {
      const response = await t.request(`/api/executions/${suspended.id}/approvals/${toolCallId}`, { json });
      const error = await expectError(response, 400, "invalid_input");
      expect(`${error.field} ${error.message}`).toMatch(/approved|by/);
      expect((await getExecution(suspended.id)).pendingApprovals).toHaveLength(1);
    });

    it("answers 404 for an unknown tool call and for an unknown execution", async () => {
      await expectError(
        await t.request(`/api/executions/${suspended.id}/approvals/call_unknown`, { json: { approved: true } }),
        404,
        "not_found",
        /call_unknown/,
      );
      await expectError(
        await t.request(`/api/executions/ex_missing/approvals/${toolCallId}`, { json: { approved: true } }),
        404,
        "not_found",
        /ex_missing/,
      );
      expect((await getExecution(suspended.id)).pendingApprovals).toHaveLength(1);
    });

    it("answers 200 for the decision, 200 for the same again, 409 for a different one; the tool runs once", async () => {
      const path = `/api/executions/${suspended.id}/approvals/${toolCallId}`;
      const first = await t.request(path, { json: { approved: true, reason: "fine" } });
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ toolCallId, status: "approved" });

      const again = await t.request(path, { json: { approved: true } });
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ toolCallId, status: "approved" });

      await expectError(await t.request(path, { json: { approved: false } }), 409, "conflict", /approved/);

      // The run continues server-side and completes.
      await eventually(async () => {
        const { executions } = await list(`?conversationId=${conversationId}`);
        expect(executions.map((e) => e.status)).toEqual(["completed", "completed"]);
      });
      expect((await getExecution(suspended.id)).pendingApprovals).toEqual([]);
      const outbox = await t.request("/api/outbox");
      expect(outbox.status).toBe(200);
      const { messages } = (await outbox.json()) as { messages: Array<Record<string, unknown>> };
      expect(messages.filter((m) => m.toolCallId === toolCallId)).toEqual([
        {
          messageId: expect.any(String),
          toolCallId,
          executionId: expect.any(String),
          ...EMAIL,
          sentAt: expect.stringMatching(ISO),
        },
      ]);
    });

    it("records a denial as denied (200) and never runs the tool", async () => {
      const denyConversation = newConversation("deny");
      const { execution } = await turn(denyConversation, SEND_EMAIL, "assistant", "suspended");
      const callId = execution.pendingApprovals[0]!.toolCallId;
      const response = await t.request(`/api/executions/${execution.id}/approvals/${callId}`, {
        json: { approved: false, reason: "no" },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ toolCallId: callId, status: "denied" });
      await eventually(async () => {
        const { executions } = await list(`?conversationId=${denyConversation}`);
        expect(executions.map((e) => e.status)).toEqual(["completed", "completed"]);
      });
      const { messages } = (await (await t.request("/api/outbox")).json()) as { messages: Array<{ toolCallId: string }> };
      expect(messages.map((m) => m.toolCallId)).not.toContain(callId);
    });
  });

  describe("POST /api/executions/:id/cancel", () => {
    it("answers 200 with the Execution, status cancelled, for a running execution; its stream ends", async () => {
      const { executionId, stream } = await runningExecution();
      const response = await t.request(`/api/executions/${executionId}/cancel`, { method: "POST" });
      expect(response.status).toBe(200);
      const body = (await response.json()) as Execution;
      expect(body).toMatchObject({ id: executionId, status: "cancelled", pendingApprovals: [] });
      expect(body.completedAt).toMatch(ISO);
      expect((await getExecution(executionId)).status).toBe("cancelled");
      const events = await stream.rest();
      expectWellFramed(events);
      expect(chunksOf(events).at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "cancelled" } });
    });

    it("answers 200 for a suspended execution and expires its pending approvals", async () => {
      const { execution } = await turn(newConversation(), SEND_EMAIL, "assistant", "suspended");
      const response = await t.request(`/api/executions/${execution.id}/cancel`, { method: "POST" });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id: execution.id, status: "cancelled", pendingApprovals: [] });
    });

    it("answers 409 for a finished execution and leaves it as it was", async () => {
      const { execution } = await turn(newConversation(), "done already");
      await expectError(
        await t.request(`/api/executions/${execution.id}/cancel`, { method: "POST" }),
        409,
        "conflict",
        /completed/,
      );
      expect((await getExecution(execution.id)).status).toBe("completed");
    });

    it("answers 404 for an unknown execution", async () => {
      await expectError(await t.request("/api/executions/ex_void/cancel", { method: "POST" }), 404, "not_found", /ex_void/);
    });
  });

  describe("conversations", () => {
    let first: string;
    let second: string;

    beforeAll(async () => {
      first = newConversation("talk");
      second = newConversation("talk");
      await turn(first, "hello assistant");
      await turn(second, "hello second", "second");
    });

    it("GET /api/conversations lists conversations with their summary", async () => {
      const response = await t.request("/api/conversations");
      expect(response.status).toBe(200);
      const { conversations } = (await response.json()) as { conversations: Array<Record<string, unknown>> };
      expect(conversations.map((c) => c.id)).toEqual(expect.arrayContaining([first, second]));
      expect(conversations.find((c) => c.id === first)).toEqual({
        id: first,
        agentId: "assistant",
        title: expect.any(String),
        updatedAt: expect.stringMatching(ISO),
        activeExecutionId: null,
      });
    });

    it("GET /api/conversations?agentId= lists only that agent's conversations", async () => {
      const response = await t.request("/api/conversations?agentId=second");
      expect(response.status).toBe(200);
      const { conversations } = (await response.json()) as { conversations: Array<{ id: string; agentId: string }> };
      expect(conversations.map((c) => c.id)).toContain(second);
      expect(conversations.map((c) => c.id)).not.toContain(first);
      expect(conversations.every((c) => c.agentId === "second")).toBe(true);
    });

    it("GET /api/conversations shows the active execution of a running conversation", async () => {
      const { conversationId, executionId, stream } = await runningExecution();
      const { conversations } = (await (await t.request("/api/conversations?agentId=slow")).json()) as {
        conversations: Array<{ id: string; activeExecutionId: string | null }>;
      };
      expect(conversations.find((c) => c.id === conversationId)?.activeExecutionId).toBe(executionId);
      expect((await t.request(`/api/chat/${conversationId}/stop`, { method: "POST" })).status).toBe(200);
      await stream.rest();
    });

    it("GET /api/conversations/:id answers the messages as persisted (user + assistant)", async () => {
      const response = await t.request(`/api/conversations/${first}`);
      expect(response.status).toBe(200);
      const conversation = (await response.json()) as {
        id: string;
        agentId: string;
        activeExecutionId: string | null;
        messages: Array<{ id: string; role: string; parts: Array<{ type: string; text?: string }> }>;
      };
      expect(conversation).toMatchObject({ id: first, agentId: "assistant", activeExecutionId: null });
      expect(conversation.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
      const text = (index: number) =>
        conversation.messages[index]!.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
      expect(text(0)).toBe("hello assistant");
      expect(text(1)).toBe("You said: hello assistant");
      expect(conversation.messages.every((m) => typeof m.id === "string" && m.id.length > 0)).toBe(true);
    });

    it("GET /api/conversations/:id answers 404 for an unknown conversation", async () => {
      await expectError(await t.request("/api/conversations/nobody-here"), 404, "not_found", /nobody-here/);
    });
  });
});
