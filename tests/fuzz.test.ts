import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages, toolApprovals } from "../drizzle/schema";
import type { Database } from "../src/db/client";
import type { Repositories } from "../src/db/repositories";
import { eventually, readSse, startTestTether, userMessage, type TestTether } from "./support/tether";

/**
 * Property-based fuzzing of the HTTP surface (docs/design.md invariant 15): whatever the path, query, headers or
 * body, the answer is never a 5xx, every 4xx carries the JSON error body, the server stays up, and a rejected
 * request leaves no trace in the database.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 120);
const BODY_LIMIT = 64 * 1024;
const JWT_SECRET = `fuzz-secret-${randomBytes(24).toString("hex")}`;
const ADMIN_KEY = "fuzz-admin-key";
const EMAIL = `use send_email with ${JSON.stringify({ to: "a@example.com", subject: "s", body: "b" })}`;

interface Probe {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/**
 * The whole content of every table a request can write: agents, conversations, messages, executions,
 * approvals, outbox. Repositories where they can list a whole table; one select each for messages and
 * approvals (their repositories list per conversation / execution only).
 */
async function fingerprint(repositories: Repositories, db: Database) {
  const [agents, conversations, { executions }, outbox, messageRows, approvalRows] = await Promise.all([
    repositories.agents.list(),
    repositories.conversations.list({ limit: 100_000 }),
    repositories.executions.list({ limit: 100_000 }),
    repositories.outbox.list(),
    db.select().from(messages),
    db.select().from(toolApprovals),
  ]);
  const rows = (list: unknown[]) => list.map((row) => JSON.stringify(row)).sort();
  return {
    agents: rows(agents),
    conversations: rows(conversations),
    messages: rows(messageRows),
    executions: rows(executions),
    approvals: rows(approvalRows),
    outbox: rows(outbox),
  };
}

const describeProbe = (probe: Probe) => {
  const body =
    probe.body === undefined
      ? ""
      : typeof probe.body === "string"
        ? ` body(${probe.body.length})=${JSON.stringify(probe.body.slice(0, 200))}`
        : ` bytes(${probe.body.length})`;
  return `${probe.method} ${JSON.stringify(probe.path.slice(0, 300))} ${JSON.stringify(probe.headers ?? {})}${body}`;
};

/** Well-formed or not, as a URL path segment. */
function encodeSegment(value: string, how: "encoded" | "raw" | "double"): string {
  const wellFormed = (value as unknown as { toWellFormed(): string }).toWellFormed();
  if (how === "raw") return value;
  const once = encodeURIComponent(wellFormed);
  return how === "double" ? encodeURIComponent(once) : once;
}

const STATIC_SEGMENTS = new Set(["", "api", "agents", "chat", "conversations", "executions", "outbox", "stream", "stop", "cancel", "approvals", "health"]);

/** `/api/executions/ex_1/approvals/x?y` → `/api/executions/:p/approvals/:p`, to group failures by route. */
const routeShape = (path: string) =>
  path
    .split("?")[0]!
    .split("/")
    .map((segment) => (STATIC_SEGMENTS.has(segment) ? segment : ":p"))
    .join("/");

const isUrlPath = (path: string) => {
  try {
    new URL(`http://localhost${path}`);
    return true;
  } catch {
    return false;
  }
};

// ---- shared arbitraries -------------------------------------------------------------------------------

const nasty = fc.constantFrom(
  "..",
  ".",
  "%00",
  "%2e%2e",
  "%2F",
  "%",
  "%zz",
  "%C0%AE",
  "%ff",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff",
  "😀",
  " ",
  "a b",
  "__proto__",
  "constructor",
  "prototype",
  "null",
  "undefined",
  "-",
  "_",
  ":",
  "a".repeat(128),
  "a".repeat(129),
  "A".repeat(201),
  "../../etc/passwd",
  "%2e%2e%2f%2e%2e%2f",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "$1",
  "\\",
  "\r\n",
);

/** Strings a database or a URL decoder may choke on: NUL, lone surrogates, control characters. */
const hostile = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.oneof(
      { weight: 3, arbitrary: fc.constant("\u0000") },
      { weight: 2, arbitrary: fc.constantFrom("\ud800", "\udfff", "\ud83d") },
      { weight: 1, arbitrary: fc.constantFrom("\u0001", "\u001f", "\u007f", "\uffff", "\ufeff", "\u202e", "\r\n") },
    ),
    fc.string({ maxLength: 8 }),
  )
  .map(([before, bad, after]) => `${before}${bad}${after}`);

const weird: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: nasty },
  { weight: 4, arbitrary: hostile },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((length) => "x".repeat(length)) },
);

/** A value of the wrong kind, or of the right kind with hostile content. */
const wrong: fc.Arbitrary<unknown> = fc.oneof(
  {
    // Valid-looking values in the wrong place: past the schema, into the service's own checks.
    weight: 2,
    arbitrary: fc.constantFrom("system", "assistant", "user", "regenerate-message", "durable", "classic", "text", "tool-send_email", "approval-responded", "assistant", "fuzz-agent", "fuzz-done", "fuzz-suspended", "m-user", "m-answer"),
  },
  { weight: 4, arbitrary: hostile },
  { weight: 3, arbitrary: weird },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, "", [], {}, [null], { "": "" }) },
  { weight: 2, arbitrary: fc.anything({ maxDepth: 3, maxKeys: 4, withNullPrototype: true }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

type JsonPath = ReadonlyArray<string | number>;

/** A copy of `base` with `value` put at `path` (undefined removes it). */
function mutate(base: unknown, path: JsonPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(base) ? [...base] : { ...(base as object) }) as Record<string | number, unknown>;
  const next = mutate(copy[head!] ?? {}, rest, value);
  if (next === undefined && !Array.isArray(copy)) delete copy[head!];
  else copy[head!] = next;
  return copy;
}

const headerSafe = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 120,
});

const anyJson = fc.anything({ maxDepth: 4, maxKeys: 5, withNullPrototype: true, withObjectString: true });

function nested(depth: number, open: "[" | "{"): string {
  return open === "[" ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

/** A JSON body of exactly `size` bytes: one string field padded out. */
function sized(size: number, field: string): string {
  const shell = JSON.stringify({ [field]: "" });
  return JSON.stringify({ [field]: "x".repeat(Math.max(0, size - shell.length)) });
}

describe("fuzzing the HTTP surface (PGlite, local mode)", () => {
  let harness: TestTether;
  const known = { doneConversation: "fuzz-done", suspendedConversation: "fuzz-suspended", doneExecution: "", suspendedExecution: "", toolCallId: "" };
  let knownIds: string[] = [];

  const repositories = () => harness.tether.repositories;
  /** Nothing runs any more (a fuzzed request that started a run has finished it or suspended it). */
  const quiet = () =>
    eventually(async () => {
      const { executions } = await repositories().executions.list({ status: "running", limit: 10 });
      expect(executions).toEqual([]);
    }, 20_000);

  beforeAll(async () => {
    harness = await startTestTether(
      "pglite",
      { TETHER_MAX_BODY_BYTES: String(BODY_LIMIT), TETHER_MAX_MESSAGE_BYTES: String(16 * 1024) },
      { workflows: true },
    );
    const agent = await harness.request("/api/agents", { json: { id: "fuzz-agent", name: "Fuzz", tools: ["get_time", "send_email"] } });
    expect(agent.status).toBe(201);
    const done = await harness.request("/api/chat", {
      json: { id: known.doneConversation, agentId: "assistant", messages: [userMessage("hello")] },
    });
    known.doneExecution = done.headers.get("x-execution-id")!;
    await readSse(done);
    const suspended = await harness.request("/api/chat", {
      json: { id: known.suspendedConversation, agentId: "assistant", messages: [userMessage(EMAIL)] },
    });
    known.suspendedExecution = suspended.headers.get("x-execution-id")!;
    await readSse(suspended);
    const pending = await eventually(async () => {
      const [approval] = await repositories().approvals.pendingFor([known.suspendedExecution]);
      expect(approval).toBeDefined();
      return approval!;
    });
    known.toolCallId = pending.toolCallId;
    await quiet();
    knownIds = [
      "assistant",
      "fuzz-agent",
      known.doneConversation,
      known.suspendedConversation,
      known.doneExecution,
      known.suspendedExecution,
      known.toolCallId,
    ];
  }, 120_000);
  afterAll(() => harness?.dispose());

  /** Every 5xx seen, by route shape, with the shortest request that caused it. */
  const serverErrors = new Map<string, string>();

  /** Sends one request and checks the answer; a 4xx must leave the database as it was. */
  async function exercise(probe: Probe): Promise<void> {
    const before = await fingerprint(repositories(), harness.database.handle.db);
    const response = await harness.tether.app.request(probe.path, {
      method: probe.method,
      headers: probe.headers,
      body: probe.body as BodyInit | undefined,
    });
    const { status } = response;
    const label = `${status} for ${describeProbe(probe)}`;
    if (status >= 500) {
      // Recorded rather than thrown: the run goes on, so one 5xx cannot hide the other properties' failures.
      const shape = `${probe.method} ${routeShape(probe.path)}`;
      const known5xx = serverErrors.get(shape);
      if (known5xx === undefined || label.length < known5xx.length) serverErrors.set(shape, `${label}: ${(await response.text()).slice(0, 200)}`);
      await quiet();
      return;
    }
    if (status >= 400) {
      const text = await response.text();
      if (probe.method !== "HEAD") {
        expect(response.headers.get("content-type"), label).toMatch(/^application\/json/);
        const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
        expect(typeof body.error?.code, `${label}: ${text.slice(0, 300)}`).toBe("string");
        expect(typeof body.error?.message, `${label}: ${text.slice(0, 300)}`).toBe("string");
        expect((body.error!.code as string).length).toBeGreaterThan(0);
      }
      expect(await fingerprint(repositories(), harness.database.handle.db), `${label}: the rejected request changed the database`).toEqual(before);
    } else {
      await response.body?.cancel();
      await quiet();
    }
  }

  /** Every route gets its own runs (a share of the property's budget), so none is left to chance. */
  const perRoute = async <T>(
    routes: ReadonlyArray<fc.Arbitrary<T>>,
    toProbe: (value: T) => Probe | undefined,
    budget: number,
    minimum = 12,
  ) => {
    // Every route runs even when an earlier one fails, and the failure names all counterexamples found.
    const failures: string[] = [];
    for (const route of routes) {
      try {
        await assertProperty(route, toProbe, Math.max(minimum, Math.ceil(budget / routes.length)));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message.split("\n")[0] : "";
        failures.push(`${message.split("\n").slice(0, 4).join("\n")}\n${cause}`);
      }
    }
    return failures;
  };

  /** The server still answers; then every 5xx and every failed property of this test, together. */
  const finish = async (failures: string[]) => {
    const health = await harness.request("/health");
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });
    const errors = [...serverErrors.entries()].map(([shape, example]) => `${shape} answered 5xx, e.g. ${example}`);
    serverErrors.clear();
    const problems = [...errors, ...failures];
    if (problems.length > 0) throw new Error(`${problems.length} problems:\n\n${problems.join("\n\n")}`);
  };

  const assertProperty = <T>(arbitrary: fc.Arbitrary<T>, toProbe: (value: T) => Probe | undefined, numRuns = RUNS) =>
    fc.assert(
      fc.asyncProperty(arbitrary, async (value) => {
        const probe = toProbe(value);
        fc.pre(probe !== undefined && isUrlPath(probe.path));
        await exercise(probe!);
      }),
      { numRuns },
    );



  it("path parameters: any string, encoded or raw, in every route's params", async () => {
    type How = "encoded" | "raw" | "double";
    const how = fc.constantFrom<How>("encoded", "encoded", "raw", "double");
    // One parameter is fuzzed at a time; the others hold real ids, so the fuzzed one reaches the deepest code.
    const param = fc.tuple(weird, how).map(([value, encoding]) => encodeSegment(value, encoding));
    const routes: Array<fc.Arbitrary<Probe>> = [
      param.map((a) => ({ method: "GET", path: `/api/agents/${a}` })),
      param.map((a) => ({ method: "PATCH", path: `/api/agents/${a}`, body: JSON.stringify({ name: "renamed" }) })),
      param.map((a) => ({ method: "DELETE", path: `/api/agents/${a}` })),
      param.map((c) => ({ method: "GET", path: `/api/conversations/${c}` })),
      param.map((c) => ({ method: "GET", path: `/api/chat/${c}/stream` })),
      param.map((c) => ({ method: "POST", path: `/api/chat/${c}/stop` })),
      param.map((e) => ({ method: "GET", path: `/api/executions/${e}` })),
      param.map((e) => ({ method: "GET", path: `/api/executions/${e}/stream` })),
      param.map((e) => ({ method: "POST", path: `/api/executions/${e}/cancel` })),
      fc.tuple(param, fc.boolean()).map(([e, approved]) => ({
        method: "POST",
        path: `/api/executions/${e}/approvals/${known.toolCallId}`,
        body: JSON.stringify({ approved }),
      })),
      fc.tuple(param, fc.boolean()).map(([t, approved]) => ({
        method: "POST",
        path: `/api/executions/${known.suspendedExecution}/approvals/${t}`,
        body: JSON.stringify({ approved }),
      })),
    ];
    const failures = await perRoute(
      routes.map((route) => fc.tuple(route, fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }))),
      ([probe, asJson]) => ({
        ...probe,
        headers: probe.body !== undefined && asJson ? { "content-type": "application/json" } : undefined,
        body: probe.body !== undefined && asJson ? probe.body : undefined,
      }),
      RUNS + 40,
    );
    await finish(failures);
  });

  it("query strings: arbitrary keys and values for offset, limit, cursor, status, agentId, conversationId", async () => {
    const cursor = fc.oneof(
      { weight: 4, arbitrary: fc
        .tuple(
          fc.oneof(
            fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
            fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((date) => date.toISOString()),
            fc.constantFrom(
              "2020-01-01T00:00:00.000Z",
              "0000-01-01T00:00:00.000Z",
              "+010000-01-01T00:00:00.000Z",
              "-000001-01-01T00:00:00.000Z",
              "0",
              "-1",
              "1e999",
              "2020-13-45",
              "Infinity",
            ),
            weird,
          ),
          fc.oneof(fc.constantFrom(...knownIds), weird),
          fc.constantFrom("|", "|", "|", "||", ""),
        )
        .map(([date, id, bar]) => Buffer.from(`${date}${bar}${id}`).toString("base64url")) },
      { weight: 1, arbitrary: fc.base64String({ maxLength: 60 }) },
      { weight: 1, arbitrary: weird },
    );
    const valueOf: Record<string, fc.Arbitrary<string>> = {
      offset: fc.oneof(fc.constantFrom("0", "0.0", "1.5", "-1", "9".repeat(40), "x.y"), weird),
      limit: fc.oneof(
        fc.constantFrom("0", "-1", "1", "200", "201", "1.5", "1e3", "1e309", "NaN", "Infinity", "0x10", " 5", ""),
        fc.integer().map(String),
        weird,
      ),
      cursor,
      status: fc.oneof(fc.constantFrom("running", "suspended", "completed", "failed", "cancelled", "RUNNING", ""), weird),
      mode: fc.oneof(fc.constantFrom("classic", "durable", ""), weird),
      agentId: fc.oneof(fc.constantFrom("assistant", "fuzz-agent", ""), weird),
      conversationId: fc.oneof(fc.constantFrom(known.doneConversation, known.suspendedConversation, ""), weird),
    };
    const junkPair = fc.tuple(weird, weird);
    const pairArb = (key: string) =>
      fc.oneof(
        { weight: 8, arbitrary: fc.tuple(fc.constant(key), valueOf[key]!) },
        { weight: 1, arbitrary: fc.constantFrom(...Object.keys(valueOf)).chain((other) => fc.tuple(fc.constant(other), valueOf[other]!)) },
        { weight: 1, arbitrary: junkPair },
      );
    // Keys are mostly unique (a repeated key is an array, refused before anything reads the value).
    const pairsWith = (key: string) =>
      fc.oneof(
        { weight: 9, arbitrary: fc.uniqueArray(pairArb(key), { minLength: 1, maxLength: 3, selector: ([name]) => name }) },
        { weight: 1, arbitrary: fc.array(pairArb(key), { minLength: 2, maxLength: 3 }) },
      );
    const stream = [
      `/api/chat/${known.doneConversation}/stream`,
      `/api/chat/${known.suspendedConversation}/stream`,
      `/api/executions/${known.doneExecution}/stream`,
    ];
    // Each key against the routes that read it (and a few that ignore it).
    const targets: Record<string, string[]> = {
      offset: [...stream, "/api/executions"],
      limit: ["/api/executions", "/api/conversations"],
      cursor: ["/api/executions"],
      status: ["/api/executions"],
      mode: ["/api/executions"],
      agentId: ["/api/executions", "/api/conversations"],
      conversationId: ["/api/executions", "/api/agents", "/api/outbox", `/api/executions/${known.suspendedExecution}`],
    };
    const routes = Object.keys(valueOf).map((key) =>
      fc.record({
        target: fc.constantFrom(...targets[key]!),
        pairs: fc
          .constantFrom<"encoded" | "raw">("encoded", "encoded", "raw")
          .chain((encoding) => pairsWith(key).map((pairs) => pairs.map((pair) => [pair, encoding] as const))),
        lastEventId: fc.option(fc.oneof(headerSafe, fc.constantFrom("0", "-1", "0.0", "9999999.9999999", "x.y")), { nil: undefined }),
      }),
    );
    const failures = await perRoute(
      routes,
      ({ target: path, pairs, lastEventId }) => {
        const query = pairs.map(([[key, value], encoding]) => `${encodeSegment(key, encoding)}=${encodeSegment(value, encoding)}`).join("&");
        return {
          method: "GET",
          path: `${path}?${query}`,
          headers: lastEventId === undefined ? undefined : { "last-event-id": lastEventId },
        };
      },
      RUNS + 40,
    );
    await finish(failures);
  });

  it("JSON bodies: arbitrary JSON, wrong types, deep nesting, sizes around the body limit", async () => {
    const text = (value: string) => ({ type: "text", text: value });
    const user = (value: string) => ({ id: "m-user", role: "user", parts: [text(value)] });
    const answer = {
      id: "m-answer",
      role: "assistant",
      parts: [
        {
          type: "tool-send_email",
          toolCallId: known.toolCallId,
          state: "approval-responded",
          input: { to: "a@example.com", subject: "s", body: "b" },
          approval: { id: "approval-1", approved: true },
        },
      ],
    };
    /** A field to make wrong: with wrong values of any kind, or also with values valid elsewhere (`plausible`). */
    type Field = readonly [JsonPath, fc.Arbitrary<unknown>];
    const at = (path: JsonPath, ...plausible: unknown[]): Field => [
      path,
      plausible.length === 0 ? wrong : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...plausible) }, { weight: 2, arbitrary: wrong }),
    ];
    const ids = [known.doneConversation, known.suspendedConversation, "fuzz-agent", "assistant", "m-user", "m-answer"];
    const chatPaths: Field[] = [
      at(["id"], ...ids),
      at(["agentId"], ...ids, "missing-agent"),
      at(["messages"], [], [{}]),
      at(["messages", 0]),
      at(["messages", 0, "id"], ...ids, "m-other"),
      at(["messages", 0, "role"], "system", "assistant", "user", "tool"),
      at(["messages", 0, "parts"], [], [{ type: "text" }], [{ type: "step-start" }]),
      at(["messages", 0, "parts", 0], { type: "text" }, { type: "reasoning", text: "hm" }, { type: "tool-send_email", toolCallId: known.toolCallId }),
      at(["messages", 0, "parts", 0, "type"], "reasoning", "file", "step-start", "tool-send_email", "dynamic-tool", "data-x"),
      at(["messages", 0, "parts", 0, "text"], "count to 3", "use get_time", "fail", "use send_email with {}", ""),
      at(["messages", 0, "parts", 1], { type: "text", text: "more" }),
      at(["messages", 0, "metadata"], {}, null),
      at(["messages", 1], { id: "m-user", role: "user", parts: [] }, { id: "m-2", role: "assistant", parts: [] }),
      at(["trigger"], "submit-message", "regenerate-message"),
      at(["messageId"], "m-user", "m-answer", "missing-message"),
      at(["executionMode"], "classic", "durable"),
      at(["extra"]),
    ];
    const answerPaths: Field[] = [
      at(["messages", 1, "id"], "m-user", "m-answer"),
      at(["messages", 1, "role"], "user", "system", "assistant"),
      at(["messages", 1, "parts", 0, "toolCallId"], known.toolCallId, "call_missing"),
      at(["messages", 1, "parts", 0, "state"], "approval-requested", "approval-responded", "output-available", "output-denied"),
      at(["messages", 1, "parts", 0, "type"], "tool-get_time", "tool-send_email", "dynamic-tool", "text"),
      at(["messages", 1, "parts", 0, "approval"], { id: "approval-1", approved: false }, { id: "approval-1" }, {}),
      at(["messages", 1, "parts", 0, "approval", "approved"], true, false, "true", 1),
      at(["messages", 1, "parts", 0, "approval", "reason"], "because", ""),
      at(["messages", 1, "parts", 0, "input"], {}, null),
      at(["messages", 1, "parts", 1], {
        type: "tool-send_email",
        toolCallId: "call_missing",
        state: "approval-responded",
        input: {},
        approval: { id: "approval-2", approved: true },
      }),
      at(["agentId"], "fuzz-agent", "missing-agent"),
      at(["id"], known.doneConversation, "fz-missing"),
    ];
    const agentPaths: Field[] = [
      at(["id"], "assistant", "fuzz-agent"),
      at(["name"], "", " ", "x".repeat(201)),
      at(["instructions"], "", "x".repeat(20_001)),
      at(["model"], "demo:5", "openai:gpt-4o-mini", "openai:", "demo:-1", "nope:x"),
      at(["tools"], [], ["get_time", "get_time"], ["nope"], ["get_time", "send_email", "get_time"]),
      at(["tools", 0], "send_email", "nope"),
      at(["tools", 1], "get_time", "send_email"),
      at(["executionMode"], "durable", "classic", "hybrid"),
      at(["extra"]),
    ];
    const freshId = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 8, maxLength: 8 }).map((hex) => `fz-${hex}`);
    interface Shape {
      method: string;
      path: () => string;
      base: fc.Arbitrary<unknown>;
      paths: Field[];
      field: string;
    }
    const shapes: Shape[] = [
      {
        method: "POST",
        path: () => "/api/agents",
        base: freshId.map((id) => ({ id, name: "Fuzzed", model: "demo", tools: ["get_time"], executionMode: "classic" })),
        paths: agentPaths,
        field: "name",
      },
      {
        method: "PATCH",
        path: () => "/api/agents/fuzz-agent",
        base: fc.constant({ name: "Fuzz", instructions: "be brief" }),
        paths: agentPaths.filter(([path]) => path[0] !== "id"),
        field: "instructions",
      },
      {
        method: "POST",
        path: () => "/api/chat",
        base: fc.tuple(freshId, fc.constantFrom("hello", "use get_time", "fail", "what")).map(([id, words]) => ({
          id,
          agentId: "assistant",
          messages: [user(words)],
        })),
        paths: chatPaths,
        field: "id",
      },
      {
        // An existing conversation: a user turn, or a different agent (409, which must change nothing).
        method: "POST",
        path: () => "/api/chat",
        base: fc.constantFrom("assistant", "fuzz-agent").map((agentId) => ({
          id: known.doneConversation,
          agentId,
          messages: [user("hello again")],
        })),
        paths: chatPaths,
        field: "id",
      },
      {
        method: "POST",
        path: () => "/api/chat",
        base: fc.constant({ id: known.suspendedConversation, agentId: "assistant", messages: [user(EMAIL), answer] }),
        paths: answerPaths,
        field: "id",
      },
      {
        method: "POST",
        path: () => `/api/executions/${known.suspendedExecution}/approvals/${known.toolCallId}`,
        base: fc.constant({ approved: false, reason: "no" }),
        paths: [at(["approved"], true, "false", 0, null), at(["reason"], "", "x".repeat(2001)), at(["extra"])],
        field: "reason",
      },
      { method: "POST", path: () => `/api/executions/${known.doneExecution}/cancel`, base: fc.constant({}), paths: [at(["x"])], field: "x" },
      { method: "POST", path: () => `/api/chat/${known.doneConversation}/stop`, base: fc.constant({}), paths: [at(["x"])], field: "x" },
    ];
    const serialize = (value: unknown) => JSON.stringify(value) ?? "null";
    const bodyFor = (shape: Shape, [path, value]: Field): fc.Arbitrary<string> =>
      fc.oneof(
        {
          // A valid body with this field made wrong (and maybe one more): the likeliest way into the core.
          weight: 8,
          arbitrary: fc
            .tuple(
              shape.base,
              value,
              fc.option(fc.constantFrom(...shape.paths).chain(([other, otherValue]) => fc.tuple(fc.constant(other), otherValue)), {
                freq: 3,
                nil: undefined,
              }),
            )
            .map(([base, wrongValue, another]) => {
              const once = mutate(base, path, wrongValue);
              return serialize(another === undefined ? once : mutate(once, another[0], another[1]));
            }),
        },
        { weight: 1, arbitrary: fc.json({ maxDepth: 5 }) },
        { weight: 1, arbitrary: fc.anything({ maxDepth: 4, maxKeys: 5 }).map(serialize) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.integer({ min: 1, max: 200 }), fc.constantFrom<"[" | "{">("[", "{"))
            .map(([depth, open]) => nested(depth, open)),
        },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom(BODY_LIMIT - 100, BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1, BODY_LIMIT * 2, 16 * 1024 - 10, 16 * 1024 + 10)
            .map((size) => sized(size, shape.field)),
        },
      );
    // One property per route and field, so every field of every body gets its share of runs.
    const failures = await perRoute(
      shapes.flatMap((shape) =>
        shape.paths.map((field) =>
          bodyFor(shape, field).map(
            (json): Probe => ({ method: shape.method, path: shape.path(), headers: { "content-type": "application/json" }, body: json }),
          ),
        ),
      ),
      (probe) => probe,
      RUNS * 2,
      4,
    );
    await finish(failures);
  });

  it("raw bodies: non-JSON bytes and wrong content types", async () => {
    const contentType = fc.option(
      fc.oneof(
        fc.constantFrom(
          "application/json",
          "application/json; charset=utf-8",
          "application/json; charset=utf-16",
          "application/vnd.api+json",
          "text/plain",
          "text/html",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "multipart/form-data",
          "application/octet-stream",
          "",
          "application/",
          "json",
        ),
        headerSafe,
      ),
      { nil: undefined },
    );
    const bytes: fc.Arbitrary<string | Uint8Array> = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }),
      fc.string({ unit: "binary", maxLength: 500 }),
      fc.constantFrom(
        "",
        "{",
        "}",
        "[",
        "null",
        "true",
        "1e999",
        '"string"',
        '{"id": }',
        "{'single': 'quotes'}",
        '{"a":1,"a":2}',
        "\ufeff{}",
        "\u0000",
        '{"name":"\\u0000"}',
        '{"name":"\\ud800"}',
        "a=1&b=2",
        "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n",
      ),
      fc.constantFrom(BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1, BODY_LIMIT * 3).map((size) => "{".repeat(size)),
      fc.constantFrom(BODY_LIMIT + 1, BODY_LIMIT * 3).map((size) => new Uint8Array(size).fill(0xff)),
    );
    const targets = [
      { method: "POST", path: () => "/api/agents" },
      { method: "PATCH", path: () => "/api/agents/fuzz-agent" },
      { method: "POST", path: () => "/api/chat" },
      { method: "POST", path: () => `/api/executions/${known.suspendedExecution}/approvals/${known.toolCallId}` },
      { method: "POST", path: () => `/api/chat/${known.doneConversation}/stop` },
      { method: "PUT", path: () => "/api/agents" },
      { method: "POST", path: () => "/api/agents/fuzz-agent" },
      { method: "POST", path: () => "/api/outbox" },
      { method: "POST", path: () => "/health" },
    ];
    const failures = await perRoute(
      targets.map((target) => fc.record({ target: fc.constant(target), contentType, body: bytes })),
      ({ target: route, contentType: type, body: payload }) => ({
        method: route.method,
        path: route.path(),
        headers: type === undefined ? undefined : { "content-type": type },
        body: payload,
      }),
      RUNS,
    );
    await finish(failures);
  });

  it("methods and unknown routes: any method on any path shape", async () => {
    const method = fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE-X", "get");
    const segment = fc.oneof(fc.constantFrom("api", "agents", "chat", "conversations", "executions", "outbox", "stream", "stop", "cancel", "approvals", "health", "docs", ".well-known", "workflow", "v1", "webhook"), weird.map((value) => encodeSegment(value, "encoded")));
    const failures = await perRoute(
      [fc.record({ method, segments: fc.array(segment, { minLength: 0, maxLength: 6 }), trailingSlash: fc.boolean() })],
      ({ method: verb, segments, trailingSlash }) => {
        if (verb === "TRACE-X") return undefined;
        // Workflow endpoints run the Workflow SDK's own handlers; their webhook route is outside this contract.
        if (segments[0] === ".well-known") return undefined;
        return { method: verb, path: `/${segments.join("/")}${trailingSlash ? "/" : ""}` };
      },
      RUNS,
    );
    await finish(failures);
  });
});

describe("fuzzing Authorization headers (PGlite, auth configured)", () => {
  let harness: TestTether;

  beforeAll(async () => {
    harness = await startTestTether("pglite", { TETHER_API_KEYS: `other-key,${ADMIN_KEY}`, TETHER_JWT_SECRET: JWT_SECRET });
  }, 60_000);
  afterAll(() => harness?.dispose());

  type Who = "admin" | "user" | "nobody";
  const body401 = (text: string) => (JSON.parse(text) as { error: { code: string } }).error.code;
  interface AuthCase {
    header?: string;
    who: Who;
  }

  const base64url = (value: string) => Buffer.from(value).toString("base64url");
  /** Seconds from when a case is made, never within ten minutes of it (a slow machine stays off the boundary). */
  const offset = fc.oneof(fc.integer({ min: 600, max: 10_000_000 }), fc.integer({ min: -10_000_000, max: -600 }));
  const claims = fc.record(
    {
      sub: fc.oneof(
        { weight: 4, arbitrary: fc.string({ unit: "binary", minLength: 0, maxLength: 210 }) },
        { weight: 1, arbitrary: fc.constantFrom("alice", "admin", "local", "a".repeat(200), "a".repeat(201), "") },
        { weight: 2, arbitrary: hostile },
        { weight: 1, arbitrary: anyJson },
      ),
      exp: offset,
      nbf: offset,
      iat: offset,
      role: anyJson,
      admin: fc.boolean(),
    },
    { requiredKeys: ["sub"] },
  );
  const validClaims = (payload: Record<string, unknown>): boolean =>
    typeof payload.sub === "string" &&
    payload.sub.length > 0 &&
    payload.sub.length <= 200 &&
    // A subject with control characters or unpaired surrogates names no user anyone could be.
    !/[\u0000-\u001f\u007f]/.test(payload.sub) &&
    payload.sub.isWellFormed() &&
    (payload.exp === undefined || (payload.exp as number) > 0) &&
    (payload.nbf === undefined || (payload.nbf as number) < 0) &&
    (payload.iat === undefined || (payload.iat as number) < 0);
  const absolute = (payload: Record<string, unknown>) => {
    const result: Record<string, unknown> = { ...payload };
    const now = Math.floor(Date.now() / 1000);
    for (const claim of ["exp", "nbf", "iat"]) if (typeof result[claim] === "number") result[claim] = now + (result[claim] as number);
    return result;
  };

  const jwtCase: fc.Arbitrary<Promise<AuthCase>> = fc
    .tuple(
      claims,
      fc.constantFrom("right", "right", "right", "right", "wrong-secret", "HS512", "none", "tampered", "truncated"),
      fc.constantFrom("Bearer ", "bearer ", "BEARER ", "Bearer  ", "Bearer\t"),
    )
    .map(async ([payload, how, scheme]) => {
      const stamped = absolute(payload as Record<string, unknown>);
      let token: string;
      switch (how) {
        case "right":
          token = await sign(stamped, JWT_SECRET, "HS256");
          return { header: `${scheme}${token}`, who: (validClaims(payload as Record<string, unknown>) ? "user" : "nobody") as Who };
        case "wrong-secret":
          token = await sign(stamped, `${JWT_SECRET}x`, "HS256");
          break;
        case "HS512":
          token = await sign(stamped, JWT_SECRET, "HS512");
          break;
        case "none":
          token = `${base64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url(JSON.stringify(stamped))}.`;
          break;
        case "tampered": {
          const [header, , signature] = (await sign(stamped, JWT_SECRET, "HS256")).split(".");
          token = `${header}.${base64url(JSON.stringify({ ...stamped, sub: "admin", tampered: true }))}.${signature}`;
          break;
        }
        case "truncated":
          token = (await sign(stamped, JWT_SECRET, "HS256")).slice(0, -2);
          break;
      }
      return { header: `${scheme}${token}`, who: "nobody" as const };
    });

  const keyCase: fc.Arbitrary<Promise<AuthCase>> = fc
    .tuple(fc.constantFrom("Bearer ", "bearer ", "Bearer   ", "Bearer\t"), fc.constantFrom("exact", "prefix", "suffix", "case", "other-key", "quoted", "two"))
    .map(async ([scheme, how]) => {
      switch (how) {
        case "exact":
          return { header: `${scheme}${ADMIN_KEY}`, who: "admin" as const };
        case "other-key":
          return { header: `${scheme}other-key`, who: "admin" as const };
        case "prefix":
          return { header: `${scheme}${ADMIN_KEY.slice(0, -1)}`, who: "nobody" as const };
        case "suffix":
          return { header: `${scheme}${ADMIN_KEY}x`, who: "nobody" as const };
        case "case":
          return { header: `${scheme}${ADMIN_KEY.toUpperCase()}`, who: "nobody" as const };
        case "quoted":
          return { header: `${scheme}"${ADMIN_KEY}"`, who: "nobody" as const };
        default:
          return { header: `${scheme}${ADMIN_KEY} ${ADMIN_KEY}`, who: "nobody" as const };
      }
    });

  const junkCase: fc.Arbitrary<Promise<AuthCase>> = fc
    .oneof(
      fc.constant(undefined),
      headerSafe,
      headerSafe.map((value) => `Bearer ${value}`),
      headerSafe.map((value) => `Basic ${Buffer.from(value).toString("base64")}`),
      fc.constantFrom("Bearer", "Bearer ", "Basic x", "Token abc", "Bearer a.b.c", "Bearer ..", `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString("base64")}`, `Token ${ADMIN_KEY}`, ADMIN_KEY),
    )
    .map(async (header) => {
      const exact = header !== undefined && /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1];
      return { header, who: exact === ADMIN_KEY || exact === "other-key" ? ("admin" as const) : ("nobody" as const) };
    });

  const routes = [
    { method: "GET", path: "/api/agents", admin: 200, user: 200 },
    { method: "GET", path: "/api/conversations", admin: 200, user: 200 },
    { method: "GET", path: "/api/executions", admin: 200, user: 200 },
    { method: "GET", path: "/api/conversations/nobody-has-this", admin: 404, user: 404 },
    { method: "GET", path: "/api/outbox", admin: 200, user: 403 },
    { method: "DELETE", path: "/api/agents/nobody-has-this", admin: 404, user: 403 },
    { method: "GET", path: "/health", admin: 200, user: 200, public: true },
  ] as const;

  it("never a 5xx; 401 for anything but a valid admin key or user JWT", async () => {
    const kinds = { "signed tokens": jwtCase, "admin keys": keyCase, "other headers": junkCase };
    const failures: string[] = [];
    for (const route of routes) {
      for (const [kindName, kind] of Object.entries(kinds)) {
        try {
          await fc.assert(
            fc.asyncProperty(kind, async (pending) => {
              const { header, who } = await pending;
              const response = await harness.tether.app.request(route.path, {
                method: route.method,
                headers: header === undefined ? {} : { authorization: header },
              });
              const text = await response.text();
              const label = `${route.method} ${route.path} with ${JSON.stringify(header)} (${who}): ${response.status} ${text.slice(0, 200)}`;
              expect(response.status, label).toBeLessThan(500);
              const expected = "public" in route ? 200 : who === "nobody" ? 401 : route[who];
              expect(response.status, label).toBe(expected);
              if (response.status >= 400) {
                const body = JSON.parse(text) as { error: { code: string; message: string } };
                expect(body.error, label).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
              }
              if (response.status === 401) expect(body401(text), label).toBe("unauthorized");
            }),
            // Requests without a database snapshot are cheap: every route × kind gets a full property's runs.
            { numRuns: RUNS },
          );
        } catch (error) {
          const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message.split("\n")[0] : String(error);
          failures.push(`${route.method} ${route.path}, ${kindName}: ${cause}`);
        }
      }
    }
    const health = await harness.request("/health");
    expect(health.status).toBe(200);
    if (failures.length > 0) throw new Error(`${failures.length} failing combinations:\n${failures.join("\n")}`);
  });
});
