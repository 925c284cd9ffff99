import type { LanguageModelV3Prompt } from "@ai-sdk/provider";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  countingTokens,
  describeToolResults,
  hashText,
  isFailRequest,
  lastUserText,
  parseCountRequest,
  parseToolRequest,
  planDemoReply,
  scanBalancedBraces,
  splitIntoTokens,
} from "./demo-prompt";

const tools = new Set(["get_time", "get_weather"]);

describe("parseCountRequest", () => {
  it("accepts 1..100000 case-insensitively", () => {
    expect(parseCountRequest("count to 5")).toBe(5);
    expect(parseCountRequest("COUNT To 7")).toBe(7);
    expect(parseCountRequest("count to 1")).toBe(1);
    expect(parseCountRequest("count to 100000")).toBe(100_000);
  });

  it("rejects out-of-range and malformed counts", () => {
    expect(parseCountRequest("count to 0")).toBeUndefined();
    expect(parseCountRequest("count to 100001")).toBeUndefined();
    expect(parseCountRequest("count to 99999999999999999999999")).toBeUndefined();
    expect(parseCountRequest("count to -3")).toBeUndefined();
    expect(parseCountRequest("count to 2.5")).toBeUndefined();
    expect(parseCountRequest("count to five")).toBeUndefined();
    expect(parseCountRequest("please count to 5")).toBeUndefined();
  });
});

describe("countingTokens", () => {
  it("puts one number per delta with the separating space in front", () => {
    expect(countingTokens(4)).toEqual(["1", " 2", " 3", " 4"]);
  });
});

describe("isFailRequest", () => {
  it("matches only the whole word fail", () => {
    expect(isFailRequest("fail")).toBe(true);
    expect(isFailRequest("FAIL")).toBe(true);
    expect(isFailRequest("failure")).toBe(false);
    expect(isFailRequest("do not fail")).toBe(false);
  });
});

describe("splitIntoTokens", () => {
  it("keeps the whitespace in front of each word", () => {
    expect(splitIntoTokens("You said: hi  there\nfriend")).toEqual(["You", " said:", " hi", "  there", "\nfriend"]);
    expect(splitIntoTokens("")).toEqual([]);
  });

  it("always concatenates back to the original text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        expect(splitIntoTokens(text).join("")).toBe(text);
      }),
    );
  });
});

describe("scanBalancedBraces", () => {
  it("finds the matching brace, ignoring braces and quotes inside strings", () => {
    const text = 'x {"a": {"b": "}{"}, "c": "say \\"}\\" ok"} tail';
    const end = scanBalancedBraces(text, 2);
    expect(text.slice(2, end)).toBe('{"a": {"b": "}{"}, "c": "say \\"}\\" ok"}');
  });

  it("returns undefined when the braces never balance or there is no brace", () => {
    expect(scanBalancedBraces('{"a": {"b": 1}', 0)).toBeUndefined();
    expect(scanBalancedBraces('{"a": "}', 0)).toBeUndefined();
    expect(scanBalancedBraces("abc", 0)).toBeUndefined();
  });

  it("finds the end of any JSON object followed by more text", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (value, tail) => {
        const json = JSON.stringify(value);
        expect(scanBalancedBraces(json + tail, 0)).toBe(json.length);
      }),
    );
  });
});

describe("parseToolRequest", () => {
  it("ignores messages that are not tool requests", () => {
    expect(parseToolRequest("hello", tools)).toBeUndefined();
    expect(parseToolRequest("user get_time", tools)).toBeUndefined();
    expect(parseToolRequest("use", tools)).toBeUndefined();
  });

  it("reads a bare tool, a tool with input and case-insensitive keywords", () => {
    expect(parseToolRequest("use get_time", tools)).toEqual({
      type: "calls",
      calls: [{ toolName: "get_time", input: "{}" }],
    });
    expect(parseToolRequest('Use get_weather WITH { "city" : "Oslo" }', tools)).toEqual({
      type: "calls",
      calls: [{ toolName: "get_weather", input: '{"city":"Oslo"}' }],
    });
    expect(parseToolRequest('use get_weather with{"city":"Oslo"}', tools)).toMatchObject({ type: "calls" });
  });

  it("reads several clauses joined by and", () => {
    expect(parseToolRequest('use get_time and use get_weather with {"city": "Rome"} AND use get_time', tools)).toEqual({
      type: "calls",
      calls: [
        { toolName: "get_time", input: "{}" },
        { toolName: "get_weather", input: '{"city":"Rome"}' },
        { toolName: "get_time", input: "{}" },
      ],
    });
  });

  it("does not split on an and inside a JSON string", () => {
    expect(parseToolRequest('use get_weather with {"city": "Bosnia and Herzegovina"} and use get_time', tools)).toEqual({
      type: "calls",
      calls: [
        { toolName: "get_weather", input: '{"city":"Bosnia and Herzegovina"}' },
        { toolName: "get_time", input: "{}" },
      ],
    });
  });

  it("refuses unknown tools, naming the ones available", () => {
    expect(parseToolRequest("use get_time and use launch_rocket", tools)).toEqual({
      type: "refusal",
      toolName: "launch_rocket",
      reason: "unknown tool (available: get_time, get_weather)",
    });
    expect(parseToolRequest("use get_time", new Set())).toEqual({
      type: "refusal",
      toolName: "get_time",
      reason: "no tools are available",
    });
  });

  it("refuses invalid, unbalanced or missing JSON and trailing text", () => {
    expect(parseToolRequest("use get_weather with {city: Oslo}", tools)).toMatchObject({
      type: "refusal",
      toolName: "get_weather",
      reason: expect.stringMatching(/^invalid JSON: /),
    });
    expect(parseToolRequest('use get_weather with {"city": "Oslo"', tools)).toEqual({
      type: "refusal",
      toolName: "get_weather",
      reason: "invalid JSON: unbalanced braces",
    });
    expect(parseToolRequest("use get_weather with", tools)).toEqual({
      type: "refusal",
      toolName: "get_weather",
      reason: 'expected a JSON object after "with"',
    });
    expect(parseToolRequest("use get_time please", tools)).toEqual({
      type: "refusal",
      toolName: "get_time",
      reason: 'unexpected text "please"',
    });
    expect(parseToolRequest("use get_time and tell me", tools)).toEqual({
      type: "refusal",
      toolName: "get_time",
      reason: 'expected "use TOOL" after "and"',
    });
  });
});

describe("describeToolResults", () => {
  it("describes every output kind, one result per line", () => {
    const text = describeToolResults([
      { type: "tool-result", toolCallId: "1", toolName: "a", output: { type: "json", value: { hour: 9 } } },
      { type: "tool-result", toolCallId: "2", toolName: "b", output: { type: "text", value: 'say "hi"' } },
      { type: "tool-result", toolCallId: "3", toolName: "c", output: { type: "execution-denied" } },
      { type: "tool-result", toolCallId: "4", toolName: "d", output: { type: "execution-denied", reason: "no" } },
      { type: "tool-result", toolCallId: "5", toolName: "e", output: { type: "error-text", value: "boom" } },
      { type: "tool-result", toolCallId: "6", toolName: "f", output: { type: "error-json", value: { code: 1 } } },
    ]);
    expect(text).toBe(
      [
        'a returned {"hour":9}',
        'b returned "say \\"hi\\""',
        "c was denied",
        "d was denied: no",
        "e failed: boom",
        'f failed: {"code":1}',
      ].join("\n"),
    );
  });
});

describe("planDemoReply", () => {
  it("summarises tool results when the last message is a tool message, ignoring approval responses", () => {
    const prompt: LanguageModelV3Prompt = [
      { role: "user", content: [{ type: "text", text: "use get_time" }] },
      { role: "assistant", content: [{ type: "tool-call", toolCallId: "1", toolName: "get_time", input: {} }] },
      {
        role: "tool",
        content: [
          { type: "tool-approval-response", approvalId: "x", approved: true },
          { type: "tool-result", toolCallId: "1", toolName: "get_time", output: { type: "json", value: 9 } },
        ],
      },
    ];
    expect(planDemoReply(prompt, tools)).toEqual({ type: "text", tokens: ["get_time", " returned", " 9"] });
  });

  it("answers the last user message, trimmed", () => {
    const prompt: LanguageModelV3Prompt = [
      { role: "system", content: "be nice" },
      { role: "user", content: [{ type: "text", text: "count to 2" }] },
      { role: "assistant", content: [{ type: "text", text: "1 2" }] },
      { role: "user", content: [{ type: "text", text: "  hello " }, { type: "text", text: "world  " }] },
    ];
    expect(lastUserText(prompt)).toBe("  hello world  ");
    expect(planDemoReply(prompt, tools)).toEqual({ type: "text", tokens: ["You", " said:", " hello", " world"] });
  });

  it("turns a refused tool request into text", () => {
    const prompt: LanguageModelV3Prompt = [{ role: "user", content: [{ type: "text", text: "use nope" }] }];
    expect(planDemoReply(prompt, tools)).toEqual({
      type: "text",
      tokens: splitIntoTokens("I cannot use nope: unknown tool (available: get_time, get_weather)"),
    });
  });

  it("plans a failure for fail", () => {
    const prompt: LanguageModelV3Prompt = [{ role: "user", content: [{ type: "text", text: "fail" }] }];
    expect(planDemoReply(prompt, tools)).toEqual({
      type: "failure",
      tokens: ["Something", " is", " about", " to", " fail"],
    });
  });
});

describe("hashText", () => {
  it("is stable, short and sensitive to every character", () => {
    expect(hashText("hello")).toBe(hashText("hello"));
    expect(hashText("hello")).toMatch(/^[0-9a-f]{12}$/);
    expect(hashText("hello")).not.toBe(hashText("hellp"));
    expect(hashText("ab")).not.toBe(hashText("ba"));
  });
});
