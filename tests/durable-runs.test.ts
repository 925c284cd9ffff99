import { DefaultChatTransport, type UIMessage } from "ai";
import { getWorld } from "workflow/runtime";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { roundStreamName } from "../src/runs/durable/rounds";
import { databaseKinds } from "./support/database";
import { executionReader, settled } from "./support/executions";
import {
  chunksOf,
  compareOffsets,
  countText,
  eventually,
  parseSse,
  readSse,
  readUntil,
  startTestTether,
  textOf,
  userMessage,
  type SseEvent,
  type TestTether,
} from "./support/tether";
import { expectError, finalMessage, textParts, type ExecutionBody as Execution } from "./support/assertions";

const email = (to: string) => `use send_email with {"to":"${to}","subject":"Hi","body":"From a durable run"}`;

describe.each(databaseKinds())("durable runs on %s", (kind) => {
  let harness: TestTether;
  let baseUrl: string;

  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_APPROVAL_TIMEOUT: "60s" }, { workflows: true });
    baseUrl = await harness.listen();
    for (const [id, model] of [["durable", "demo"], ["durable-slow", "demo:5"]] as const) {
      await harness.request("/api/agents", {
        json: { id, name: id, model, tools: ["get_time", "send_email"], executionMode: "durable" },
      });
    }
  });
  afterAll(() => harness.dispose());

  const execution = executionReader((pathname) => harness.request(pathname));
  const latest = async (conversationId: string) => {
    const response = await harness.request(`/api/executions?conversationId=${conversationId}&limit=1`);
    return ((await response.json()) as { executions: Execution[] }).executions[0]!;
  };
  const outboxFor = async (toolCallId: string) => {
    const { messages } = (await (await harness.request("/api/outbox")).json()) as {
      messages: Array<{ toolCallId: string }>;
    };
    return messages.filter((message) => message.toolCallId === toolCallId);
  };
  const transport = (agentId: string) =>
    new DefaultChatTransport<UIMessage>({ api: `${baseUrl}/api/chat`, body: { agentId } });

  it("answers through the same API as classic mode, and replays the whole run after it ends", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "durable-count", agentId: "durable", messages: [userMessage("count to 30")] },
    });
    expect(response.headers.get("x-execution-mode")).toBe("durable");
    const executionId = response.headers.get("x-execution-id")!;
    // The row exists as soon as the response starts.
    expect((await harness.request(`/api/executions/${executionId}`)).status).toBe(200);
    const events = await readSse(response);
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(events.filter((event) => event.data !== "[DONE]").every((event) => /^0\.\d+$/.test(event.id ?? ""))).toBe(true);
    const chunks = chunksOf(events);
    expect(textOf(chunks)).toBe(countText(30));
    const done = await settled(execution, executionId, "completed");
    expect(done).toMatchObject({ mode: "durable", workflowRunId: expect.stringMatching(/^wrun_/) });
    const replay = chunksOf(await readSse(await harness.request(`/api/executions/${executionId}/stream`)));
    expect(replay).toEqual(chunks);
    expect((await harness.request("/api/chat/durable-count/stream")).status).toBe(204);
    // After the end, an offset still gets the rest of the turn (docs/api.md § Resume), and offsets keep increasing.
    for (const cut of [0, 10, events.length - 3]) {
      const rest = await readSse(
        await harness.request("/api/chat/durable-count/stream", { headers: { "last-event-id": events[cut]!.id! } }),
      );
      expect(rest.at(-1)!.data).toBe("[DONE]");
      expect(chunksOf(rest)).toEqual(chunks.slice(cut + 1));
    }
  });

  it("suspends for an approval, continues when the AI SDK client answers, runs the tool once", async () => {
    const client = transport("durable");
    const user = userMessage(email("ada@example.com"));
    const first = await finalMessage(
      await client.sendMessages({ chatId: "durable-approve", messages: [user], trigger: "submit-message", messageId: undefined, abortSignal: undefined }),
    );
    const part = first.parts.find((candidate) => candidate.type === "tool-send_email") as {
      state: string;
      toolCallId: string;
      approval: { id: string };
    };
    expect(part.state).toBe("approval-requested");
    const suspended = await settled(execution, (await latest("durable-approve")).id, "suspended");
    expect(suspended.pendingApprovals).toEqual([expect.objectContaining({ toolCallId: part.toolCallId, toolName: "send_email" })]);
    // Nothing streams while the run waits for a person, and the reloaded conversation shows the request.
    expect((await harness.request("/api/chat/durable-approve/stream")).status).toBe(204);
    const stored = (await (await harness.request("/api/conversations/durable-approve")).json()) as { messages: UIMessage[] };
    expect(JSON.stringify(stored.messages.at(-1))).toContain("approval-requested");

    const answered: UIMessage = {
      ...first,
      parts: first.parts.map((candidate) =>
        candidate === (part as unknown)
          ? ({ ...part, state: "approval-responded", approval: { id: part.approval.id, approved: true } } as typeof candidate)
          : candidate,
      ),
    };
    // An answer to a call the waiting run never asked about is refused at once: a run waiting for a person
    // has recorded every request it streamed (a round still running is given a moment, up to 3 s).
    const unknownCall = {
      ...answered,
      parts: answered.parts.map((candidate) =>
        candidate.type === "tool-send_email" ? { ...candidate, toolCallId: "call_never_asked" } : candidate,
      ),
    };
    const refusing = Date.now();
    await expectError(
      await harness.request("/api/chat", { json: { id: "durable-approve", agentId: "durable", messages: [user, unknownCall] } }),
      404,
      "not_found",
      /call_never_asked/,
    );
    expect(Date.now() - refusing).toBeLessThan(2_000);
    const second = await finalMessage(
      await client.sendMessages({ chatId: "durable-approve", messages: [user, answered], trigger: "submit-message", messageId: undefined, abortSignal: undefined }),
      structuredClone(answered),
    );
    const result = second.parts.find((candidate) => candidate.type === "tool-send_email") as { state: string; output: unknown };
    expect(result.state).toBe("output-available");
    expect(textParts(second)).toBe(`send_email returned ${JSON.stringify(result.output)}`);
    const done = await settled(execution, suspended.id, "completed");
    expect(done.metadata.round).toBe(1);
    expect(await outboxFor(part.toolCallId)).toHaveLength(1);

    // The whole run stitches r0 and r1; the intermediate `suspended` end is not repeated.
    const whole = chunksOf(await readSse(await harness.request(`/api/executions/${suspended.id}/stream`)));
    expect(whole.filter((chunk) => chunk.type === "data-terminal")).toEqual([
      expect.objectContaining({ data: { reason: "completed" } }),
    ]);
    expect(whole.map((chunk) => chunk.type)).toContain("tool-approval-request");
    expect(whole.map((chunk) => chunk.type)).toContain("tool-output-available");
  });

  it("continues after an approval through the executions endpoint; the resume route replays the whole turn", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "durable-endpoint", agentId: "durable-slow", messages: [userMessage(email("bob@example.com"))] },
    });
    const executionId = response.headers.get("x-execution-id")!;
    await readSse(response);
    const suspended = await settled(execution, executionId, "suspended");
    const toolCallId = suspended.pendingApprovals[0]!.toolCallId;
    const decide = (approved: boolean) =>
      harness.request(`/api/executions/${executionId}/approvals/${toolCallId}`, { json: { approved } });
    expect(await (await decide(true)).json()).toEqual({ toolCallId, status: "approved" });
    expect((await decide(true)).status).toBe(200);
    expect((await decide(false)).status).toBe(409);

    const resumed = await eventually(async () => {
      const stream = await harness.request("/api/chat/durable-endpoint/stream");
      expect(stream.status).toBe(200);
      return stream;
    });
    const chunks = chunksOf(await readSse(resumed));
    expect(chunks[0]).toMatchObject({ type: "start" });
    // From the turn's start: the call that the new round answers is in it, so a client rebuilding the
    // message from nothing (as the AI SDK does on resume) finds the tool call its output belongs to.
    const types = chunks.map((chunk) => chunk.type);
    expect(types.indexOf("tool-approval-request")).toBeLessThan(types.indexOf("tool-output-available"));
    expect(types.filter((type) => type === "data-terminal")).toHaveLength(1);
    expect(textOf(chunks)).toMatch(/^send_email returned \{"messageId":"msg_/);
    const rebuilt = await finalMessage(
      new ReadableStream({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk as never);
          controller.close();
        },
      }),
    );
    expect(rebuilt.parts.find((part) => part.type === "tool-send_email")).toMatchObject({ state: "output-available" });
    await settled(execution, executionId, "completed");
    expect(await outboxFor(toolCallId)).toHaveLength(1);
  });

  it("tells the model about a denial and never runs the tool", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "durable-deny", agentId: "durable", messages: [userMessage(email("eve@example.com"))] },
    });
    const executionId = response.headers.get("x-execution-id")!;
    await readSse(response);
    const toolCallId = (await settled(execution, executionId, "suspended")).pendingApprovals[0]!.toolCallId;
    await harness.request(`/api/executions/${executionId}/approvals/${toolCallId}`, {
      json: { approved: false, reason: "not this one" },
    });
    await settled(execution, executionId, "completed");
    const whole = chunksOf(await readSse(await harness.request(`/api/executions/${executionId}/stream`)));
    expect(whole.map((chunk) => chunk.type)).toContain("tool-output-denied");
    expect(textOf(whole)).toBe("send_email was denied: not this one");
    expect(await outboxFor(toolCallId)).toHaveLength(0);
  });

  it("collects several approvals of one round before going on", async () => {
    const response = await harness.request("/api/chat", {
      json: {
        id: "durable-two",
        agentId: "durable",
        messages: [userMessage(`${email("one@example.com")} and ${email("two@example.com")}`)],
      },
    });
    const executionId = response.headers.get("x-execution-id")!;
    await readSse(response);
    const suspended = await settled(execution, executionId, "suspended");
    expect(suspended.pendingApprovals).toHaveLength(2);
    const [first, second] = suspended.pendingApprovals;
    await harness.request(`/api/executions/${executionId}/approvals/${first!.toolCallId}`, { json: { approved: true } });
    // One answer is not enough: the run keeps waiting for the other.
    expect((await execution(executionId)).status).toBe("suspended");
    expect((await execution(executionId)).pendingApprovals.map((approval) => approval.toolCallId)).toEqual([
      second!.toolCallId,
    ]);
    await harness.request(`/api/executions/${executionId}/approvals/${second!.toolCallId}`, { json: { approved: false } });
    await settled(execution, executionId, "completed");
    expect(await outboxFor(first!.toolCallId)).toHaveLength(1);
    expect(await outboxFor(second!.toolCallId)).toHaveLength(0);
  });

  it("cancels a running durable run and ends its readers with `cancelled`", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "durable-cancel", agentId: "durable-slow", messages: [userMessage("count to 5000")] },
    });
    const executionId = response.headers.get("x-execution-id")!;
    // Cancel once the model is well into its answer.
    const read = await readUntil(response, '"delta":" 20"');
    const cancelled = await harness.request(`/api/executions/${executionId}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as Execution).status).toBe("cancelled");
    const received = await read.rest();
    const chunks = chunksOf(parseSse(received));
    expect(chunks.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "cancelled" } });
    expect((await harness.request(`/api/executions/${executionId}/cancel`, { method: "POST" })).status).toBe(409);
    // The model stopped too: neither the stream nor the stored answer ran on to the end.
    expect(textOf(chunks)).not.toContain("4999 5000");
    // The round's step saw the cancel and stored the partial answer long before the count could finish.
    const stored = await eventually(async () => {
      const conversation = (await (await harness.request("/api/conversations/durable-cancel")).json()) as {
        messages: UIMessage[];
      };
      expect(conversation.messages.map((message) => message.role)).toEqual(["user", "assistant"]);
      return conversation.messages;
    }, 5_000);
    expect(textParts(stored[1]!)).not.toContain("4999 5000");
  });

  it("ends the previous turn's readers with `superseded` when a new turn starts", async () => {
    const first = await harness.request("/api/chat", {
      json: { id: "durable-turns", agentId: "durable-slow", messages: [userMessage("count to 5000")] },
    });
    const firstId = first.headers.get("x-execution-id")!;
    const second = await harness.request("/api/chat", {
      json: { id: "durable-turns", agentId: "durable-slow", messages: [userMessage("hello again")] },
    });
    expect(chunksOf(await readSse(first)).at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "superseded" } });
    expect(textOf(chunksOf(await readSse(second)))).toBe("You said: hello again");
    expect(await execution(firstId)).toMatchObject({ status: "cancelled", metadata: { cancelReason: "superseded" } });
    // The replay from the world says the same: the round that noticed the cancel ended with its reason.
    const replay = chunksOf(await readSse(await harness.request(`/api/executions/${firstId}/stream`)));
    expect(replay.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "superseded" } });
  });

  it("records a model failure as failed", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "durable-fail", agentId: "durable", messages: [userMessage("fail")] },
    });
    const chunks = chunksOf(await readSse(response));
    expect(chunks.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "failed" } });
    const failed = await settled(execution, response.headers.get("x-execution-id")!, "failed");
    expect(failed.error).toContain("demo model failure");
  });

  it("reconnects the AI SDK client mid-round and rebuilds the same message", async () => {
    const client = transport("durable-slow");
    const abort = new AbortController();
    const stream = await client.sendMessages({
      chatId: "durable-reconnect",
      messages: [userMessage("count to 200")],
      trigger: "submit-message",
      messageId: undefined,
      abortSignal: abort.signal,
    });
    const reader = stream.getReader();
    for (let deltas = 0; deltas < 10; ) {
      const { value, done } = await reader.read();
      if (done) throw new Error("ended before the abort");
      if (value.type === "text-delta") deltas += 1;
    }
    abort.abort();
    await reader.cancel().catch(() => undefined);
    const resumed = await client.reconnectToStream({ chatId: "durable-reconnect" });
    expect(resumed).not.toBeNull();
    const rebuilt = await finalMessage(resumed!);
    expect(textParts(rebuilt)).toBe(countText(200));
  });

  /** A turn that asks for an approval in round r0, is approved, and finishes in r1; answers its ids. */
  async function approvedEmailTurn(conversationId: string) {
    const response = await harness.request("/api/chat", {
      json: { id: conversationId, agentId: "durable", messages: [userMessage(email("rounds@example.com"))] },
    });
    const executionId = response.headers.get("x-execution-id")!;
    const firstRound = await readSse(response);
    const { pendingApprovals } = await settled(execution, executionId, "suspended");
    const decided = await harness.request(`/api/executions/${executionId}/approvals/${pendingApprovals[0]!.toolCallId}`, {
      json: { approved: true },
    });
    expect(decided.status).toBe(200);
    const done = await settled(execution, executionId, "completed");
    return { executionId, workflowRunId: done.workflowRunId!, firstRound };
  }

  /** The events of a stream response up to its [DONE]; the body must end with it (docs/design.md invariant 7). */
  async function eventsBeforeDone(response: Response): Promise<SseEvent[]> {
    expect(response.status).toBe(200);
    const events = await readSse(response);
    expect(events.at(-1)).toEqual({ id: undefined, data: "[DONE]" });
    return events.slice(0, -1);
  }

  it("resumes from any offset with exactly the events after it, across rounds r0 and r1 (docs/api.md § Resume)", async () => {
    const { executionId, firstRound } = await approvedEmailTurn("durable-rounds-resume");
    const whole = await eventsBeforeDone(await harness.request(`/api/executions/${executionId}/stream`));
    // Offsets strictly increase over the whole turn, from round 0 into round 1.
    const ids = whole.map((event) => event.id!);
    for (let index = 1; index < ids.length; index++) expect(compareOffsets(ids[index]!, ids[index - 1]!)).toBeGreaterThan(0);
    const firstOfRound1 = ids.findIndex((id) => id.startsWith("1."));
    expect(firstOfRound1).toBeGreaterThan(0);
    expect(ids.slice(0, firstOfRound1).every((id) => id.startsWith("0."))).toBe(true);
    expect(ids.slice(firstOfRound1).every((id) => id.startsWith("1."))).toBe(true);
    // The chat response of round 0 numbered its events as the whole turn does, and ended with the
    // round's `suspended` end, which the whole turn leaves out (it goes on in r1).
    expect(firstRound.slice(0, firstOfRound1)).toEqual(whole.slice(0, firstOfRound1));
    const suspendedEnd = firstRound[firstOfRound1]!;
    expect(JSON.parse(suspendedEnd.data)).toMatchObject({ type: "data-terminal", data: { reason: "suspended" } });
    expect(compareOffsets(suspendedEnd.id!, ids[firstOfRound1 - 1]!)).toBeGreaterThan(0);
    expect(compareOffsets(ids[firstOfRound1]!, suspendedEnd.id!)).toBeGreaterThan(0);
    // A client that read round 0 to its end resumes with that end's id: it gets round 1, all of it.
    const afterRound0 = await eventsBeforeDone(
      await harness.request("/api/chat/durable-rounds-resume/stream", { headers: { "last-event-id": suspendedEnd.id! } }),
    );
    expect(afterRound0).toEqual(whole.slice(firstOfRound1));

    // Cuts in round 0, at its last event (the boundary), at round 1's first event, inside round 1 and
    // just before the end: each resume answers exactly the rest.
    const cuts = [0, 2, firstOfRound1 - 1, firstOfRound1, firstOfRound1 + 1, whole.length - 2];
    for (const cut of cuts) {
      const resumed = await eventsBeforeDone(
        await harness.request("/api/chat/durable-rounds-resume/stream", { headers: { "last-event-id": ids[cut]! } }),
      );
      expect(resumed, `resumed after ${ids[cut]}`).toEqual(whole.slice(cut + 1));
    }
    // After the last event, nothing but [DONE].
    const atEnd = await harness.request("/api/chat/durable-rounds-resume/stream", { headers: { "last-event-id": ids.at(-1)! } });
    expect(await eventsBeforeDone(atEnd)).toEqual([]);
  });

  /** Every stream the world holds for a run, with whether it was closed. */
  async function worldStreams(workflowRunId: string) {
    const world = getWorld();
    const names = await world.listStreamsByRunId(workflowRunId);
    return Promise.all(names.map(async (name) => ({ name, done: (await world.getStreamInfo(name, workflowRunId)).done })));
  }

  /** docs/design.md invariant 3: the run's round namespaces (and nothing else) exist, each closed. */
  async function expectRoundsClosed(workflowRunId: string, rounds: number) {
    const expected = Array.from({ length: rounds }, (_, round) => ({ name: roundStreamName(workflowRunId, round), done: true }));
    expect(await worldStreams(workflowRunId)).toEqual(expect.arrayContaining(expected));
    expect((await worldStreams(workflowRunId)).filter((stream) => !stream.done)).toEqual([]);
  }

  it("closes every namespace a run with an approval opened: r0 and r1", async () => {
    const { workflowRunId } = await approvedEmailTurn("durable-rounds-closed");
    await expectRoundsClosed(workflowRunId, 2);
  });

  it("closes the namespace of a round whose model failed for good", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "durable-fail-closed", agentId: "durable", messages: [userMessage("fail")] },
    });
    const events = await eventsBeforeDone(response);
    expect(chunksOf(events).at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "failed" } });
    const failed = await settled(execution, response.headers.get("x-execution-id")!, "failed");
    await expectRoundsClosed(failed.workflowRunId!, 1);
  });

  it("closes the round on the workflow's failure path, when a step fails for good", async () => {
    // The model step reads the conversation through the process's repositories: a permanent error there
    // fails the step at once (no retry), and the workflow's own error handling must close r0.
    const { messages } = harness.tether.repositories;
    const list = messages.list.bind(messages);
    const refusal = Object.assign(new Error("history unreadable (test)"), { isRetryable: false });
    const spy = vi
      .spyOn(messages, "list")
      .mockImplementation((conversationId) => (conversationId === "durable-step-fails" ? Promise.reject(refusal) : list(conversationId)));
    try {
      const response = await harness.request("/api/chat", {
        json: { id: "durable-step-fails", agentId: "durable", messages: [userMessage("count to 5")] },
      });
      const events = await eventsBeforeDone(response);
      expect(chunksOf(events)).toEqual([{ type: "data-terminal", data: { reason: "failed" }, transient: true }]);
      const failed = await settled(execution, response.headers.get("x-execution-id")!, "failed");
      expect(failed.error).toContain("history unreadable (test)");
      await expectRoundsClosed(failed.workflowRunId!, 1);
    } finally {
      spy.mockRestore();
    }
  });
});
