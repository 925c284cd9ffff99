/**
 * Pure prompt interpretation for the offline `demo` model: decides what the model replies
 * (counting, tool calls, a failure, tool-result summaries or an echo) without any I/O or timing.
 */
import type {
  LanguageModelV3Prompt,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3ToolResultPart,
} from "@ai-sdk/provider";

/** Largest N accepted by `count to N`; anything larger is echoed like any other message. */
export const maximumCount = 100_000;

/** A tool call the demo model decided to make; `input` is JSON text of an object. */
export interface DemoToolCall {
  toolName: string;
  input: string;
}

/** What the demo model answers to a prompt. Text is pre-split into the deltas to stream. */
export type DemoReply =
  | { type: "text"; tokens: string[] }
  | { type: "tool-calls"; calls: DemoToolCall[] }
  | { type: "failure"; tokens: string[] };

/** The outcome of reading a `use TOOL [with {json}] [and use …]` message. */
export type ToolRequest =
  | { type: "calls"; calls: DemoToolCall[] }
  | { type: "refusal"; toolName: string; reason: string };

/** Tokens streamed before the `fail` command makes the stream error. */
export const failureTokens: readonly string[] = ["Something", " is", " about", " to", " fail"];

/**
 * Decides the reply to `prompt`. `availableToolNames` are the function tools the caller offered;
 * an empty set means no tool may be called.
 */
export function planDemoReply(prompt: LanguageModelV3Prompt, availableToolNames: ReadonlySet<string>): DemoReply {
  const lastMessage = prompt.at(-1);
  if (lastMessage?.role === "tool") {
    const results = lastMessage.content.filter(
      (part): part is LanguageModelV3ToolResultPart => part.type === "tool-result",
    );
    return { type: "text", tokens: splitIntoTokens(describeToolResults(results)) };
  }

  const message = lastUserText(prompt).trim();
  const count = parseCountRequest(message);
  if (count !== undefined) return { type: "text", tokens: countingTokens(count) };

  const toolRequest = parseToolRequest(message, availableToolNames);
  if (toolRequest?.type === "calls") return { type: "tool-calls", calls: toolRequest.calls };
  if (toolRequest?.type === "refusal") {
    return { type: "text", tokens: splitIntoTokens(`I cannot use ${toolRequest.toolName}: ${toolRequest.reason}`) };
  }

  if (isFailRequest(message)) return { type: "failure", tokens: [...failureTokens] };
  return { type: "text", tokens: splitIntoTokens(`You said: ${message}`) };
}

/** The concatenated text parts of the last `user` message, or "" when there is none. */
export function lastUserText(prompt: LanguageModelV3Prompt): string {
  for (let index = prompt.length - 1; index >= 0; index--) {
    const message = prompt[index];
    if (message?.role !== "user") continue;
    return message.content.map((part) => (part.type === "text" ? part.text : "")).join("");
  }
  return "";
}

/** N from `count to N` (case-insensitive) when 1 ≤ N ≤ {@link maximumCount}, else undefined. */
export function parseCountRequest(message: string): number | undefined {
  const match = /^count\s+to\s+(\d+)$/i.exec(message);
  if (!match) return undefined;
  const count = Number(match[1]);
  return count >= 1 && count <= maximumCount ? count : undefined;
}

/** Whether the message is the `fail` command. */
export function isFailRequest(message: string): boolean {
  return /^fail$/i.test(message);
}

/** Deltas "1", " 2", …, " N": one number per delta so clients can watch tokens arrive. */
export function countingTokens(count: number): string[] {
  const tokens = new Array<string>(count);
  for (let number = 1; number <= count; number++) tokens[number - 1] = number === 1 ? "1" : ` ${number}`;
  return tokens;
}

/**
 * Splits text into word deltas whose concatenation is exactly `text`: each delta carries the
 * whitespace that precedes its word, and trailing whitespace becomes a delta of its own.
 */
export function splitIntoTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+/g) ?? [];
}

/** One line per tool result, e.g. `get_time returned {"hour":9}` or `delete was denied: too risky`. */
export function describeToolResults(results: readonly LanguageModelV3ToolResultPart[]): string {
  return results.map((result) => `${result.toolName} ${describeToolOutput(result.output)}`).join("\n");
}

function describeToolOutput(output: LanguageModelV3ToolResultOutput): string {
  switch (output.type) {
    case "json":
    case "text":
    case "content":
      return `returned ${JSON.stringify(output.value)}`;
    case "execution-denied":
      return output.reason ? `was denied: ${output.reason}` : "was denied";
    case "error-text":
      return `failed: ${output.value}`;
    case "error-json":
      return `failed: ${JSON.stringify(output.value)}`;
  }
}

/**
 * Reads `use TOOL`, `use TOOL with {json}` and several such clauses joined by ` and `.
 * Returns undefined when the message does not start with `use <word>`; otherwise either every
 * call or a refusal naming the first clause that cannot be honoured.
 */
export function parseToolRequest(message: string, availableToolNames: ReadonlySet<string>): ToolRequest | undefined {
  if (!/^use\s+\S/i.test(message)) return undefined;

  const clauseStart = /use\s+(\S+)/iy;
  const withKeyword = /\s+with(?=\s|\{|$)\s*/iy;
  const separator = /\s+and\s+/iy;
  const calls: DemoToolCall[] = [];
  let position = 0;

  for (;;) {
    clauseStart.lastIndex = position;
    const clause = clauseStart.exec(message);
    const previousTool = calls.at(-1)?.toolName ?? "";
    if (!clause) return { type: "refusal", toolName: previousTool, reason: `expected "use TOOL" after "and"` };
    const toolName = clause[1]!;
    position = clauseStart.lastIndex;

    if (!availableToolNames.has(toolName)) {
      return { type: "refusal", toolName, reason: describeUnknownTool(availableToolNames) };
    }

    let input = "{}";
    withKeyword.lastIndex = position;
    if (withKeyword.test(message)) {
      position = withKeyword.lastIndex;
      const parsed = readJsonObject(message, position);
      if ("reason" in parsed) return { type: "refusal", toolName, reason: parsed.reason };
      input = parsed.json;
      position = parsed.end;
    }
    calls.push({ toolName, input });

    if (position === message.length) return { type: "calls", calls };
    separator.lastIndex = position;
    if (!separator.test(message)) {
      return { type: "refusal", toolName, reason: `unexpected text ${JSON.stringify(message.slice(position).trim())}` };
    }
    position = separator.lastIndex;
  }
}

function describeUnknownTool(availableToolNames: ReadonlySet<string>): string {
  if (availableToolNames.size === 0) return "no tools are available";
  return `unknown tool (available: ${[...availableToolNames].join(", ")})`;
}

function readJsonObject(text: string, start: number): { json: string; end: number } | { reason: string } {
  if (text[start] !== "{") return { reason: `expected a JSON object after "with"` };
  const end = scanBalancedBraces(text, start);
  if (end === undefined) return { reason: "invalid JSON: unbalanced braces" };
  try {
    return { json: JSON.stringify(JSON.parse(text.slice(start, end))), end };
  } catch (error) {
    return { reason: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Given `text[start] === "{"`, returns the index just past the matching `}`, skipping braces
 * inside JSON strings (with their backslash escapes); undefined when the braces never balance.
 */
export function scanBalancedBraces(text: string, start: number): number | undefined {
  if (text[start] !== "{") return undefined;
  let depth = 0;
  let insideString = false;
  for (let index = start; index < text.length; index++) {
    const character = text[index];
    if (insideString) {
      if (character === "\\") index++;
      else if (character === '"') insideString = false;
    } else if (character === '"') {
      insideString = true;
    } else if (character === "{") {
      depth++;
    } else if (character === "}") {
      depth--;
      if (depth === 0) return index + 1;
    }
  }
  return undefined;
}

/**
 * A short, stable, non-cryptographic hash (two FNV-1a lanes, 12 hex digits) used to make ids
 * that are identical for identical prompts; it avoids node:crypto so it runs in any sandbox.
 */
export function hashText(text: string): string {
  let first = 0x811c9dc5;
  let second = 0x01000193 ^ text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    first = Math.imul(first ^ code, 0x01000193);
    second = Math.imul(second ^ code, 0x5bd1e995);
    second ^= second >>> 15;
  }
  const hex = (value: number) => (value >>> 0).toString(16).padStart(8, "0");
  return (hex(first) + hex(second)).slice(0, 12);
}
