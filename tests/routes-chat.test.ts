import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "./support/database";
import {
  chunksOf,
  compareOffsets,
  countText,
  eventually,
  readSse,
  readSseIncrementally,
  startTestTether,
  textOf,
  userMessage,
  type SseEvent,
  type TestTether,
} from "./support/tether";
import { expectError, expectInvalid } from "./support/assertions";
import { executionReader, settled } from "./support/executions";

/** The SSE headers every stream response carries (docs/api.md § Streams). */
function expectStreamHeaders(response: Response, expected: { conversationId: string; executionId?: string }) {
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  expect(response.headers.get("cache-control")).toBe("no-cache");
  expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
  expect(response.headers.get("x-accel-buffering")).toBe("no");
  expect(response.headers.get("x-conversation-id")).toBe(expected.conversationId);
  expect(response.headers.get("x-execution-id")).toMatch(/\S/);
  if (expected.executionId) expect(response.headers.get("x-execution-id")).toBe(expected.executionId);
  expect(response.headers.get("x-execution-mode")).toBe("classic");
}

/** Every event but the last has an `id:`; the ids strictly increase; the body ends with `data: [DONE]`. */
function expectWellFramed(events: SseEvent[]) {
  expect(events.length).toBeGreaterThan(1);
  expect(events.at(-1)).toEqual({ id: undefined, data: "[DONE]" });
  const ids = events.slice(0, -1).map((event) => event.id);
  for (const id of ids) expect(id).toMatch(/^\d+\.\d+$/);
  for (let i = 1; i < ids.length; i++) expect(compareOffsets(ids[i]!, ids[i - 1]!)).toBeGreaterThan(0);
}

describe.each(databaseKinds())("chat routes on %s", (kind) => {
  let t: TestTether;
  let sequence = 0;
  const newConversation = () => `conv-chat-${++sequence}`;

  beforeAll(async () => {
    t = await startTestTether(kind);
    for (const [id, model] of [
      ["slow", "demo:30"],
      ["other", "demo"],
    ]) {
      const created = await t.request("/api/agents", { json: { id, name: id, model } });
      expect(created.status).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const postChat = (conversationId: string, text: string, agentId = "assistant") =>
    t.request("/api/chat", { json: { id: conversationId, agentId, messages: [userMessage(text)] } });

  const execution = executionReader((pathname) => t.request(pathname));

  /** Starts a slow run and reads its first `events` events; answers the rest of its stream. */
  async function startSlowRun(conversationId: string, count: number, events = 3) {
    const response = await postChat(conversationId, `count to ${count}`, "slow");
    expectStreamHeaders(response, { conversationId });
    const executionId = response.headers.get("x-execution-id")!;
    const stream = readSseIncrementally(response);
    const first = await stream.take(events);
    return { executionId, stream, first };
  }

  describe("POST /api/chat", () => {
    it("answers 200 with the UI message stream: SSE headers, an id on every event, ends with [DONE]", async () => {
      const conversationId = newConversation();
      const response = await postChat(conversationId, "hello there");
      expectStreamHeaders(response, { conversationId });
      const events = await readSse(response);
      expectWellFramed(events);
      const chunks = chunksOf(events);
      expect(chunks[0]?.type).toBe("start");
      expect(textOf(chunks)).toBe("You said: hello there");
      expect(chunks.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "completed" } });

      const executionId = response.headers.get("x-execution-id")!;
      await settled(execution, executionId, "completed");
      expect(await execution(executionId)).toMatchObject({ conversationId, agentId: "assistant", mode: "classic" });
    });

    it("streams `count to N` one number per delta", async () => {
      const events = await readSse(await postChat(newConversation(), "count to 12"));
      const deltas = chunksOf(events).filter((chunk) => chunk.type === "text-delta");
      expect(textOf(deltas)).toBe(countText(12));
      expect(deltas.length).toBeGreaterThanOrEqual(12);
    });

    it("answers 404 for an unknown agent", async () => {
      await expectError(await postChat(newConversation(), "hi", "no-such-agent"), 404, "not_found", /no-such-agent/);
    });

    it("answers 400 for an empty messages array", async () => {
      await expectInvalid(
        await t.request("/api/chat", { json: { id: newConversation(), agentId: "assistant", messages: [] } }),
        /messages/,
      );
    });

    it("answers 400 for a message with a bad role", async () => {
      const message = { ...userMessage("hi"), role: "robot" };
      await expectInvalid(
        await t.request("/api/chat", { json: { id: newConversation(), agentId: "assistant", messages: [message] } }),
        /role/,
      );
    });

    it("answers 400 naming the field for a tool part whose approval answer is missing or malformed", async () => {
      const answer = (part: Record<string, unknown>) => ({
        id: newConversation(),
        agentId: "assistant",
        messages: [
          userMessage("use send_email"),
          { id: "a1", role: "assistant", parts: [{ type: "tool-send_email", toolCallId: "call_1", input: {}, ...part }] },
        ],
      });
      await expectInvalid(
        await t.request("/api/chat", { json: answer({ state: "approval-responded" }) }),
        /messages\.1\.parts\.0\.approval/,
      );
      await expectInvalid(
        await t.request("/api/chat", { json: answer({ state: "approval-responded", approval: { id: "ap_1" } }) }),
        /messages\.1\.parts\.0\.approval\.approved/,
      );
      await expectInvalid(
        await t.request("/api/chat", { json: answer({ state: "approval-responded", approval: { id: "ap_1", approved: "yes" } }) }),
        /approved/,
      );
      await expectInvalid(
        await t.request("/api/chat", { json: answer({ state: "sideways", approval: { id: "ap_1", approved: true } }) }),
        /messages\.1\.parts\.0\.state/,
      );
      await expectInvalid(await t.request("/api/chat", { json: answer({ toolCallId: 7, state: "input-available" }) }), /toolCallId/);
    });

    it("answers 400 for a bad conversation id", async () => {
      await expectInvalid(
        await t.request("/api/chat", {
          json: { id: "not a valid id!", agentId: "assistant", messages: [userMessage("hi")] },
        }),
        /\bid\b/,
      );
    });

    it("answers 400 for a missing agentId", async () => {
      await expectInvalid(
        await t.request("/api/chat", { json: { id: newConversation(), messages: [userMessage("hi")] } }),
        /agentId/,
      );
    });

    it("answers 400 for a malformed JSON body", async () => {
      await expectError(
        await t.request("/api/chat", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: '{"id": "x", "messages": [',
        }),
        400,
        "invalid_input",
        /json/i,
      );
    });

    it("answers 409 when the conversation belongs to another agent", async () => {
      const conversationId = newConversation();
      await readSse(await postChat(conversationId, "first", "assistant"));
      await expectError(await postChat(conversationId, "second", "other"), 409, "conflict", /assistant/);
      const conversation = await (await t.request(`/api/conversations/${conversationId}`)).json();
      expect(conversation).toMatchObject({ agentId: "assistant" });
    });
  });

  describe("GET /api/chat/:conversationId/stream", () => {
    it("answers 404 for an unknown conversation", async () => {
      await expectError(await t.request("/api/chat/never-seen/stream"), 404, "not_found", /never-seen/);
    });

    it("answers 204 once the turn has completed", async () => {
      const conversationId = newConversation();
      const response = await postChat(conversationId, "hello");
      await readSse(response);
      const executionId = response.headers.get("x-execution-id")!;
      await settled(execution, executionId, "completed");
      const resumed = await t.request(`/api/chat/${conversationId}/stream`);
      expect(resumed.status).toBe(204);
      expect(await resumed.text()).toBe("");
    });

    it("answers the rest of a turn that has ended to a client that names its offset (docs/api.md § Resume)", async () => {
      const conversationId = newConversation();
      const response = await postChat(conversationId, "count to 20");
      const events = await readSse(response);
      await settled(execution, response.headers.get("x-execution-id")!, "completed");
      const chunks = chunksOf(events);
      for (const cut of [0, 7, events.length - 3]) {
        const rest = await readSse(
          await t.request(`/api/chat/${conversationId}/stream`, { headers: { "last-event-id": events[cut]!.id! } }),
        );
        expect(rest.at(-1)!.data).toBe("[DONE]");
        expect(chunksOf(rest)).toEqual(chunks.slice(cut + 1));
      }
      const query = await readSse(await t.request(`/api/chat/${conversationId}/stream?offset=${events[7]!.id!}`));
      expect(chunksOf(query)).toEqual(chunks.slice(8));
    });

    it("answers 200 while a slow run streams: from `start`, after ?offset=, after Last-Event-ID; no duplicates", async () => {
      const conversationId = newConversation();
      const count = 40;
      const { executionId, stream, first } = await startSlowRun(conversationId, count, 4);
      const offset = first[2]!.id!;
      expect(offset).toMatch(/^\d+\.\d+$/);

      const [fromStart, byQuery, byHeader] = await Promise.all([
        t.request(`/api/chat/${conversationId}/stream`),
        t.request(`/api/chat/${conversationId}/stream?offset=${encodeURIComponent(offset)}`),
        t.request(`/api/chat/${conversationId}/stream`, { headers: { "last-event-id": offset } }),
      ]);
      for (const response of [fromStart, byQuery, byHeader]) expectStreamHeaders(response, { conversationId, executionId });
      const [original, all, afterQuery, afterHeader] = await Promise.all([
        stream.rest().then((r) => r.events),
        readSse(fromStart),
        readSse(byQuery),
        readSse(byHeader),
      ]);

      for (const events of [original, all, afterQuery, afterHeader]) expectWellFramed(events);
      expect(chunksOf(all)[0]?.type).toBe("start");
      expect(all).toEqual(original);
      expect(textOf(chunksOf(original))).toBe(countText(count));

      const upToOffset = original.slice(0, 3);
      for (const resumed of [afterQuery, afterHeader]) {
        // Strictly after the offset, and nothing missing: exactly the original's remainder.
        for (const event of resumed.slice(0, -1)) expect(compareOffsets(event.id!, offset)).toBeGreaterThan(0);
        expect(resumed).toEqual(original.slice(3));
        const ids = [...upToOffset, ...resumed].flatMap((event) => (event.id ? [event.id] : []));
        expect(new Set(ids).size).toBe(ids.length);
        expect(textOf(chunksOf([...upToOffset, ...resumed]))).toBe(countText(count));
      }
      await settled(execution, executionId, "completed");
    });

    it("answers 400 for a malformed offset (query or Last-Event-ID) while a run streams", async () => {
      const conversationId = newConversation();
      const { executionId, stream } = await startSlowRun(conversationId, 200, 2);
      try {
        for (const response of [
          await t.request(`/api/chat/${conversationId}/stream?offset=banana`),
          await t.request(`/api/chat/${conversationId}/stream?offset=-1.2`),
          await t.request(`/api/chat/${conversationId}/stream`, { headers: { "last-event-id": "0.x" } }),
        ]) {
          const error = await expectError(response, 400, "invalid_input", /offset/i);
          expect(error.field).toMatch(/offset/);
        }
        // An offset beyond the last event is not one the server ever sent.
        await expectError(
          await t.request(`/api/chat/${conversationId}/stream?offset=0.999999`),
          400,
          "invalid_input",
          /offset/i,
        );
      } finally {
        const stopped = await t.request(`/api/chat/${conversationId}/stop`, { method: "POST" });
        expect(stopped.status).toBe(200);
        await stream.rest();
      }
      await settled(execution, executionId, "cancelled");
    });
  });

  describe("POST /api/chat/:conversationId/stop", () => {
    it("answers 200 {executionId, status: cancelled} while a run is going, and the stream ends", async () => {
      const conversationId = newConversation();
      const { executionId, stream } = await startSlowRun(conversationId, 500, 3);

      const response = await t.request(`/api/chat/${conversationId}/stop`, { method: "POST" });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ executionId, status: "cancelled" });

      const { events } = await stream.rest();
      expectWellFramed(events);
      expect(chunksOf(events).at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "cancelled" } });
      expect(textOf(chunksOf(events)).length).toBeLessThan(countText(500).length);
      await settled(execution, executionId, "cancelled");
      expect((await t.request(`/api/chat/${conversationId}/stream`)).status).toBe(204);
    });

    it("answers 204 when nothing runs", async () => {
      const conversationId = newConversation();
      const started = await postChat(conversationId, "hello");
      await readSse(started);
      const executionId = started.headers.get("x-execution-id")!;
      await settled(execution, executionId, "completed");
      const response = await t.request(`/api/chat/${conversationId}/stop`, { method: "POST" });
      expect(response.status).toBe(204);
      expect(await response.text()).toBe("");
      expect((await execution(executionId)).status).toBe("completed");
    });

    it("answers 404 for an unknown conversation", async () => {
      await expectError(await t.request("/api/chat/ghost-conv/stop", { method: "POST" }), 404, "not_found", /ghost-conv/);
    });
  });
});

describe.each(databaseKinds())("chat body limit on %s", (kind) => {
  let t: TestTether;

  beforeAll(async () => {
    t = await startTestTether(kind, { TETHER_MAX_BODY_BYTES: "2048" });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("answers 413 with the JSON error body for a body over TETHER_MAX_BODY_BYTES", async () => {
    const response = await t.request("/api/chat", {
      json: { id: "too-big", agentId: "assistant", messages: [userMessage("x".repeat(4000))] },
    });
    await expectError(response, 413, "payload_too_large", /2048/);
    expect((await t.request("/api/conversations/too-big")).status).toBe(404);
  });

  it("still accepts a body under the limit", async () => {
    const response = await t.request("/api/chat", {
      json: { id: "small-enough", agentId: "assistant", messages: [userMessage("hi")] },
    });
    expect(response.status).toBe(200);
    expect(textOf(chunksOf(await readSse(response)))).toBe("You said: hi");
  });
});

describe.each(databaseKinds())("stream keep-alive on %s", (kind) => {
  let t: TestTether;

  beforeAll(async () => {
    t = await startTestTether(kind, {}, { keepAliveMs: 30 });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("sends a `: ping` comment while the stream is idle", async () => {
    const created = await t.request("/api/agents", { json: { id: "sleepy", name: "Sleepy", model: "demo:150" } });
    expect(created.status).toBe(201);
    const response = await t.request("/api/chat", {
      json: { id: "pinged", agentId: "sleepy", messages: [userMessage("count to 3")] },
    });
    expect(response.status).toBe(200);
    const { raw, events } = await readSseIncrementally(response).rest();
    expect(raw).toMatch(/(^|\n\n): ping\n\n/);
    expectWellFramed(events);
    expect(textOf(chunksOf(events))).toBe(countText(3));
  });
});

describe.each(databaseKinds())("resuming an ended classic turn whose buffer expired, on %s", (kind) => {
  let t: TestTether;

  beforeAll(async () => {
    t = await startTestTether(kind, { TETHER_STREAM_EXPIRE_AFTER: "200ms" });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("answers 410 for an offset once the buffer is gone, and still 204 without one", async () => {
    const response = await t.request("/api/chat", {
      json: { id: "expiring", agentId: "assistant", messages: [userMessage("count to 5")] },
    });
    const events = await readSse(response);
    const offset = events[2]!.id!;
    await eventually(async () => {
      const resumed = await t.request(`/api/chat/expiring/stream`, { headers: { "last-event-id": offset } });
      await expectError(resumed, 410, "gone", /expired/);
    });
    expect((await t.request(`/api/chat/expiring/stream`)).status).toBe(204);
  });
});
