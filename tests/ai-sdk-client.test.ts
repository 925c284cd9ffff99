import { DefaultChatTransport, type UIMessage } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "./support/database";
import { countText, eventually, startTestTether, userMessage, type TestTether } from "./support/tether";
import { finalMessage, textParts } from "./support/assertions";

describe.each(databaseKinds())("the AI SDK's own chat client on %s", (kind) => {
  let harness: TestTether;
  let baseUrl: string;

  beforeAll(async () => {
    harness = await startTestTether(kind);
    baseUrl = await harness.listen();
    await harness.request("/api/agents", {
      json: { id: "slow", name: "Slow", model: "demo:3", tools: ["get_time", "send_email"] },
    });
  });
  afterAll(() => harness.dispose());

  const transportFor = (agentId: string) =>
    new DefaultChatTransport<UIMessage>({ api: `${baseUrl}/api/chat`, body: { agentId } });

  const latestExecution = async (conversationId: string) => {
    const response = await harness.request(`/api/executions?conversationId=${conversationId}&limit=1`);
    const { executions } = (await response.json()) as { executions: Array<{ id: string; status: string }> };
    return executions[0]!;
  };

  it("rebuilds the same message after aborting mid-stream and reconnecting", async () => {
    const transport = transportFor("slow");

    const whole = await finalMessage(
      await transport.sendMessages({
        chatId: "uninterrupted",
        messages: [userMessage("count to 300")],
        trigger: "submit-message",
        messageId: undefined,
        abortSignal: undefined,
      }),
    );
    expect(textParts(whole)).toBe(countText(300));

    const abort = new AbortController();
    const stream = await transport.sendMessages({
      chatId: "interrupted",
      messages: [userMessage("count to 300")],
      trigger: "submit-message",
      messageId: undefined,
      abortSignal: abort.signal,
    });
    const reader = stream.getReader();
    let deltas = 0;
    while (deltas < 20) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended before the abort");
      if (value.type === "text-delta") deltas += 1;
    }
    abort.abort();
    await reader.cancel().catch(() => undefined);

    // The disconnect did not stop the run.
    expect((await latestExecution("interrupted")).status).toBe("running");
    const resumed = await transport.reconnectToStream({ chatId: "interrupted" });
    expect(resumed).not.toBeNull();
    const rebuilt = await finalMessage(resumed!);
    expect(textParts(rebuilt)).toBe(textParts(whole));
    expect(rebuilt.parts.map((part) => part.type)).toEqual(whole.parts.map((part) => part.type));

    await eventually(async () => expect((await latestExecution("interrupted")).status).toBe("completed"));
    expect(await transport.reconnectToStream({ chatId: "interrupted" })).toBeNull();
  });

  async function askForEmail(chatId: string) {
    const transport = transportFor("assistant");
    const user = userMessage('use send_email with {"to":"ada@example.com","subject":"Hello","body":"From Tether"}');
    const first = await finalMessage(
      await transport.sendMessages({
        chatId,
        messages: [user],
        trigger: "submit-message",
        messageId: undefined,
        abortSignal: undefined,
      }),
    );
    const toolPart = first.parts.find((part) => part.type === "tool-send_email") as
      | { state: string; toolCallId: string; approval?: { id: string } }
      | undefined;
    expect(toolPart?.state).toBe("approval-requested");
    expect((await latestExecution(chatId)).status).toBe("suspended");
    return { transport, user, first, toolPart: toolPart! };
  }

  /** What `addToolApprovalResponse` does to the assistant message before the client posts it again. */
  function answer(message: UIMessage, approvalId: string, approved: boolean, reason?: string): UIMessage {
    return {
      ...message,
      parts: message.parts.map((part) =>
        "approval" in part && part.approval?.id === approvalId
          ? ({ ...part, state: "approval-responded", approval: { id: approvalId, approved, reason } } as typeof part)
          : part,
      ),
    };
  }

  it("approves a tool call through the client: the tool runs once and the answer streams", async () => {
    const { transport, user, first, toolPart } = await askForEmail("approve-chat");
    const answered = answer(first, toolPart.approval!.id, true);
    const second = await finalMessage(
      await transport.sendMessages({
        chatId: "approve-chat",
        messages: [user, answered],
        trigger: "submit-message",
        messageId: undefined,
        abortSignal: undefined,
      }),
      structuredClone(answered),
    );
    const done = second.parts.find((part) => part.type === "tool-send_email") as { state: string; output?: unknown };
    expect(done.state).toBe("output-available");
    expect(done.output).toEqual({ messageId: expect.stringMatching(/^msg_/) });
    expect(textParts(second)).toContain(`send_email returned ${JSON.stringify(done.output)}`);

    const outbox = (await (await harness.request("/api/outbox")).json()) as {
      messages: Array<{ toolCallId: string; to: string }>;
    };
    expect(outbox.messages.filter((message) => message.toolCallId === toolPart.toolCallId)).toEqual([
      expect.objectContaining({ to: "ada@example.com" }),
    ]);

    // Posting the same answer again attaches to the continuation instead of running the tool again.
    await finalMessage(
      await transport.sendMessages({
        chatId: "approve-chat",
        messages: [user, answered],
        trigger: "submit-message",
        messageId: undefined,
        abortSignal: undefined,
      }),
      structuredClone(answered),
    );
    const after = (await (await harness.request("/api/outbox")).json()) as { messages: Array<{ toolCallId: string }> };
    expect(after.messages.filter((message) => message.toolCallId === toolPart.toolCallId)).toHaveLength(1);

    const conversation = (await (await harness.request("/api/conversations/approve-chat")).json()) as {
      messages: UIMessage[];
    };
    expect(conversation.messages.map((message) => message.role)).toEqual(["user", "assistant"]);
    expect(textParts(conversation.messages[1]!)).toBe(textParts(second));
  });

  it("denies a tool call through the client: the tool never runs and the model is told", async () => {
    const { transport, user, first, toolPart } = await askForEmail("deny-chat");
    const answered = answer(first, toolPart.approval!.id, false, "not today");
    const second = await finalMessage(
      await transport.sendMessages({
        chatId: "deny-chat",
        messages: [user, answered],
        trigger: "submit-message",
        messageId: undefined,
        abortSignal: undefined,
      }),
      structuredClone(answered),
    );
    const denied = second.parts.find((part) => part.type === "tool-send_email") as { state: string };
    expect(denied.state).toBe("output-denied");
    expect(textParts(second)).toBe("send_email was denied: not today");
    const outbox = (await (await harness.request("/api/outbox")).json()) as { messages: Array<{ toolCallId: string }> };
    expect(outbox.messages.some((message) => message.toolCallId === toolPart.toolCallId)).toBe(false);
    const execution = (await (
      await harness.request(`/api/executions/${(await latestExecution("deny-chat")).id}`)
    ).json()) as { status: string };
    expect(execution.status).toBe("completed");
  });
});
