import type { UIMessage } from "ai";
import { expect } from "vitest";
import type { ExecutionBody as Execution } from "./assertions";
import { settled as waitForStatus } from "./executions";
import { chunksOf, parseSse, userMessage } from "./tether";

export type Chunk = Record<string, unknown> & { type: string };

export const ofType = (chunks: Chunk[], type: string) => chunks.filter((chunk) => chunk.type === type);

/**
 * A test's HTTP client of one Tether: JSON requests, whole chat turns, approval answers the way the AI SDK
 * client gives them. Every answer it read is kept in `seen`, for sweeps (a credential must be in none).
 */
export function createChatClient(baseUrl: () => string, options: { settleMs?: number } = {}) {
  const seen: string[] = [];

  async function request(pathname: string, init: RequestInit & { json?: unknown } = {}) {
    const { json, ...rest } = init;
    const response = await fetch(`${baseUrl()}${pathname}`, {
      ...(json === undefined ? {} : { method: "POST", body: JSON.stringify(json) }),
      ...rest,
      headers: { "content-type": "application/json", ...rest.headers },
    });
    const text = await response.text();
    seen.push(`${response.status} ${JSON.stringify([...response.headers])} ${text}`);
    return { status: response.status, headers: response.headers, text, json: <T>() => JSON.parse(text) as T };
  }
  const execution = async (id: string) => (await request(`/api/executions/${id}`)).json<Execution>();
  const settled = (id: string, status: Execution["status"]) => waitForStatus(execution, id, status, options.settleMs ?? 15_000);

  /** One chat turn read to its end: its chunks and execution id. */
  async function chat(conversationId: string, agentId: string, messages: UIMessage[]) {
    const response = await request("/api/chat", { json: { id: conversationId, agentId, messages } });
    expect(response.status).toBe(200);
    return { executionId: response.headers.get("x-execution-id")!, chunks: chunksOf(parseSse(response.text)) as Chunk[] };
  }
  const say = (conversationId: string, agentId: string, text: string) => chat(conversationId, agentId, [userMessage(text)]);

  /** Answers the pending approval the way the AI SDK client does: the conversation posted back, the part answered. */
  async function answerInMessage(conversationId: string, agentId: string, approved: boolean) {
    const stored = (await request(`/api/conversations/${conversationId}`)).json<{ messages: UIMessage[] }>();
    const last = stored.messages.at(-1)!;
    const answered = {
      ...last,
      parts: last.parts.map((part) =>
        part.type.startsWith("tool-") && "state" in part && part.state === "approval-requested" && "approval" in part && part.approval
          ? { ...part, state: "approval-responded", approval: { id: part.approval.id, approved } }
          : part,
      ),
    } as UIMessage;
    return chat(conversationId, agentId, [...stored.messages.slice(0, -1), answered]);
  }

  /** A stream read whole (a replay or a resume): its chunks. */
  const streamChunks = async (pathname: string) => chunksOf(parseSse((await request(pathname)).text)) as Chunk[];

  return { seen, request, execution, settled, chat, say, answerInMessage, streamChunks };
}
