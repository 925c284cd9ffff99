import { WorkflowChatTransport } from "@workflow/ai";
import type { UIMessage } from "ai";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { expectError, expectInvalid, finalMessage, textParts, type ExecutionBody } from "./support/assertions";
import { databaseKinds } from "./support/database";
import { settled } from "./support/executions";
import {
  countText,
  parseSse,
  readSse,
  startTestTether,
  userMessage,
  type SseEvent,
  type TestTether,
} from "./support/tether";

const MODES = ["classic", "durable"] as const;
type Mode = (typeof MODES)[number];

const email = 'use send_email with {"to":"ada@example.com","subject":"Hi","body":"From the transport"}';

/** One response as the transport saw it: the data events it got (up to a cut), `[DONE]` left out. */
interface Connection {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  events: SseEvent[];
}

const isChunkEvent = (event: SseEvent) => event.data !== "[DONE]";

/**
 * Passes a response body through, recording its events; with `cutAfter`, the connection drops in the middle
 * of the event after that many (a TypeError, as fetch reports a dropped socket) and the real body is cancelled.
 */
function observedBody(body: ReadableStream<Uint8Array>, events: SseEvent[], cutAfter?: number) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) return controller.close();
      pending += decoder.decode(value, { stream: true });
      let passed = "";
      for (let end = pending.indexOf("\n\n"); end !== -1; end = pending.indexOf("\n\n")) {
        const block = pending.slice(0, end + 2);
        const [event] = parseSse(block);
        if (event && isChunkEvent(event) && events.length === cutAfter) {
          controller.enqueue(encoder.encode(passed + block.slice(0, Math.floor(block.length / 2))));
          await reader.cancel();
          return controller.error(new TypeError("terminated"));
        }
        if (event && isChunkEvent(event)) events.push(event);
        passed += block;
        pending = pending.slice(end + 2);
      }
      controller.enqueue(encoder.encode(passed));
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** A fetch that records every response and drops the n-th one after `cuts[n]` events. */
function observedFetch(cuts: number[] = []) {
  const connections: Connection[] = [];
  const plan = [...cuts];
  const observed: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const url = new URL(String(input));
    const connection: Connection = {
      method: init?.method ?? "GET",
      path: `${url.pathname}${url.search}`,
      status: response.status,
      headers: response.headers,
      events: [],
    };
    connections.push(connection);
    if (!response.ok || !response.body) return response;
    const body = observedBody(response.body, connection.events, plan.shift());
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return { fetch: observed, connections };
}

describe.each(databaseKinds())("WorkflowChatTransport (@workflow/ai) against Tether on %s", (kind) => {
  let harness: TestTether;
  let baseUrl: string;

  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_APPROVAL_TIMEOUT: "60s" }, { workflows: true });
    baseUrl = await harness.listen();
    for (const executionMode of MODES) {
      for (const [speed, model] of [["slow", "demo:20"], ["fast", "demo"]] as const) {
        await harness.request("/api/agents", {
          json: { id: `${executionMode}-${speed}`, name: executionMode, model, tools: ["send_email"], executionMode },
        });
      }
    }
  });
  afterAll(() => harness.dispose());

  // The transport logs every dropped connection it recovers from; the tests drop them on purpose.
  beforeAll(() => void vi.spyOn(console, "error").mockImplementation(() => undefined));
  afterEach(() => vi.mocked(console.error).mockClear());
  afterAll(() => vi.mocked(console.error).mockRestore());

  /** Configured as the Workflow SDK's resumable-streams guide does, with a map for its localStorage. */
  function guideTransport(fetchImpl: typeof fetch = fetch) {
    const runIds = new Map<string, string>();
    const transport = new WorkflowChatTransport<UIMessage>({
      api: `${baseUrl}/api/chat`,
      fetch: fetchImpl,
      onChatSendMessage: (response, options) => {
        const runId = response.headers.get("x-workflow-run-id");
        if (runId) runIds.set(options.chatId, runId);
      },
      prepareReconnectToStreamRequest: ({ api: _api, id, ...rest }) => {
        const runId = runIds.get(id);
        if (!runId) throw new Error(`no run id kept for ${id}`);
        return { ...rest, api: `${baseUrl}/api/chat/${encodeURIComponent(runId)}/stream` };
      },
    });
    return { transport, runIds };
  }

  /** What useChat hands the transport for one message (Tether's chat body needs `id` and `agentId`). */
  const send = (transport: WorkflowChatTransport<UIMessage>, chatId: string, agentId: string, messages: UIMessage[]) =>
    transport.sendMessages({
      chatId,
      messages,
      trigger: "submit-message",
      messageId: undefined,
      abortSignal: undefined,
      body: { id: chatId, agentId },
    });

  const latest = async (conversationId: string) => {
    const response = await harness.request(`/api/executions?conversationId=${conversationId}&limit=1`);
    return ((await response.json()) as { executions: ExecutionBody[] }).executions[0]!;
  };

  const resume = (chatId: string, query = "", headers: Record<string, string> = {}) =>
    harness.request(`/api/chat/${chatId}/stream${query}`, { headers });

  /** The turn's whole stream as the resume route numbers it (chunk i is element i). */
  async function wholeTurn(chatId: string): Promise<SseEvent[]> {
    const response = await resume(chatId, "?startIndex=0");
    expect(response.status).toBe(200);
    const events = await readSse(response);
    expect(events.at(-1)!.data).toBe("[DONE]");
    return events.filter(isChunkEvent);
  }

  /** A `count to N` turn sent through the transport and left to end. */
  async function endedTurn(mode: Mode, chatId: string, n = 30): Promise<SseEvent[]> {
    const message = await finalMessage(await send(guideTransport().transport, chatId, `${mode}-fast`, [userMessage(`count to ${n}`)]));
    expect(textParts(message)).toBe(countText(n));
    await settled(latest, chatId, "completed");
    return wholeTurn(chatId);
  }

  describe.each(MODES)("a %s agent", (mode) => {
    it("rebuilds the same message when the connection drops twice and the transport reconnects on its own", async () => {
      const whole = await finalMessage(await send(guideTransport().transport, `${mode}-whole`, `${mode}-slow`, [userMessage("count to 80")]));
      expect(textParts(whole)).toBe(countText(80));

      const chatId = `${mode}-dropped`;
      const observed = observedFetch([12, 15]);
      const { transport, runIds } = guideTransport(observed.fetch);
      const rebuilt = await finalMessage(await send(transport, chatId, `${mode}-slow`, [userMessage("count to 80")]));

      expect(textParts(rebuilt)).toBe(textParts(whole));
      expect(rebuilt.parts.map((part) => part.type)).toEqual(whole.parts.map((part) => part.type));
      expect(runIds.get(chatId)).toBe(chatId);
      // Each reconnect asks for the chunk after the last complete one it got (the half event is not counted).
      expect(observed.connections.map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual([
        "POST /api/chat 200",
        `GET /api/chat/${chatId}/stream?startIndex=12 200`,
        `GET /api/chat/${chatId}/stream?startIndex=27 200`,
      ]);
      // Together the three connections carried the turn's stream exactly once, offsets included.
      const received = observed.connections.flatMap((connection) => connection.events);
      expect(received).toEqual(await wholeTurn(chatId));
      expect(received.at(-1)!.data).toContain("data-terminal");
    });

    it("answers a negative startIndex with exactly the last chunks and x-workflow-stream-tail-index", async () => {
      const chatId = `${mode}-tail`;
      const whole = await endedTurn(mode, chatId);

      const response = await resume(chatId, "?startIndex=-5");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-workflow-stream-tail-index")).toBe(String(whole.length - 1));
      const events = await readSse(response);
      expect(events.filter(isChunkEvent)).toEqual(whole.slice(-5));
      expect(events.at(-1)!.data).toBe("[DONE]");
      // More than the turn holds: all of it, and a tail index the transport resolves to 0.
      const all = await resume(chatId, `?startIndex=-${whole.length + 10}`);
      expect(all.headers.get("x-workflow-stream-tail-index")).toBe(String(whole.length - 1));
      expect((await readSse(all)).filter(isChunkEvent)).toEqual(whole);
    });

    it("lets the transport resolve a tail read and resume after it when that connection drops", async () => {
      const chatId = `${mode}-tail-dropped`;
      const whole = await endedTurn(mode, chatId);
      const observed = observedFetch([2]);
      const { transport, runIds } = guideTransport(observed.fetch);
      runIds.set(chatId, chatId); // kept from the POST, as the guide keeps it across a page reload
      const chunks = (await transport.reconnectToStream({ chatId, startIndex: -5 }))!.getReader();
      while (!(await chunks.read()).done) {
        // read to the end, as useChat does
      }
      expect(observed.connections.map((connection) => connection.path)).toEqual([
        `/api/chat/${chatId}/stream?startIndex=-5`,
        `/api/chat/${chatId}/stream?startIndex=${whole.length - 3}`,
      ]);
      expect(observed.connections.flatMap((connection) => connection.events)).toEqual(whole.slice(-5));
    });

    it("answers a negative startIndex on a live turn with the chunks from tailIndex + 1 + startIndex on", async () => {
      const chatId = `${mode}-live-tail`;
      const post = await harness.request("/api/chat", {
        json: { id: chatId, agentId: `${mode}-slow`, messages: [userMessage("count to 80")] },
      });
      // Some of the turn has streamed; then the client goes away (the run goes on).
      const reader = post.body!.getReader();
      const decoder = new TextDecoder();
      let seen = "";
      while (parseSse(seen).length < 10) seen += decoder.decode((await reader.read()).value, { stream: true });
      await reader.cancel();

      const response = await resume(chatId, "?startIndex=-3");
      expect(response.status).toBe(200);
      const tailIndex = Number(response.headers.get("x-workflow-stream-tail-index"));
      const served = (await readSse(response)).filter(isChunkEvent);
      const whole = await wholeTurn(chatId);
      expect(tailIndex).toBeGreaterThanOrEqual(9);
      expect(tailIndex).toBeLessThan(whole.length - 1);
      expect(served).toEqual(whole.slice(tailIndex + 1 - 3));
    });

    it("answers a startIndex after the turn ended with the rest of it; without one, 204", async () => {
      const chatId = `${mode}-after-end`;
      const whole = await endedTurn(mode, chatId);
      expect((await resume(chatId)).status).toBe(204);

      const rest = await readSse(await resume(chatId, "?startIndex=10"));
      expect(rest.filter(isChunkEvent)).toEqual(whole.slice(10));
      expect(rest.at(-1)!.data).toBe("[DONE]");
      const nothingLeft = await resume(chatId, `?startIndex=${whole.length}`);
      expect(nothingLeft.status).toBe(200);
      expect((await readSse(nothingLeft)).map((event) => event.data)).toEqual(["[DONE]"]);
      await expectInvalid(await resume(chatId, `?startIndex=${whole.length + 1}`), /startIndex/);
    });
  });

  it("counts a durable turn's chunks across its rounds, as the resume route serves it", async () => {
    const chatId = "durable-rounds";
    const observed = observedFetch();
    const { transport } = guideTransport(observed.fetch);
    const user = userMessage(email);
    const first = await finalMessage(await send(transport, chatId, "durable-fast", [user]));
    const request = first.parts.find((part) => part.type === "tool-send_email") as { approval: { id: string } };
    await settled(latest, chatId, "suspended");
    // What addToolApprovalResponse does before useChat posts the conversation again.
    const answered = {
      ...first,
      parts: first.parts.map((part) =>
        part === (request as unknown) ? { ...part, state: "approval-responded", approval: { id: request.approval.id, approved: true } } : part,
      ),
    } as UIMessage;
    const second = await finalMessage(await send(transport, chatId, "durable-fast", [user, answered]), structuredClone(answered));
    expect(textParts(second)).toMatch(/^send_email returned /);
    await settled(latest, chatId, "completed");

    const [r0, r1] = observed.connections.map((connection) => connection.events);
    // The whole turn: r0 without the end that only said "waiting for approval", then r1.
    expect(r0!.at(-1)!.data).toContain('"suspended"');
    const whole = await wholeTurn(chatId);
    expect(whole).toEqual([...r0!.slice(0, -1), ...r1!]);
    const from = r0!.length + 1;
    expect((await readSse(await resume(chatId, `?startIndex=${from}`))).filter(isChunkEvent)).toEqual(whole.slice(from));
  });

  describe("POST /api/chat with the body types fetch sends", () => {
    const body = (chatId: string) =>
      JSON.stringify({ id: chatId, agentId: "classic-fast", messages: [userMessage("count to 3")] });

    it("reads a body without a content-type as JSON and names the conversation in x-workflow-run-id", async () => {
      const response = await fetch(`${baseUrl}/api/chat`, { method: "POST", body: new TextEncoder().encode(body("untyped")) });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-workflow-run-id")).toBe("untyped");
      expect(response.headers.get("access-control-expose-headers")).toMatch(/x-workflow-run-id/);
      expect(textParts(await finalMessage(parseStream(response)))).toBe(countText(3));
    });

    it("reads fetch's default for a string body (text/plain;charset=UTF-8) as JSON", async () => {
      const response = await fetch(`${baseUrl}/api/chat`, { method: "POST", body: body("plain") });
      expect(response.status).toBe(200);
      expect(textParts(await finalMessage(parseStream(response)))).toBe(countText(3));
    });

    it("answers 400 naming the problem for an untyped body that is not JSON, or nested too deep", async () => {
      await expectError(
        await fetch(`${baseUrl}/api/chat`, { method: "POST", body: new TextEncoder().encode('{"id": "x", "messages": [') }),
        400,
        "invalid_input",
        /json/i,
      );
      await expectError(
        await fetch(`${baseUrl}/api/chat`, { method: "POST", body: new TextEncoder().encode(`${"[".repeat(100)}${"]".repeat(100)}`) }),
        400,
        "invalid_input",
        /nested/,
      );
    });

    it("keeps 415 for another content-type, and for an untyped body from a cross-site page", async () => {
      await expectError(
        await fetch(`${baseUrl}/api/chat`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: body("form"),
        }),
        415,
        "unsupported_media_type",
      );
      await expectError(
        await fetch(`${baseUrl}/api/chat`, { method: "POST", headers: { "sec-fetch-site": "cross-site" }, body: body("csrf") }),
        415,
        "unsupported_media_type",
      );
      expect((await harness.request("/api/conversations/csrf")).status).toBe(404);
    });
  });

  describe("GET /api/chat/:conversationId/stream?startIndex=", () => {
    it("answers 400 naming startIndex when it is not an integer", async () => {
      await endedTurn("classic", "bad-start-index", 3);
      for (const bad of ["abc", "1.5", "", "1e3", "--1"]) {
        await expectInvalid(await resume("bad-start-index", `?startIndex=${bad}`), /query\.startIndex/, /integer/);
      }
    });

    it("answers 400 naming the conflict when an offset comes with it", async () => {
      const whole = await endedTurn("classic", "start-index-and-offset", 3);
      await expectInvalid(await resume("start-index-and-offset", `?startIndex=1&offset=${whole[0]!.id}`), /startIndex/, /not both/);
      await expectInvalid(
        await resume("start-index-and-offset", "?startIndex=1", { "last-event-id": whole[0]!.id! }),
        /startIndex/,
        /not both/,
      );
    });

    it("is in the OpenAPI document, with the transport's headers", async () => {
      const document = (await (await harness.request("/openapi.json")).json()) as {
        paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses: Record<string, { headers?: object }> }>>;
      };
      const resumeRoute = document.paths["/api/chat/{conversationId}/stream"]!.get!;
      expect(resumeRoute.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: "startIndex", in: "query" })]));
      expect(Object.keys(resumeRoute.responses["200"]!.headers ?? {})).toEqual(["x-workflow-stream-tail-index"]);
      expect(Object.keys(document.paths["/api/chat"]!.post!.responses["200"]!.headers ?? {})).toEqual(["x-workflow-run-id"]);
    });
  });

  /** A UI message stream parsed from an SSE response, as the transport parses it. */
  function parseStream(response: Response) {
    return new ReadableStream({
      async start(controller) {
        for (const event of (await readSse(response)).filter(isChunkEvent)) controller.enqueue(JSON.parse(event.data));
        controller.close();
      },
    });
  }
});

describe.each(databaseKinds())("startIndex into a classic buffer the caps trimmed, on %s", (kind) => {
  let harness: TestTether;

  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_STREAM_MAX_BYTES: "1024" });
    // Slow enough for the POST's own reader to keep up with the caps (it would end `expired` otherwise).
    await harness.request("/api/agents", { json: { id: "trimmed", name: "Trimmed", model: "demo:2" } });
  });
  afterAll(() => harness.dispose());

  it("answers 410 for dropped chunks, like an expired offset, and serves the retained tail", async () => {
    const post = await harness.request("/api/chat", {
      json: { id: "trimmed-chat", agentId: "trimmed", messages: [userMessage("count to 300")] },
    });
    const whole = (await readSse(post)).filter(isChunkEvent);
    expect(whole.length).toBeGreaterThan(300);
    const resume = (query: string) => harness.request(`/api/chat/trimmed-chat/stream${query}`);

    await expectError(await resume("?startIndex=0"), 410, "gone");
    await expectError(await resume("?startIndex=5"), 410, "gone");
    const tail = await resume("?startIndex=-3");
    expect(tail.headers.get("x-workflow-stream-tail-index")).toBe(String(whole.length - 1));
    expect((await readSse(tail)).filter(isChunkEvent)).toEqual(whole.slice(-3));
    expect((await readSse(await resume(`?startIndex=${whole.length - 2}`))).filter(isChunkEvent)).toEqual(whole.slice(-2));
  });
});
