import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/**
 * A real MCP server for tests, on a free loopback port: Streamable HTTP at `/mcp` (one session per
 * client) and the legacy SSE transport at `/sse`. Every request must carry `Authorization: Bearer <token>`.
 * Tools: `lookup` (read-only), `record` (a side effect, not idempotent), `explode` (answers an error),
 * `hang` (never answers until the call is cancelled or the server stops). With `slowMs`, also two that
 * answer after that long: `slow_record` (a side effect, not idempotent) and `slow_touch` (idempotent).
 */
export interface TestMcpServer {
  /** The Streamable HTTP endpoint. */
  url: string;
  /** The legacy SSE endpoint. */
  sseUrl: string;
  /** How often the tool ran (counted when the call arrives). */
  calls(toolName: string): number;
  /** The arguments of every call of the tool, in order. */
  argumentsOf(toolName: string): unknown[];
  /** Sessions opened and ended (a client's DELETE, or its SSE connection closing). */
  sessions: { opened: number; closed: number; open(): number };
  /** Authorization headers the server refused. */
  rejected: string[];
  stop(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  const text = Buffer.concat(parts).toString("utf8");
  return text === "" ? undefined : JSON.parse(text);
}

export async function startTestMcpServer(options: { token: string; slowMs?: number }): Promise<TestMcpServer> {
  const counts = new Map<string, unknown[]>();
  const sessions = { opened: 0, closed: 0, open: () => sessions.opened - sessions.closed };
  const rejected: string[] = [];
  const stopping = new AbortController();
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const legacy = new Map<string, SSEServerTransport>();
  const count = (name: string, input: unknown) => counts.set(name, [...(counts.get(name) ?? []), input]);

  function toolServer(): McpServer {
    const server = new McpServer({ name: "tether-test-tools", version: "1.0.0" });
    server.registerTool(
      "lookup",
      { description: "Looks a word up.", inputSchema: { query: z.string() }, annotations: { readOnlyHint: true } },
      async ({ query }) => {
        count("lookup", { query });
        return { content: [{ type: "text", text: `found ${query}` }] };
      },
    );
    server.registerTool(
      "record",
      {
        description: "Records a note (a side effect).",
        inputSchema: { note: z.string() },
        annotations: { readOnlyHint: false, destructiveHint: false },
      },
      async ({ note }) => {
        count("record", { note });
        return { content: [{ type: "text", text: `recorded ${note}` }] };
      },
    );
    server.registerTool(
      "explode",
      { description: "Always fails.", inputSchema: {}, annotations: { readOnlyHint: true } },
      async () => {
        count("explode", {});
        throw new Error("kaboom");
      },
    );
    server.registerTool(
      "hang",
      { description: "Never answers.", inputSchema: {}, annotations: { readOnlyHint: true } },
      async (_input, extra) => {
        count("hang", {});
        await new Promise<void>((resolve) => {
          extra.signal.addEventListener("abort", () => resolve(), { once: true });
          stopping.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        return { content: [{ type: "text", text: "too late" }] };
      },
    );
    const { slowMs } = options;
    for (const [name, idempotentHint] of slowMs === undefined ? [] : ([["slow_record", false], ["slow_touch", true]] as const)) {
      server.registerTool(
        name,
        {
          description: `Answers after ${slowMs} ms (${idempotentHint ? "idempotent" : "a side effect"}).`,
          inputSchema: { note: z.string() },
          annotations: { readOnlyHint: false, idempotentHint },
        },
        async ({ note }) => {
          count(name, { note });
          await new Promise((resolve) => setTimeout(resolve, slowMs));
          return { content: [{ type: "text", text: `${name} done: ${note}` }] };
        },
      );
    }
    return server;
  }

  async function handleStreamable(request: IncomingMessage, response: ServerResponse) {
    const sessionId = request.headers["mcp-session-id"];
    const body = request.method === "POST" ? await readBody(request) : undefined;
    let transport = typeof sessionId === "string" ? streamable.get(sessionId) : undefined;
    if (!transport && request.method === "POST" && sessionId === undefined && isInitializeRequest(body)) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          streamable.set(id, created);
          sessions.opened++;
        },
        onsessionclosed: (id) => {
          if (streamable.delete(id)) sessions.closed++;
        },
      });
      await toolServer().connect(created);
      transport = created;
    }
    if (!transport) {
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "unknown session" }));
      return;
    }
    await transport.handleRequest(request, response, body);
  }

  async function handleLegacy(request: IncomingMessage, response: ServerResponse, url: URL) {
    if (request.method === "GET" && url.pathname === "/sse") {
      const transport = new SSEServerTransport("/messages", response);
      legacy.set(transport.sessionId, transport);
      sessions.opened++;
      response.on("close", () => {
        if (legacy.delete(transport.sessionId)) sessions.closed++;
      });
      await toolServer().connect(transport);
      return;
    }
    const transport = legacy.get(url.searchParams.get("sessionId") ?? "");
    if (request.method !== "POST" || !transport) {
      response.writeHead(404).end();
      return;
    }
    await transport.handlePostMessage(request, response, await readBody(request));
  }

  const http = createServer((request, response) => {
    const authorization = request.headers.authorization ?? "";
    if (authorization !== `Bearer ${options.token}`) {
      rejected.push(authorization);
      response.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: "unauthorized" }));
      return;
    }
    const url = new URL(request.url ?? "/", "http://localhost");
    const handled = url.pathname === "/mcp" ? handleStreamable(request, response) : handleLegacy(request, response, url);
    handled.catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  const port = await new Promise<number>((resolve) =>
    http.listen(0, "127.0.0.1", () => resolve((http.address() as AddressInfo).port)),
  );

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    sseUrl: `http://127.0.0.1:${port}/sse`,
    calls: (toolName) => counts.get(toolName)?.length ?? 0,
    argumentsOf: (toolName) => counts.get(toolName) ?? [],
    sessions,
    rejected,
    async stop() {
      stopping.abort();
      await Promise.allSettled([...streamable.values(), ...legacy.values()].map((transport) => transport.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
