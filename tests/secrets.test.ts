import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { UIMessage } from "ai";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "./support/database";
import { startTestMcpServer, type TestMcpServer } from "./support/mcp-server";
import {
  chunksOf,
  countText,
  eventually,
  parseSse,
  startTestTether,
  textOf,
  userMessage,
  type TestTether,
} from "./support/tether";
import type { ExecutionBody as Execution } from "./support/assertions";
import { settled } from "./support/executions";

/**
 * Invariant 13: secrets (API keys, credentials) never enter a workflow payload, a step result or a stream;
 * steps resolve credentials by reference from the service-level store. A secret configured in the process
 * may be sent to the model provider it belongs to, and nowhere else: not to a client, not to a table, not
 * to the Workflow SDK's storage.
 */


// Random per run, so a match can only come from this process handing the value on.
const SECRET = `sk-tether-credential-${randomBytes(12).toString("hex")}`;
const OTHER_SECRET = `sk-tether-env-${randomBytes(12).toString("hex")}`;
// Sent to an MCP tool server as its Authorization header, by durable steps.
const TOOL_SERVER_SECRET = `mcp-tether-credential-${randomBytes(12).toString("hex")}`;
const SECRETS = [SECRET, OTHER_SECRET, TOOL_SERVER_SECRET];

const hex = (text: string) => Buffer.from(text, "utf8").toString("hex");

/** Whether `haystack` holds `needle` as text, or as the hex that a `bytea` column prints. */
function holds(haystack: string, needle: string): boolean {
  return haystack.includes(needle) || haystack.toLowerCase().includes(hex(needle));
}

/**
 * The text plus every quoted base64 string in it decoded: the local world keeps step inputs and outputs
 * as `{"__type": "Uint8Array", "data": "<base64>"}`, where a secret would not show as text.
 */
function withDecodedBase64(text: string): string {
  const decoded: string[] = [];
  for (const match of text.matchAll(/"([A-Za-z0-9+/]{8,}={0,2})"/g)) {
    decoded.push(Buffer.from(match[1]!, "base64").toString("latin1"));
  }
  return [text, ...decoded].join("\n");
}

/** Fails naming the place; the message never quotes the secret itself. */
function expectNoSecret(text: string, where: string) {
  for (const [index, secret] of SECRETS.entries()) {
    expect(holds(text, secret), `${where} holds secret #${index + 1}`).toBe(false);
  }
}

/** Every file under a folder, read as text (binary encodings keep strings as UTF-8 bytes). */
function filesUnder(folder: string): Array<{ file: string; text: string }> {
  const found: Array<{ file: string; text: string }> = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(full));
    else if (entry.isFile()) found.push({ file: full, text: withDecodedBase64(readFileSync(full).toString("latin1")) });
  }
  return found;
}

/** A stand-in for the OpenAI API: records what it is sent, refuses every key the way OpenAI does. */
async function startFakeOpenAI() {
  const authorizations: string[] = [];
  const bodies: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (data: Buffer) => (body += data.toString()));
    request.on("end", () => {
      const authorization = request.headers.authorization ?? "";
      authorizations.push(authorization);
      bodies.push(body);
      const key = authorization.replace(/^Bearer /, "");
      // OpenAI quotes the key it refused: an error message from upstream is a way for a secret to travel.
      response.writeHead(401, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          error: {
            message: `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`,
            type: "invalid_request_error",
            param: null,
            code: "invalid_api_key",
          },
        }),
      );
    });
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    authorizations,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Rows = Array<Record<string, unknown>>;
const rowsOf = (result: unknown): Rows =>
  Array.isArray(result) ? (result as Rows) : ((result as { rows: Rows }).rows ?? []);

describe.each(databaseKinds())("a secret never leaves the process (%s)", (kind) => {
  let harness: TestTether;
  let dataDir: string;
  let upstream: Awaited<ReturnType<typeof startFakeOpenAI>>;
  let toolServer: TestMcpServer;
  /** Everything the API answered in this suite: status line, headers and body. */
  const answers: string[] = [];
  const durableRuns: Execution[] = [];

  beforeAll(async () => {
    upstream = await startFakeOpenAI();
    toolServer = await startTestMcpServer({ token: TOOL_SERVER_SECRET });
    dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-secrets-"));
    harness = await startTestTether(
      kind,
      {
        TETHER_DATA_DIR: dataDir,
        TETHER_CREDENTIAL_OPENAI: SECRET,
        TETHER_CREDENTIAL_NOTES_TOKEN: TOOL_SERVER_SECRET,
        OPENAI_API_KEY: OTHER_SECRET,
        OPENAI_BASE_URL: upstream.baseUrl,
        TETHER_APPROVAL_TIMEOUT: "60s",
      },
      { workflows: true },
    );
    const agents = [
      ["durable-demo", "demo:5", "durable"],
      ["classic-demo", "demo", "classic"],
      ["classic-openai", "openai:gpt-4o-mini", "classic"],
      ["durable-openai", "openai:gpt-4o-mini", "durable"],
    ] as const;
    for (const [id, model, executionMode] of agents) {
      const created = await harness.request("/api/agents", {
        json: { id, name: id, model, tools: ["get_time", "send_email"], executionMode },
      });
      expect(created.status).toBe(201);
    }
    const registered = await harness.request("/api/tool-servers", {
      json: { id: "notes", name: "Notes", url: toolServer.url, headers: { Authorization: { credential: "NOTES_TOKEN", prefix: "Bearer " } } },
    });
    expect(registered.status).toBe(201);
    const mcpAgent = { id: "durable-mcp", name: "durable-mcp", model: "demo", tools: ["notes:*"], executionMode: "durable" };
    expect((await harness.request("/api/agents", { json: mcpAgent })).status).toBe(201);
  });
  afterAll(async () => {
    await harness?.dispose();
    await upstream?.close();
    await toolServer?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Reads a whole answer, keeps it for the final sweep, and (unless polling) checks it at once. */
  async function read(response: Response, where: string, check = true): Promise<string> {
    const body = await response.text();
    const whole = `${response.status}\n${JSON.stringify([...response.headers])}\n${body}`;
    answers.push(whole);
    if (check) expectNoSecret(whole, where);
    return body;
  }
  const readJson = async <T>(pathname: string, check = true): Promise<T> => {
    const response = await harness.request(pathname);
    expect(response.status, pathname).toBe(200);
    return JSON.parse(await read(response, pathname, check)) as T;
  };
  const execution = (id: string) => readJson<Execution>(`/api/executions/${id}`);
  // Polled answers are kept for the final sweep but not checked one by one.
  const polledExecution = (id: string) => readJson<Execution>(`/api/executions/${id}`, false);
  const chat = (body: Record<string, unknown>) => harness.request("/api/chat", { json: body });

  it("keeps secrets out of a durable run with an approval: chat, approval answer, resume and replay streams", async () => {
    const conversationId = `secret-durable-${kind}`;
    const first = await chat({
      id: conversationId,
      agentId: "durable-demo",
      messages: [userMessage('use send_email with {"to":"x@example.com","subject":"s","body":"b"}')],
    });
    expect(first.status).toBe(200);
    const executionId = first.headers.get("x-execution-id")!;
    const firstChunks = chunksOf(parseSse(await read(first, "the durable chat response")));
    expect(firstChunks.map((chunk) => chunk.type)).toContain("tool-approval-request");
    await settled(polledExecution, executionId, "suspended");

    // Answer the approval the way the AI SDK client does: post the conversation back with the part answered.
    const stored = await readJson<{ messages: UIMessage[] }>(`/api/conversations/${conversationId}`);
    const assistant = stored.messages.at(-1)!;
    const answered = {
      ...assistant,
      parts: assistant.parts.map((part) =>
        part.type === "tool-send_email" && "approval" in part && part.approval
          ? { ...part, state: "approval-responded", approval: { id: part.approval.id, approved: true } }
          : part,
      ),
    };
    const second = await chat({ id: conversationId, agentId: "durable-demo", messages: [...stored.messages.slice(0, -1), answered] });
    expect(second.status).toBe(200);
    const secondChunks = chunksOf(parseSse(await read(second, "the approval answer's stream")));
    expect(secondChunks.map((chunk) => chunk.type)).toContain("tool-output-available");
    expect(textOf(secondChunks)).toMatch(/^send_email returned \{"messageId":"/);
    durableRuns.push(await settled(polledExecution, executionId, "completed"));

    const replay = chunksOf(parseSse(await read(await harness.request(`/api/executions/${executionId}/stream`), "the run's replay")));
    expect(replay.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "completed" } });

    // A next turn, followed live through the resume route.
    const third = await chat({ id: conversationId, agentId: "durable-demo", messages: [...stored.messages, userMessage("count to 100")] });
    const resumed = await eventually(async () => {
      const response = await harness.request(`/api/chat/${conversationId}/stream`);
      expect(response.status).toBe(200);
      return response;
    });
    const resumedChunks = chunksOf(parseSse(await read(resumed, "the resumed stream")));
    expect(textOf(resumedChunks)).toBe(countText(100));
    await read(third, "the third chat response");
    durableRuns.push(await settled(polledExecution, third.headers.get("x-execution-id")!, "completed"));
  });

  it("keeps a tool server's credential out of a durable run that calls its tools, with and without approval", async () => {
    const conversationId = `secret-mcp-${kind}`;
    const response = await chat({ id: conversationId, agentId: "durable-mcp", messages: [userMessage('use notes__lookup with {"query":"tea"}')] });
    const executionId = response.headers.get("x-execution-id")!;
    // A wrong text fails with the whole answer, so the chunks that came instead can be read.
    const body = await read(response, "the durable MCP chat response");
    expect(textOf(chunksOf(parseSse(body))), `status ${response.status}: ${body}`).toMatch(/^notes__lookup returned .*found tea/);
    durableRuns.push(await settled(polledExecution, executionId, "completed"));

    const asking = await chat({ id: `${conversationId}-approval`, agentId: "durable-mcp", messages: [userMessage('use notes__record with {"note":"n"}')] });
    const askingId = asking.headers.get("x-execution-id")!;
    await read(asking, "the durable MCP approval request");
    const [pending] = (await settled(polledExecution, askingId, "suspended")).pendingApprovals;
    const decided = await harness.request(`/api/executions/${askingId}/approvals/${pending!.toolCallId}`, { json: { approved: true } });
    await read(decided, "the approval answer");
    durableRuns.push(await settled(polledExecution, askingId, "completed"));
    await read(await harness.request(`/api/executions/${askingId}/stream`), "the durable MCP replay");
    // The server got the credential (it refuses any other), and ran both calls.
    expect(toolServer.rejected).toEqual([]);
    expect([toolServer.calls("lookup"), toolServer.calls("record")]).toEqual([1, 1]);
  });

  it("keeps secrets out of a classic run and its replay", async () => {
    const response = await chat({ id: `secret-classic-${kind}`, agentId: "classic-demo", messages: [userMessage("use get_time")] });
    expect(response.status).toBe(200);
    const executionId = response.headers.get("x-execution-id")!;
    const chunks = chunksOf(parseSse(await read(response, "the classic chat response")));
    expect(textOf(chunks)).toMatch(/^get_time returned \{"iso":/);
    await settled(polledExecution, executionId, "completed");
    await read(await harness.request(`/api/executions/${executionId}/stream`), "the classic replay");
  });

  it.each(["classic", "durable"] as const)(
    "sends the stored credential to the provider in %s mode, and keeps it out of the failure it reports",
    async (mode) => {
      const before = upstream.authorizations.length;
      const response = await chat({
        id: `secret-openai-${mode}-${kind}`,
        agentId: `${mode}-openai`,
        messages: [userMessage("hello")],
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-execution-mode")).toBe(mode);
      const executionId = response.headers.get("x-execution-id")!;
      const chunks = chunksOf(parseSse(await read(response, `the ${mode} OpenAI chat response`)));
      expect(chunks.at(-1)).toMatchObject({ type: "data-terminal", data: { reason: "failed" } });

      const failed = await settled(polledExecution, executionId, "failed");
      // The provider was really called, with the credential store's value (it wins over OPENAI_API_KEY)…
      const sent = upstream.authorizations.slice(before);
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.every((authorization) => authorization === `Bearer ${SECRET}`)).toBe(true);
      expect(upstream.bodies.slice(before).join("\n")).toContain("gpt-4o-mini");
      // …and the provider's answer quoting the key did not bring it back into the stored error.
      expect(failed.error).toEqual(expect.any(String));
      expectNoSecret(JSON.stringify(failed), "the failed execution");
      if (mode === "durable") durableRuns.push(failed);
      else await read(await harness.request(`/api/executions/${executionId}/stream`), "the failed classic replay");
    },
  );

  it("keeps secrets out of every JSON answer of the API", async () => {
    const { executions } = await readJson<{ executions: Execution[] }>("/api/executions?limit=100");
    expect(executions.length).toBeGreaterThanOrEqual(5);
    for (const { id } of executions) await execution(id);
    const { conversations } = await readJson<{ conversations: Array<{ id: string }> }>("/api/conversations");
    expect(conversations.length).toBeGreaterThanOrEqual(4);
    for (const { id } of conversations) await readJson(`/api/conversations/${id}`);
    const { agents } = await readJson<{ agents: Array<{ id: string }> }>("/api/agents");
    for (const { id } of agents) await readJson(`/api/agents/${id}`);
    const { messages } = await readJson<{ messages: unknown[] }>("/api/outbox");
    expect(messages).toHaveLength(1);
    await readJson("/health");
    // Every answer this suite read, swept once more as a whole.
    expect(answers.length).toBeGreaterThan(20);
    expectNoSecret(answers.join("\n"), "the API's answers");
  });

  it("keeps secrets out of every app table", async () => {
    const { db } = harness.database.handle;
    const tables = rowsOf(
      await db.execute(sql`select table_name from information_schema.tables
        where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`),
    ).map((row) => String(row.table_name));
    expect(tables).toEqual(expect.arrayContaining(["workflow_executions", "messages", "tool_approvals", "outbox"]));
    let everything = "";
    for (const table of tables) {
      const rows = rowsOf(await db.execute(sql`select t::text as row from ${sql.identifier(table)} t`));
      const text = rows.map((row) => String(row.row)).join("\n");
      expectNoSecret(text, `table ${table}`);
      everything += text;
    }
    // The sweep saw the runs: the failure text and the tool's output are in there.
    expect(everything).toContain("send_email returned");
    for (const run of durableRuns) expect(everything).toContain(run.workflowRunId!);
  });

  it("keeps secrets out of the Workflow SDK's stored runs, steps, events and streams", async () => {
    expect(durableRuns.length).toBe(5);
    let everything: string;
    if (kind === "postgres") {
      const { db } = harness.database.handle;
      const tables = rowsOf(
        await db.execute(sql`select table_schema, table_name from information_schema.tables
          where (table_schema = 'workflow' or table_schema like 'graphile_worker%') and table_type = 'BASE TABLE'`),
      );
      expect(tables.filter((row) => row.table_schema === "workflow").length).toBeGreaterThan(0);
      const parts: string[] = [];
      for (const { table_schema: schema, table_name: table } of tables) {
        const rows = rowsOf(
          await db.execute(sql`select t::text as row from ${sql.identifier(String(schema))}.${sql.identifier(String(table))} t`),
        );
        const text = withDecodedBase64(rows.map((row) => String(row.row)).join("\n"));
        expectNoSecret(text, `table ${String(schema)}.${String(table)}`);
        parts.push(text);
      }
      everything = parts.join("\n");
    } else {
      // The local world's files, and its streams (kept by Tether in their own folder).
      const files = [...filesUnder(path.join(dataDir, "workflow")), ...filesUnder(path.join(dataDir, "streams"))];
      expect(files.length).toBeGreaterThan(0);
      for (const { file, text } of files) expectNoSecret(text, `file ${path.relative(dataDir, file)}`);
      everything = files.map(({ file, text }) => `${file}\n${text}`).join("\n");
    }
    // The sweep saw real payloads: every durable run, the ids its workflow input and steps carry, and what
    // its steps streamed (the tool's input in r0, its output in r1).
    for (const run of durableRuns) {
      expect(everything).toContain(run.workflowRunId!);
      expect(holds(everything, run.id), `the stored payloads of ${run.id}`).toBe(true);
    }
    expect(holds(everything, "x@example.com")).toBe(true);
    const { messages } = (await (await harness.request("/api/outbox")).json()) as { messages: Array<{ messageId: string }> };
    expect(holds(everything, messages[0]!.messageId)).toBe(true);
    // Nothing else in the data folder holds them either.
    for (const { file, text } of filesUnder(dataDir)) expectNoSecret(text, `file ${path.relative(dataDir, file)}`);
  });
});
