import type { LanguageModelV3CallOptions, LanguageModelV3StreamPart } from "@ai-sdk/provider";
import { generateText, type ModelMessage, stepCountIs, streamText, tool, type ToolSet } from "ai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { createDemoModel, parseDemoModelId } from "./demo-model";

const instant = createDemoModel({ tokenDelayMs: 0 });

function timeTool(execute: () => Promise<unknown> = async () => ({ hour: 9, minute: 30 })) {
  return tool({ inputSchema: z.object({}), execute });
}

async function fullStreamOf(result: { fullStream: AsyncIterable<{ type: string }> }) {
  const parts = [];
  for await (const part of result.fullStream) parts.push(part);
  return parts;
}

function textDeltas(parts: ReadonlyArray<{ type: string; text?: string }>): string[] {
  return parts.flatMap((part) => (part.type === "text-delta" && part.text !== undefined ? [part.text] : []));
}

function callOptions(text: string, overrides: Partial<LanguageModelV3CallOptions> = {}): LanguageModelV3CallOptions {
  return { prompt: [{ role: "user", content: [{ type: "text", text }] }], ...overrides };
}

/** The DOM typings of ReadableStream lack async iteration, so read through a reader. */
async function* partsOf(stream: ReadableStream<LanguageModelV3StreamPart>): AsyncGenerator<LanguageModelV3StreamPart> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

async function readAll(stream: ReadableStream<LanguageModelV3StreamPart>): Promise<LanguageModelV3StreamPart[]> {
  const parts: LanguageModelV3StreamPart[] = [];
  for await (const part of partsOf(stream)) parts.push(part);
  return parts;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("parseDemoModelId", () => {
  it("reads demo and demo:<ms>", () => {
    expect(parseDemoModelId("demo")).toEqual({});
    expect(parseDemoModelId("demo:35")).toEqual({ tokenDelayMs: 35 });
    expect(parseDemoModelId("demo:0")).toEqual({ tokenDelayMs: 0 });
    expect(parseDemoModelId("demo:60000")).toEqual({ tokenDelayMs: 60_000 });
  });

  it("rejects other ids and bad delays", () => {
    for (const id of ["gpt-4o", "demo:", "demo:-1", "demo:1.5", "demo:abc", "demo:60001", "demo:35ms", "Demo", " demo"]) {
      expect(parseDemoModelId(id), id).toBeUndefined();
    }
  });
});

describe("createDemoModel", () => {
  it("describes itself as the tether demo model", () => {
    expect(instant).toMatchObject({ specificationVersion: "v3", provider: "tether", modelId: "demo", supportedUrls: {} });
  });

  it("rejects a negative or non-finite delay", () => {
    expect(() => createDemoModel({ tokenDelayMs: -1 })).toThrow(RangeError);
    expect(() => createDemoModel({ tokenDelayMs: Number.NaN })).toThrow(RangeError);
  });
});

describe("streaming through streamText", () => {
  it("counts with one number per delta", async () => {
    const parts = await fullStreamOf(streamText({ model: instant, prompt: "count to 5" }));
    expect(textDeltas(parts)).toEqual(["1", " 2", " 3", " 4", " 5"]);
  });

  it("counts to 300", async () => {
    const result = streamText({ model: instant, prompt: "Count to 300" });
    expect(await result.text).toBe(Array.from({ length: 300 }, (_, index) => index + 1).join(" "));
    expect(await result.finishReason).toBe("stop");
  });

  it("echoes anything else word by word, keeping the spacing exact", async () => {
    const result = streamText({ model: instant, prompt: "  hello  \n there " });
    expect(textDeltas(await fullStreamOf(result))).toEqual(["You", " said:", " hello", "  \n there"]);
    expect(await result.text).toBe("You said: hello  \n there");
    expect(await streamText({ model: instant, prompt: "hello" }).text).toBe("You said: hello");
    expect(await streamText({ model: instant, prompt: "count to 100001" }).text).toBe("You said: count to 100001");
  });

  it("calls a tool and reports its result in the next step", async () => {
    const execute = vi.fn(async () => ({ hour: 9, minute: 30 }));
    const result = streamText({
      model: instant,
      prompt: "use get_time",
      tools: { get_time: timeTool(execute) },
      stopWhen: stepCountIs(3),
    });
    const steps = await result.steps;
    expect(execute).toHaveBeenCalledTimes(1);
    expect(steps).toHaveLength(2);
    expect(steps[0]?.finishReason).toBe("tool-calls");
    expect(steps[0]?.toolCalls.map((call) => [call.toolName, call.input])).toEqual([["get_time", {}]]);
    expect(steps[1]?.text).toBe('get_time returned {"hour":9,"minute":30}');
    expect(await result.finishReason).toBe("stop");
  });

  it("calls two tools in one step with distinct ids", async () => {
    const weather = vi.fn(async ({ city }: { city: string }) => `sunny in ${city}`);
    const result = streamText({
      model: instant,
      prompt: 'use get_time and use get_weather with {"city": "Oslo"}',
      tools: {
        get_time: timeTool(),
        get_weather: tool({ inputSchema: z.object({ city: z.string() }), execute: weather }),
      },
      stopWhen: stepCountIs(3),
    });
    const steps = await result.steps;
    const calls = steps[0]?.toolCalls ?? [];
    expect(calls.map((call) => call.toolName)).toEqual(["get_time", "get_weather"]);
    expect(new Set(calls.map((call) => call.toolCallId)).size).toBe(2);
    expect(weather).toHaveBeenCalledWith({ city: "Oslo" }, expect.anything());
    expect(steps[1]?.text).toBe('get_time returned {"hour":9,"minute":30}\nget_weather returned "sunny in Oslo"');
  });

  it("keeps an and inside a JSON string as part of the input", async () => {
    const search = vi.fn(async ({ query }: { query: string }) => query.length);
    const result = streamText({
      model: instant,
      prompt: 'use search with {"query": "salt and pepper"}',
      tools: { search: tool({ inputSchema: z.object({ query: z.string() }), execute: search }) },
      stopWhen: stepCountIs(2),
    });
    expect(await result.text).toBe("search returned 15");
    expect(search).toHaveBeenCalledWith({ query: "salt and pepper" }, expect.anything());
  });

  it("explains instead of calling an unknown tool or one with invalid JSON", async () => {
    const tools = { get_time: timeTool() };
    const unknown = streamText({ model: instant, prompt: "use launch_rocket", tools });
    expect(await unknown.text).toBe("I cannot use launch_rocket: unknown tool (available: get_time)");
    expect(await unknown.finishReason).toBe("stop");
    const invalid = streamText({ model: instant, prompt: "use get_time with {oops}", tools });
    expect(await invalid.text).toMatch(/^I cannot use get_time: invalid JSON: /);
  });

  it("stops at a tool approval request without executing the tool", async () => {
    const execute = vi.fn(async () => "deleted");
    const result = streamText({
      model: instant,
      prompt: 'use delete_file with {"path": "/tmp/x"}',
      tools: { delete_file: tool({ inputSchema: z.object({ path: z.string() }), needsApproval: true, execute }) },
      stopWhen: stepCountIs(3),
    });
    const types = (await fullStreamOf(result)).map((part) => part.type);
    expect(types).toEqual(["start", "start-step", "tool-call", "tool-approval-request", "finish-step", "finish"]);
    expect(execute).not.toHaveBeenCalled();
    expect(await result.finishReason).toBe("tool-calls");
  });

  it("reports a denial after the caller answers the approval request", async () => {
    const execute = vi.fn(async () => "deleted");
    const tools = {
      delete_file: tool({ inputSchema: z.object({ path: z.string() }), needsApproval: true, execute }),
    } satisfies ToolSet;
    const prompt = 'use delete_file with {"path": "/tmp/x"}';
    const first = streamText({ model: instant, prompt, tools });
    const approvalRequest = (await first.content).find((part) => part.type === "tool-approval-request");
    expect(approvalRequest).toBeDefined();
    const messages: ModelMessage[] = [
      { role: "user", content: prompt },
      ...(await first.response).messages,
      {
        role: "tool",
        content: [
          { type: "tool-approval-response", approvalId: approvalRequest!.approvalId, approved: false, reason: "too risky" },
        ],
      },
    ];
    const second = streamText({ model: instant, messages, tools, stopWhen: stepCountIs(3) });
    const types = (await fullStreamOf(second)).map((part) => part.type);
    expect(types).toContain("tool-output-denied");
    expect(await second.text).toBe("delete_file was denied: too risky");
    expect(execute).not.toHaveBeenCalled();
  });

  it("reports a denial from a hand-built execution-denied tool result", async () => {
    const messages = (reason?: string): ModelMessage[] => [
      { role: "user", content: "use delete_file" },
      { role: "assistant", content: [{ type: "tool-call", toolCallId: "call_1", toolName: "delete_file", input: {} }] },
      {
        role: "tool",
        content: [
          { type: "tool-result", toolCallId: "call_1", toolName: "delete_file", output: { type: "execution-denied", reason } },
        ],
      },
    ];
    expect(await streamText({ model: instant, messages: messages("not today") }).text).toBe(
      "delete_file was denied: not today",
    );
    expect(await streamText({ model: instant, messages: messages() }).text).toBe("delete_file was denied");
  });

  it("surfaces fail as an error chunk after a few tokens", async () => {
    const onError = vi.fn();
    const result = streamText({ model: instant, prompt: "fail", onError });
    const parts = await fullStreamOf(result);
    expect(textDeltas(parts)).toEqual(["Something", " is", " about", " to", " fail"]);
    const errorPart = parts.find((part) => part.type === "error");
    expect(errorPart).toMatchObject({ error: expect.objectContaining({ message: "demo model failure" }) });
    expect(onError).toHaveBeenCalledTimes(1);
    expect(await result.finishReason).toBe("error");
  });

  it("stops promptly when the caller aborts", async () => {
    const abortController = new AbortController();
    const onAbort = vi.fn();
    const result = streamText({
      model: createDemoModel({ tokenDelayMs: 5 }),
      prompt: "count to 100000",
      abortSignal: abortController.signal,
      onAbort,
    });
    const types: string[] = [];
    for await (const part of result.fullStream) {
      types.push(part.type);
      if (types.filter((type) => type === "text-delta").length === 3) abortController.abort();
    }
    expect(types.filter((type) => type === "text-delta")).toHaveLength(3);
    expect(types.at(-1)).toBe("abort");
    expect(onAbort).toHaveBeenCalledTimes(1);
  });

  it("is deterministic except for tool call ids, which are unique per call", async () => {
    const run = async (prompt: string) => {
      const result = streamText({
        model: instant,
        prompt,
        tools: { get_time: timeTool(), get_weather: timeTool() },
        stopWhen: stepCountIs(1),
      });
      return (await fullStreamOf(result)).filter((part) => part.type !== "tool-result");
    };
    const idsOf = (parts: Awaited<ReturnType<typeof run>>) =>
      parts.flatMap((part) => (part.type === "tool-call" && "toolCallId" in part ? [part.toolCallId] : []));
    const withoutIds = (parts: Awaited<ReturnType<typeof run>>) =>
      JSON.parse(JSON.stringify(parts).replace(/call_\d+_[0-9a-f]+/g, "call")) as unknown;
    const first = await run("use get_time and use get_weather");
    const second = await run("use get_time and use get_weather");
    expect(withoutIds(second)).toEqual(withoutIds(first));
    // The outbox keys side effects on the tool call id: the same request in another conversation is another call.
    const ids = [...idsOf(first), ...idsOf(second)];
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
  });
});

describe("doStream protocol", () => {
  it("emits the V3 parts in order with usage and a fixed timestamp", async () => {
    const { stream } = await instant.doStream(callOptions("count to 2"));
    const parts = await readAll(stream);
    expect(parts).toEqual([
      { type: "stream-start", warnings: [] },
      { type: "response-metadata", id: expect.stringMatching(/^demo_/), modelId: "demo", timestamp: new Date(0) },
      { type: "text-start", id: "text_0" },
      { type: "text-delta", id: "text_0", delta: "1" },
      { type: "text-delta", id: "text_0", delta: " 2" },
      { type: "text-end", id: "text_0" },
      {
        type: "finish",
        finishReason: { unified: "stop", raw: undefined },
        usage: {
          inputTokens: { total: expect.any(Number), noCache: expect.any(Number), cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: 2, text: 2, reasoning: 0 },
        },
      },
    ]);
  });

  it("emits tool calls with a tool-calls finish reason", async () => {
    const tools: LanguageModelV3CallOptions["tools"] = [
      { type: "function", name: "get_time", inputSchema: { type: "object" } },
    ];
    const { stream } = await instant.doStream(callOptions('use get_time with {"zone": "UTC"}', { tools }));
    const parts = await readAll(stream);
    expect(parts.filter((part) => part.type === "tool-call")).toEqual([
      { type: "tool-call", toolCallId: expect.stringMatching(/^call_0_[0-9a-f]+$/), toolName: "get_time", input: '{"zone":"UTC"}' },
    ]);
    expect(parts.at(-1)).toMatchObject({ type: "finish", finishReason: { unified: "tool-calls" } });
  });

  it("does not call tools when tool choice is none", async () => {
    const tools: LanguageModelV3CallOptions["tools"] = [
      { type: "function", name: "get_time", inputSchema: { type: "object" } },
    ];
    const { stream } = await instant.doStream(callOptions("use get_time", { tools, toolChoice: { type: "none" } }));
    const parts = await readAll(stream);
    expect(parts.some((part) => part.type === "tool-call")).toBe(false);
  });

  it("summarises several tool results, ignoring approval responses", async () => {
    const { stream } = await instant.doStream({
      prompt: [
        { role: "user", content: [{ type: "text", text: "use a and use b" }] },
        {
          role: "tool",
          content: [
            { type: "tool-approval-response", approvalId: "approval_1", approved: false },
            { type: "tool-result", toolCallId: "1", toolName: "a", output: { type: "text", value: "ok" } },
            { type: "tool-result", toolCallId: "2", toolName: "b", output: { type: "error-text", value: "boom" } },
          ],
        },
      ],
    });
    const text = (await readAll(stream)).flatMap((part) => (part.type === "text-delta" ? [part.delta] : [])).join("");
    expect(text).toBe('a returned "ok"\nb failed: boom');
  });

  it("rejects when the signal is already aborted", async () => {
    const abortController = new AbortController();
    abortController.abort();
    await expect(instant.doStream(callOptions("hello", { abortSignal: abortController.signal }))).rejects.toThrow();
    await expect(instant.doGenerate(callOptions("hello", { abortSignal: abortController.signal }))).rejects.toThrow();
  });
});

describe("token delay", () => {
  it("waits the delay before each text delta", async () => {
    vi.useFakeTimers();
    const { stream } = await createDemoModel({ tokenDelayMs: 100 }).doStream(callOptions("count to 3"));
    const deltas: string[] = [];
    let done = false;
    const reading = (async () => {
      for await (const part of partsOf(stream)) if (part.type === "text-delta") deltas.push(part.delta);
      done = true;
    })();
    await vi.advanceTimersByTimeAsync(99);
    expect(deltas).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(deltas).toEqual(["1"]);
    await vi.advanceTimersByTimeAsync(99);
    expect(deltas).toEqual(["1"]);
    await vi.advanceTimersByTimeAsync(201);
    await reading;
    expect(deltas).toEqual(["1", " 2", " 3"]);
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("uses no timers when the delay is 0", async () => {
    // setImmediate stays real: a 0 ms model still yields between batches (next test).
    vi.useFakeTimers({ toFake: ["setTimeout", "setInterval", "Date"] });
    const { stream } = await instant.doStream(callOptions("count to 1000"));
    const parts = await readAll(stream);
    expect(parts.filter((part) => part.type === "text-delta")).toHaveLength(1000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("gives the event loop a turn between batches when the delay is 0", async () => {
    const { stream } = await instant.doStream(callOptions("count to 5000"));
    let turns = 0;
    let ticking = true;
    const tick = () => {
      if (!ticking) return;
      turns += 1;
      setImmediate(tick);
    };
    setImmediate(tick);
    const parts = await readAll(stream);
    ticking = false;
    expect(parts.filter((part) => part.type === "text-delta")).toHaveLength(5000);
    // Read without ever yielding, the whole reply would come in one task and the ticker would not run.
    expect(turns).toBeGreaterThan(5);
  });

  it("errors the stream at once on abort and leaves no timer behind", async () => {
    vi.useFakeTimers();
    const abortController = new AbortController();
    const { stream } = await createDemoModel({ tokenDelayMs: 100 }).doStream(
      callOptions("count to 1000", { abortSignal: abortController.signal }),
    );
    const deltas: string[] = [];
    const reading = (async () => {
      for await (const part of partsOf(stream)) if (part.type === "text-delta") deltas.push(part.delta);
    })();
    const outcome = reading.then(
      () => "closed",
      (error: unknown) => (error instanceof Error ? error.name : "unknown"),
    );
    await vi.advanceTimersByTimeAsync(250);
    expect(deltas).toEqual(["1", " 2"]);
    expect(vi.getTimerCount()).toBe(1);
    abortController.abort();
    expect(await outcome).toBe("AbortError");
    expect(vi.getTimerCount()).toBe(0);
    expect(deltas).toEqual(["1", " 2"]);
  });

  it("drops parts already queued when aborted, even without a delay", async () => {
    const abortController = new AbortController();
    const { stream } = await instant.doStream(callOptions("count to 1000", { abortSignal: abortController.signal }));
    const reader = stream.getReader();
    await reader.read();
    await reader.read();
    abortController.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: "AbortError" });
  });

  it("clears the pending timer when the consumer cancels", async () => {
    vi.useFakeTimers();
    const { stream } = await createDemoModel({ tokenDelayMs: 100 }).doStream(callOptions("count to 1000"));
    const reader = stream.getReader();
    await reader.read();
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    await reader.cancel();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("generateText", () => {
  it("returns the same answers without streaming", async () => {
    expect((await generateText({ model: instant, prompt: "count to 3" })).text).toBe("1 2 3");
    const execute = vi.fn(async () => ({ hour: 9 }));
    const result = await generateText({
      model: instant,
      prompt: "use get_time",
      tools: { get_time: timeTool(execute) },
      stopWhen: stepCountIs(3),
    });
    expect(result.steps[0]?.toolCalls[0]?.toolCallId).toMatch(/^call_0_/);
    expect(result.text).toBe('get_time returned {"hour":9}');
  });

  it("throws for fail", async () => {
    await expect(generateText({ model: instant, prompt: "fail", maxRetries: 0 })).rejects.toThrow("demo model failure");
  });
});
