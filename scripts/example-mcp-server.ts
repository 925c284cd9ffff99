/**
 * `npm run example:mcp`: a small MCP server to try tool servers with. Tools: `define` (read-only, runs
 * without approval) and `add_note` (a side effect, not idempotent: Tether asks before each call).
 * Streamable HTTP at http://127.0.0.1:<port>/mcp. Set EXAMPLE_MCP_TOKEN to require `Authorization: Bearer <it>`.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

const port = Number(process.env.EXAMPLE_MCP_PORT ?? 3001);
const token = process.env.EXAMPLE_MCP_TOKEN;
const words: Record<string, string> = {
  tether: "a rope that keeps something from drifting away",
  durable: "able to last; surviving a crash",
  agent: "one who acts on behalf of another",
};
const notes: string[] = [];

function notesServer(): McpServer {
  const server = new McpServer({ name: "tether-example", version: "1.0.0" });
  server.registerTool(
    "define",
    { description: "Defines a word.", inputSchema: { word: z.string() }, annotations: { readOnlyHint: true } },
    async ({ word }) => ({ content: [{ type: "text", text: words[word.toLowerCase()] ?? `no definition for ${word}` }] }),
  );
  server.registerTool(
    "add_note",
    {
      description: "Adds a note to the list (a side effect).",
      inputSchema: { text: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false },
    },
    async ({ text }) => {
      notes.push(text);
      console.log(`note ${notes.length}: ${text}`);
      return { content: [{ type: "text", text: `note ${notes.length} added` }] };
    },
  );
  return server;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return parts.length === 0 ? undefined : JSON.parse(Buffer.concat(parts).toString("utf8"));
}

const sessions = new Map<string, StreamableHTTPServerTransport>();

const http = createServer(async (request, response) => {
  if (new URL(request.url ?? "/", "http://localhost").pathname !== "/mcp") return response.writeHead(404).end();
  if (token && request.headers.authorization !== `Bearer ${token}`) return response.writeHead(401).end();
  try {
    const body = request.method === "POST" ? await readJson(request) : undefined;
    const sessionId = request.headers["mcp-session-id"];
    let transport = typeof sessionId === "string" ? sessions.get(sessionId) : undefined;
    if (!transport && sessionId === undefined && isInitializeRequest(body)) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, created),
        onsessionclosed: (id) => void sessions.delete(id),
      });
      await notesServer().connect(created);
      transport = created;
    }
    if (!transport) return response.writeHead(404).end("unknown session");
    await transport.handleRequest(request, response, body);
  } catch {
    if (!response.headersSent) response.writeHead(400).end("bad request");
  }
});

http.listen(port, "127.0.0.1", () => {
  console.log(`example MCP server at http://127.0.0.1:${port}/mcp${token ? " (Bearer token required)" : ""}`);
});
