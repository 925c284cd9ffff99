import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISO, expectError, expectInvalid } from "./support/assertions";
import { databaseKinds } from "./support/database";
import { startTestMcpServer, type TestMcpServer } from "./support/mcp-server";
import { startTestTether, type TestTether } from "./support/tether";

const ADMIN_KEY = `admin-${randomBytes(8).toString("hex")}`;
const JWT_SECRET = `jwt-${randomBytes(16).toString("hex")}`;
// Random per run: a match anywhere can only come from Tether handing the value on.
const TOKEN = `mcp-token-${randomBytes(12).toString("hex")}`;
const LITERAL_TOKEN = `literal-${randomBytes(12).toString("hex")}`;

interface ToolServerBody {
  id: string;
  name: string;
  url: string;
  transport: string;
  headers: Record<string, unknown>;
  tools: Array<{ name: string; description: string; inputSchema: unknown; annotations: Record<string, unknown>; approval: string; needsApproval: boolean }>;
  toolsError?: string;
  createdAt: string;
  updatedAt: string;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An HTTP server that is not an MCP server: it answers every request with a web page. */
async function startWebPage(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" }).end("<html><body>hello</body></html>");
  });
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe.each(databaseKinds())("tool server routes on %s", (kind) => {
  let t: TestTether;
  let mcp: TestMcpServer;
  let userToken: string;
  /** Every answer of this suite, swept for header values at the end. */
  const answers: string[] = [];

  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  async function call(pathname: string, init: RequestInit & { json?: unknown } = {}, token = ADMIN_KEY) {
    const response = await t.request(pathname, { ...init, headers: { ...as(token), ...init.headers } });
    const text = await response.clone().text();
    answers.push(`${response.status} ${JSON.stringify([...response.headers])} ${text}`);
    return response;
  }
  const register = (json: unknown) => call("/api/tool-servers", { json });
  const authorization = { Authorization: { credential: "NOTES_TOKEN", prefix: "Bearer " } };

  beforeAll(async () => {
    mcp = await startTestMcpServer({ token: TOKEN });
    t = await startTestTether(kind, {
      TETHER_API_KEYS: ADMIN_KEY,
      TETHER_JWT_SECRET: JWT_SECRET,
      TETHER_CREDENTIAL_NOTES_TOKEN: TOKEN,
      TETHER_CREDENTIAL_WRONG_TOKEN: "not-the-token",
      TETHER_TOOL_TIMEOUT: "5s",
    });
    userToken = await sign({ sub: "bob", exp: Math.floor(Date.now() / 1000) + 3600 }, JWT_SECRET, "HS256");
  });
  afterAll(async () => {
    await t?.dispose();
    await mcp?.stop();
  });

  it("POST registers a server (201) and answers its tools with their annotations and approvals", async () => {
    const response = await register({ id: "notes", name: "Notes", url: mcp.url, headers: authorization });
    expect(response.status).toBe(201);
    const server = (await response.json()) as ToolServerBody;
    expect(server).toMatchObject({
      id: "notes",
      name: "Notes",
      url: mcp.url,
      transport: "http",
      headers: { Authorization: { credential: "NOTES_TOKEN", prefix: "Bearer " } },
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    const byName = Object.fromEntries(server.tools.map((tool) => [tool.name, tool]));
    expect(Object.keys(byName).sort()).toEqual(["explode", "hang", "lookup", "record"]);
    expect(byName.lookup).toEqual({
      name: "lookup",
      description: "Looks a word up.",
      inputSchema: expect.objectContaining({ type: "object", properties: { query: expect.objectContaining({ type: "string" }) } }),
      annotations: { readOnlyHint: true },
      approval: "auto",
      needsApproval: false,
    });
    expect(byName.record).toMatchObject({ annotations: { readOnlyHint: false, destructiveHint: false }, approval: "auto", needsApproval: true });
    // The server got the credential it expects, and the session was ended after listing.
    expect(mcp.rejected).toEqual([]);
    expect(mcp.sessions.opened).toBeGreaterThan(0);
    expect(mcp.sessions.open()).toBe(0);
  });

  it("GET lists the servers and GET one answers its tools as the server lists them now", async () => {
    const list = await call("/api/tool-servers");
    expect(list.status).toBe(200);
    const { toolServers } = (await list.json()) as { toolServers: ToolServerBody[] };
    expect(toolServers.map((server) => server.id)).toContain("notes");
    const one = await call("/api/tool-servers/notes");
    expect(one.status).toBe(200);
    const server = (await one.json()) as ToolServerBody;
    expect(server.tools.map((tool) => tool.name).sort()).toEqual(["explode", "hang", "lookup", "record"]);
    expect(server.toolsError).toBeUndefined();
    await expectError(await call("/api/tool-servers/nowhere"), 404, "not_found", /nowhere/);
  });

  it("keeps a literal header value to itself: it comes back as {value: \"***\"}", async () => {
    const literal = await startTestMcpServer({ token: LITERAL_TOKEN });
    try {
      const response = await register({ id: "literal", name: "Literal", url: literal.url, headers: { Authorization: `Bearer ${LITERAL_TOKEN}` } });
      expect(response.status).toBe(201);
      const text = await response.text();
      expect(text).not.toContain(LITERAL_TOKEN);
      expect((JSON.parse(text) as ToolServerBody).headers).toEqual({ Authorization: { value: "***" } });
      expect(literal.rejected).toEqual([]);
      const fetched = await (await call("/api/tool-servers/literal")).text();
      expect(fetched).not.toContain(LITERAL_TOKEN);
    } finally {
      await literal.stop();
    }
  });

  it("speaks the legacy SSE transport too", async () => {
    const response = await register({ id: "notes-sse", name: "Notes over SSE", url: mcp.sseUrl, transport: "sse", headers: authorization });
    expect(response.status).toBe(201);
    const server = (await response.json()) as ToolServerBody;
    expect(server.transport).toBe("sse");
    expect(server.tools.map((tool) => tool.name).sort()).toEqual(["explode", "hang", "lookup", "record"]);
  });

  it("answers 422 when the server cannot be reached, and stores nothing", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;
    const error = await expectError(await register({ id: "gone", name: "Gone", url }), 422, "tool_server_unreachable", /cannot be reached/);
    expect(error.field).toBe("json.url");
    expect((await call("/api/tool-servers/gone")).status).toBe(404);
  });

  it("answers 422 when the server does not speak MCP", async () => {
    const page = await startWebPage();
    try {
      await expectError(await register({ id: "web", name: "Web", url: page.url }), 422, "tool_server_not_mcp", /does not speak MCP/);
      // An MCP server on the other transport is not one on this one either.
      await expectError(
        await register({ id: "wrong-transport", name: "W", url: mcp.url, transport: "sse", headers: authorization }),
        422,
        "tool_server_not_mcp",
        /does not speak MCP/,
      );
    } finally {
      await page.close();
    }
    expect((await call("/api/tool-servers/web")).status).toBe(404);
  });

  it("answers 422 when the server refuses the credentials", async () => {
    const before = mcp.rejected.length;
    await expectError(
      await register({ id: "refused", name: "Refused", url: mcp.url, headers: { Authorization: { credential: "WRONG_TOKEN", prefix: "Bearer " } } }),
      422,
      "tool_server_rejected",
      /refused the credentials/,
    );
    expect(mcp.rejected.slice(before)).toContain("Bearer not-the-token");
  });

  it.each([
    ["a missing name", { url: "http://127.0.0.1:1/mcp" }, /json\.name/],
    ["a URL that is not http(s)", { name: "X", url: "ftp://example.com/mcp" }, /json\.url/],
    ["a URL that is not a URL", { name: "X", url: "not a url" }, /json\.url/],
    ["a URL with a password", { name: "X", url: "http://user:pw@127.0.0.1:1/mcp" }, /json\.url/],
    ["an unknown transport", { name: "X", url: "http://127.0.0.1:1/mcp", transport: "stdio" }, /json\.transport/],
    ["an id with a double underscore", { id: "a__b", name: "X", url: "http://127.0.0.1:1/mcp" }, /json\.id/],
    ["an id with a colon", { id: "a:b", name: "X", url: "http://127.0.0.1:1/mcp" }, /json\.id/],
    ["a header name that is not an HTTP token", { name: "X", url: "http://127.0.0.1:1/mcp", headers: { "Bad Header": "x" } }, /json\.headers/],
    ["a header value with a newline", { name: "X", url: "http://127.0.0.1:1/mcp", headers: { "X-Key": "a\r\nInjected: 1" } }, /json\.headers\.X-Key/],
    ["an invalid credential name", { name: "X", url: "http://127.0.0.1:1/mcp", headers: { "X-Key": { credential: "bad-name!" } } }, /json\.headers\.X-Key/],
    ["a header the transport sets", { name: "X", url: "http://127.0.0.1:1/mcp", headers: { "Mcp-Session-Id": "x" } }, /json\.headers\.Mcp-Session-Id/],
  ])("POST answers 400 for %s, naming the field", async (_label, json, field) => {
    await expectInvalid(await register(json), field);
  });

  it("POST answers 400 for a credential that is not configured here, naming the header", async () => {
    const error = await expectInvalid(
      await register({ name: "X", url: "http://127.0.0.1:1/mcp", headers: { "X-Key": { credential: "NOT_SET" } } }),
      /json\.headers\.X-Key\.credential/,
      /X-Key.*NOT_SET/,
    );
    expect(error.message).toMatch(/TETHER_CREDENTIAL_NOT_SET/);
  });

  it("POST answers 400 for an extra field, naming it", async () => {
    await expectError(await register({ name: "X", url: "http://127.0.0.1:1/mcp", colour: "blue" }), 400, "invalid_input", /colour/);
  });

  it("POST answers 409 when the id is taken (whether or not the server answers)", async () => {
    await expectError(await register({ id: "notes", name: "Again", url: mcp.url, headers: authorization }), 409, "conflict", /notes/);
    await expectError(await register({ id: "notes", name: "Again", url: "http://127.0.0.1:1/mcp" }), 409, "conflict", /notes/);
    expect(((await (await call("/api/tool-servers/notes")).json()) as ToolServerBody).name).toBe("Notes");
  });

  it("answers 403 to a user for every tool server route, and changes nothing", async () => {
    const before = await (await call("/api/tool-servers/notes")).json();
    const attempts = [
      call("/api/tool-servers", {}, userToken),
      call("/api/tool-servers/notes", {}, userToken),
      call("/api/tool-servers", { json: { id: "mine", name: "Mine", url: mcp.url, headers: authorization } }, userToken),
      call("/api/tool-servers/notes", { method: "PATCH", json: { name: "Hijacked" } }, userToken),
      call("/api/tool-servers/notes", { method: "DELETE" }, userToken),
    ];
    for (const response of await Promise.all(attempts)) await expectError(response, 403, "forbidden");
    expect(await (await call("/api/tool-servers/notes")).json()).toEqual(before);
    expect((await call("/api/tool-servers/mine")).status).toBe(404);
  });

  it("PATCH sets per-tool approvals (merged) and any subset of the fields", async () => {
    const first = await call("/api/tool-servers/notes", { method: "PATCH", json: { approvals: { record: "never", lookup: "always" } } });
    expect(first.status).toBe(200);
    const tools = (body: ToolServerBody) => Object.fromEntries(body.tools.map((tool) => [tool.name, [tool.approval, tool.needsApproval]]));
    expect(tools((await first.json()) as ToolServerBody)).toMatchObject({ record: ["never", false], lookup: ["always", true], explode: ["auto", false] });

    const second = await call("/api/tool-servers/notes", { method: "PATCH", json: { name: "Notes 2", approvals: { lookup: "auto" } } });
    const patched = (await second.json()) as ToolServerBody;
    expect(patched.name).toBe("Notes 2");
    expect(tools(patched)).toMatchObject({ record: ["never", false], lookup: ["auto", false] });
    expect(tools((await (await call("/api/tool-servers/notes")).json()) as ToolServerBody)).toMatchObject({ record: ["never", false] });

    await expectInvalid(await call("/api/tool-servers/notes", { method: "PATCH", json: { approvals: { record: "sometimes" } } }), /json\.approvals/);
    await expectInvalid(await call("/api/tool-servers/notes", { method: "PATCH", json: { url: "ftp://x" } }), /json\.url/);
    await expectError(await call("/api/tool-servers/notes", { method: "PATCH", json: { id: "renamed" } }), 400, "invalid_input", /\bid\b/);
    await expectError(await call("/api/tool-servers/ghost", { method: "PATCH", json: { name: "G" } }), 404, "not_found", /ghost/);
    // Back to the defaults for the suites below.
    await call("/api/tool-servers/notes", { method: "PATCH", json: { name: "Notes", approvals: { record: "auto" } } });
  });

  it("GET of a server that is down answers 200 with no tools and says why (it can still be fixed or removed)", async () => {
    const flaky = await startTestMcpServer({ token: TOKEN });
    expect((await register({ id: "flaky", name: "Flaky", url: flaky.url, headers: authorization })).status).toBe(201);
    await flaky.stop();
    const response = await call("/api/tool-servers/flaky");
    expect(response.status).toBe(200);
    const server = (await response.json()) as ToolServerBody;
    expect(server.tools).toEqual([]);
    expect(server.toolsError).toMatch(/cannot be reached/);
    const list = (await (await call("/api/tool-servers")).json()) as { toolServers: ToolServerBody[] };
    expect(list.toolServers.find((entry) => entry.id === "flaky")?.toolsError).toMatch(/cannot be reached/);
    expect(list.toolServers.find((entry) => entry.id === "notes")?.tools.length).toBe(4);
  });

  it("DELETE answers 204, then the server is gone (404)", async () => {
    expect((await call("/api/tool-servers/flaky", { method: "DELETE" })).status).toBe(204);
    await expectError(await call("/api/tool-servers/flaky"), 404, "not_found", /flaky/);
    await expectError(await call("/api/tool-servers/flaky", { method: "DELETE" }), 404, "not_found", /flaky/);
  });

  it("lets agents name a server's tools, and answers 400 naming the entry when the server does not exist", async () => {
    const created = await call("/api/agents", { json: { id: "noter", name: "Noter", tools: ["get_time", "notes:lookup", "notes-sse:*"] } });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { tools: string[] }).tools).toEqual(["get_time", "notes:lookup", "notes-sse:*"]);

    const unknown = await expectInvalid(
      await call("/api/agents", { json: { id: "lost", name: "Lost", tools: ["get_time", "ghost:lookup"] } }),
      /json\.tools\.1/,
      /ghost:lookup/,
    );
    expect(unknown.message).toMatch(/does not exist/);
    expect((await call("/api/agents/lost")).status).toBe(404);
    await expectInvalid(await call("/api/agents/noter", { method: "PATCH", json: { tools: ["ghost:*"] } }), /json\.tools\.0/, /ghost/);
    await expectInvalid(await call("/api/agents", { json: { name: "Bad", tools: ["notes:"] } }), /tools/);
    await expectInvalid(await call("/api/agents", { json: { name: "Bad", tools: ["launch_rockets"] } }), /tools/);
    expect(((await (await call("/api/agents/noter")).json()) as { tools: string[] }).tools).toEqual(["get_time", "notes:lookup", "notes-sse:*"]);
  });

  it("never answered a credential or header value", () => {
    expect(answers.length).toBeGreaterThan(20);
    for (const answer of answers) {
      expect(answer.includes(TOKEN), "an answer holds the credential").toBe(false);
      expect(answer.includes(LITERAL_TOKEN), "an answer holds the literal header").toBe(false);
    }
  });
});
