import { randomBytes } from "node:crypto";
import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Repositories } from "../src/db/repositories";
import { databaseKinds } from "./support/database";
import { eventually, readSse, startTestTether, userMessage, type TestTether } from "./support/tether";
import type { ExecutionBody as Execution } from "./support/assertions";
import { settled } from "./support/executions";

/**
 * The auth contract (docs/api.md § Auth and ownership, docs/design.md invariant 12) as a table: every route × every kind of caller →
 * the exact status. A user's conversations, executions, streams and approvals answer another user exactly as
 * an unknown id does; forbidden callers of state-changing routes change nothing; nothing of alice's ever shows
 * in a body bob receives.
 */

const ADMIN_KEY = "admin-key-1";
const JWT_SECRET = `jwt-secret-${randomBytes(24).toString("hex")}`;
const EMAIL = `use send_email with ${JSON.stringify({ to: "a@example.com", subject: "s", body: "b" })}`;

const UNAUTHENTICATED = ["anonymous", "expired", "forged", "bearer-only", "basic", "wrong-key", "no-sub"] as const;
const AUTHENTICATED = ["bob", "alice", "admin"] as const;
type Unauthenticated = (typeof UNAUTHENTICATED)[number];
type Authenticated = (typeof AUTHENTICATED)[number];
type Caller = Unauthenticated | Authenticated;

interface ErrorBody {
  error: { code: string; message: string; requestId?: string };
}

const CODE_OF: Record<number, string> = { 400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict" };

const unknownId = (prefix: string) => `${prefix}-missing-${randomBytes(6).toString("hex")}`;

/** Everything that could tell one database state from another, as far as these routes can change it. */
async function fingerprint(repositories: Repositories) {
  const agents = (await repositories.agents.list()).map(
    (agent) => `${agent.id}|${agent.name}|${agent.executionMode}|${JSON.stringify(agent.tools)}|${agent.updatedAt.toISOString()}`,
  );
  const conversations = await repositories.conversations.list({ limit: 10_000 });
  const messages = await Promise.all(
    conversations.map(async (conversation) => `${conversation.id}:${JSON.stringify(await repositories.messages.list(conversation.id))}`),
  );
  const { executions } = await repositories.executions.list({ limit: 10_000 });
  const approvals = (await Promise.all(executions.map((execution) => repositories.approvals.listForExecution(execution.id))))
    .flat()
    .map((approval) => `${approval.executionId}|${approval.toolCallId}|${approval.status}|${approval.decidedBy ?? ""}`)
    .sort();
  const outbox = (await repositories.outbox.list()).map((message) => message.toolCallId).sort();
  return {
    agents,
    conversations: conversations
      .map((conversation) => `${conversation.id}|${conversation.ownerId}|${conversation.title}|${conversation.updatedAt.toISOString()}`)
      .sort(),
    messages: messages.sort(),
    executions: executions.map((execution) => `${execution.id}|${execution.status}|${execution.ownerId}`).sort(),
    approvals,
    outbox,
  };
}

/** One route of docs/api.md, with the status each authenticated caller must get (unauthenticated callers: 401). */
interface RouteCase {
  name: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: (caller: Caller) => string;
  body?: (caller: Caller) => unknown;
  /** Expected status per authenticated caller; a caller left out is not asked. */
  expect: Partial<Record<Authenticated, number>>;
  /** `/health`: every caller gets `expect` of admin, with or without a token. */
  public?: boolean;
  /** State-changing: snapshots the database around the forbidden callers. */
  mutates?: boolean;
  /** The same request with alice's ids swapped for unknown ones (ownership 404s must answer alike). */
  unknownPath?: () => string;
  /** Order of the allowed callers (default bob, alice, admin); forbidden callers always go first. */
  order?: Authenticated[];
  check?: (caller: Caller, response: Response, body: unknown) => void | Promise<void>;
  /** Runs after every caller of the case, e.g. waits for background work to settle. */
  after?: () => Promise<void>;
}

describe.each(databaseKinds())("security matrix on %s", (kind) => {
  let harness: TestTether;
  const tokens = {} as Record<"alice" | "bob" | "expired" | "forged" | "noSub" | "adminSub", string>;
  /** Alice's resources, created in beforeAll. */
  const s = {
    durableAgent: "",
    victimAgent: "",
    marker: "",
    c1: "", // classic, one completed turn
    e1: "",
    c2: "", // classic, suspended (alice approves)
    e2: "",
    t2: "",
    c3: "", // durable, suspended (alice cancels)
    e3: "",
    t3: "",
    c4: "", // classic, suspended (alice stops the conversation)
    e4: "",
    t4: "",
    c5: "", // durable, suspended (alice approves)
    e5: "",
    t5: "",
    c6: "", // classic, suspended (the admin cancels first)
    e6: "",
    t6: "",
    bobConversation: "",
    workflowRunIds: [] as string[],
  };
  const snapshots = new Map<string, Awaited<ReturnType<typeof fingerprint>>>();

  const headersOf = (caller: Caller): Record<string, string> => {
    switch (caller) {
      case "anonymous":
        return {};
      case "expired":
        return { authorization: `Bearer ${tokens.expired}` };
      case "forged":
        return { authorization: `Bearer ${tokens.forged}` };
      case "bearer-only":
        return { authorization: "Bearer" };
      case "basic":
        return { authorization: "Basic x" };
      case "wrong-key":
        return { authorization: `Bearer ${ADMIN_KEY}x` };
      case "no-sub":
        return { authorization: `Bearer ${tokens.noSub}` };
      case "bob":
        return { authorization: `Bearer ${tokens.bob}` };
      case "alice":
        return { authorization: `Bearer ${tokens.alice}` };
      case "admin":
        return { authorization: `Bearer ${ADMIN_KEY}` };
    }
  };

  const call = (caller: Caller, method: string, path: string, body?: unknown) =>
    harness.request(path, {
      method,
      headers: { ...headersOf(caller), ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const asAdmin = async <T>(path: string) => (await (await call("admin", "GET", path)).json()) as T;
  const execution = (id: string) => asAdmin<Execution>(`/api/executions/${id}`);
  /** No run of this tether is still running (background continuations have finished). */
  const quiet = () =>
    eventually(async () => {
      const { executions } = await harness.tether.repositories.executions.list({ status: "running", limit: 10 });
      expect(executions.map((row) => row.id)).toEqual([]);
    }, 30_000);

  /** The conversation's stored answer carries the approved tool's result. */
  const toolAnswered = (conversationId: string) =>
    eventually(async () => {
      const stored = await asAdmin<{ messages: unknown[] }>(`/api/conversations/${conversationId}`);
      expect(JSON.stringify(stored.messages.at(-1))).toContain("send_email returned");
    }, 30_000);

  /** Alice starts a turn and reads its whole stream; answers the execution id. */
  async function aliceChat(conversationId: string, agentId: string, text: string) {
    const response = await call("alice", "POST", "/api/chat", { id: conversationId, agentId, messages: [userMessage(text)] });
    expect(response.status).toBe(200);
    const executionId = response.headers.get("x-execution-id")!;
    const events = await readSse(response);
    expect(events.at(-1)?.data).toBe("[DONE]");
    return executionId;
  }

  /** Alice asks for an email; the run suspends on its approval. */
  async function aliceSuspended(conversationId: string, agentId: string) {
    const executionId = await aliceChat(conversationId, agentId, EMAIL);
    const suspended = await settled(execution, executionId, "suspended", 30_000);
    expect(suspended.pendingApprovals).toEqual([expect.objectContaining({ toolName: "send_email" })]);
    // The stored message carries the request before anything is compared against a snapshot.
    await eventually(async () => {
      const stored = await asAdmin<{ messages: unknown[] }>(`/api/conversations/${conversationId}`);
      expect(JSON.stringify(stored.messages.at(-1))).toContain("approval-requested");
    }, 30_000);
    if (suspended.workflowRunId) s.workflowRunIds.push(suspended.workflowRunId);
    return { executionId, toolCallId: suspended.pendingApprovals[0]!.toolCallId };
  }

  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_API_KEYS: ADMIN_KEY, TETHER_JWT_SECRET: JWT_SECRET }, { workflows: true });
    const now = Math.floor(Date.now() / 1000);
    tokens.alice = await sign({ sub: "alice", exp: now + 3600 }, JWT_SECRET, "HS256");
    tokens.bob = await sign({ sub: "bob", exp: now + 3600 }, JWT_SECRET, "HS256");
    tokens.expired = await sign({ sub: "alice", exp: now - 60 }, JWT_SECRET, "HS256");
    tokens.forged = await sign({ sub: "alice", exp: now + 3600 }, `another-secret-${randomBytes(24).toString("hex")}`, "HS256");
    tokens.noSub = await sign({ exp: now + 3600 }, JWT_SECRET, "HS256");
    tokens.adminSub = await sign({ sub: "admin", exp: now + 3600 }, JWT_SECRET, "HS256");

    const tag = randomBytes(4).toString("hex");
    s.durableAgent = `durable-${tag}`;
    s.victimAgent = `victim-${tag}`;
    for (const [id, executionMode] of [[s.durableAgent, "durable"], [s.victimAgent, "classic"]] as const) {
      const created = await call("admin", "POST", "/api/agents", {
        id,
        name: id,
        model: "demo",
        tools: ["get_time", "send_email"],
        executionMode,
      });
      expect(created.status).toBe(201);
    }

    s.marker = `alice-private-note-${randomBytes(6).toString("hex")}`;
    s.c1 = `alice-done-${tag}`;
    s.e1 = await aliceChat(s.c1, "assistant", s.marker);
    await settled(execution, s.e1, "completed", 30_000);
    s.c2 = `alice-approve-${tag}`;
    ({ executionId: s.e2, toolCallId: s.t2 } = await aliceSuspended(s.c2, "assistant"));
    s.c3 = `alice-durable-cancel-${tag}`;
    ({ executionId: s.e3, toolCallId: s.t3 } = await aliceSuspended(s.c3, s.durableAgent));
    s.c4 = `alice-stop-${tag}`;
    ({ executionId: s.e4, toolCallId: s.t4 } = await aliceSuspended(s.c4, "assistant"));
    s.c5 = `alice-durable-approve-${tag}`;
    ({ executionId: s.e5, toolCallId: s.t5 } = await aliceSuspended(s.c5, s.durableAgent));
    s.c6 = `alice-admin-cancels-${tag}`;
    ({ executionId: s.e6, toolCallId: s.t6 } = await aliceSuspended(s.c6, "assistant"));
    s.bobConversation = `bob-own-${tag}`;
    await quiet();
  }, 180_000);
  afterAll(() => harness?.dispose());

  const aliceConversations = () => [s.c1, s.c2, s.c3, s.c4, s.c5, s.c6];
  const aliceExecutions = () => [s.e1, s.e2, s.e3, s.e4, s.e5, s.e6];
  const aliceToolCalls = () => [s.t2, s.t3, s.t4, s.t5, s.t6];
  /** What bob must never read: alice's ids, tool call ids, run ids and words. */
  const aliceSecrets = () => [...aliceConversations(), ...aliceExecutions(), ...aliceToolCalls(), ...s.workflowRunIds, s.marker];

  const idsOf = (list: Array<{ id: string }>) => list.map((item) => item.id);
  const expectListing = (
    caller: Caller,
    ids: string[],
    own: string[],
  ) => {
    if (caller === "bob") for (const id of own) expect(ids).not.toContain(id);
    else for (const id of own) expect(ids).toContain(id);
  };

  const perConversation = (
    name: string,
    path: (id: string) => string,
    expectations: Partial<Record<Authenticated, number>>,
  ): RouteCase[] =>
    (["c1", "c2", "c3", "c4", "c5", "c6"] as const).map((key) => ({
      name: `${name} (${key})`,
      method: "GET",
      path: () => path(s[key]),
      unknownPath: () => path(unknownId("conv")),
      expect: expectations,
    }));
  const perExecution = (
    name: string,
    path: (id: string) => string,
    expectations: Partial<Record<Authenticated, number>>,
    keys: ReadonlyArray<"e1" | "e2" | "e3" | "e4" | "e5" | "e6"> = ["e1", "e2", "e3", "e4", "e5", "e6"],
  ): RouteCase[] =>
    keys.map((key) => ({
      name: `${name} (${key})`,
      method: "GET",
      path: () => path(s[key]),
      unknownPath: () => path(unknownId("ex")),
      expect: expectations,
    }));

  const approvalAnswer = (toolCallId: string) => ({
    id: `a_${randomBytes(4).toString("hex")}`,
    role: "assistant",
    parts: [
      {
        type: "tool-send_email",
        toolCallId,
        state: "approval-responded",
        input: { to: "a@example.com", subject: "s", body: "b" },
        approval: { id: `approval-${toolCallId}`, approved: true },
      },
    ],
  });

  const cases: RouteCase[] = [
    { name: "GET /health", method: "GET", path: () => "/health", public: true, expect: { bob: 200, alice: 200, admin: 200 } },
    {
      name: "GET /api/agents",
      method: "GET",
      path: () => "/api/agents",
      expect: { bob: 200, alice: 200, admin: 200 },
      check: (_caller, _response, body) => {
        expect(idsOf((body as { agents: Array<{ id: string }> }).agents)).toEqual(
          expect.arrayContaining(["assistant", s.durableAgent, s.victimAgent]),
        );
      },
    },
    {
      name: "GET /api/agents/:agentId",
      method: "GET",
      path: () => `/api/agents/${s.durableAgent}`,
      expect: { bob: 200, alice: 200, admin: 200 },
      check: (_caller, _response, body) => expect(body).toMatchObject({ id: s.durableAgent, executionMode: "durable" }),
    },
    {
      name: "GET /api/conversations",
      method: "GET",
      path: () => "/api/conversations",
      expect: { bob: 200, alice: 200, admin: 200 },
      check: (caller, _response, body) =>
        expectListing(caller, idsOf((body as { conversations: Array<{ id: string }> }).conversations), aliceConversations()),
    },
    {
      name: "GET /api/conversations?agentId= (durable agent)",
      method: "GET",
      path: () => `/api/conversations?agentId=${s.durableAgent}`,
      expect: { bob: 200, alice: 200, admin: 200 },
      check: (caller, _response, body) => {
        const ids = idsOf((body as { conversations: Array<{ id: string }> }).conversations);
        expectListing(caller, ids, [s.c3, s.c5]);
        if (caller === "bob") expect(ids).toEqual([]);
      },
    },
    ...perConversation("GET /api/conversations/:id", (id) => `/api/conversations/${id}`, { bob: 404, alice: 200, admin: 200 }).map(
      (routeCase) => ({
        ...routeCase,
        check: (caller: Caller, _response: Response, body: unknown) => {
          if (caller === "bob") return;
          expect((body as { id: string }).id).toBe(routeCase.path(caller).split("/").at(-1));
          if (routeCase.name.endsWith("(c1)")) expect(JSON.stringify(body)).toContain(s.marker);
        },
      }),
    ),
    {
      name: "GET /api/executions",
      method: "GET",
      path: () => "/api/executions?limit=200",
      expect: { bob: 200, alice: 200, admin: 200 },
      check: (caller, _response, body) =>
        expectListing(caller, idsOf((body as { executions: Array<{ id: string }> }).executions), aliceExecutions()),
    },
    {
      name: "GET /api/executions?conversationId= (alice's)",
      method: "GET",
      path: () => `/api/executions?conversationId=${s.c2}`,
      expect: { bob: 200, alice: 200, admin: 200 },
      check: (caller, _response, body) => {
        const ids = idsOf((body as { executions: Array<{ id: string }> }).executions);
        if (caller === "bob") expect(ids).toEqual([]);
        else expect(ids).toContain(s.e2);
      },
    },
    {
      name: "GET /api/executions?status=suspended",
      method: "GET",
      path: () => "/api/executions?status=suspended&limit=200",
      expect: { bob: 200, alice: 200, admin: 200 },
      check: (caller, _response, body) =>
        expectListing(caller, idsOf((body as { executions: Array<{ id: string }> }).executions), [s.e2, s.e3, s.e4, s.e5, s.e6]),
    },
    ...perExecution("GET /api/executions/:id", (id) => `/api/executions/${id}`, { bob: 404, alice: 200, admin: 200 }),
    ...perConversation("GET /api/chat/:id/stream", (id) => `/api/chat/${id}/stream`, { bob: 404, alice: 204, admin: 204 }),
    // Classic buffers live for 5 minutes after their turn; durable runs replay from the world (e3 and e5 are
    // suspended, so their streams stay open: the body is cancelled after the status is read).
    ...perExecution("GET /api/executions/:id/stream", (id) => `/api/executions/${id}/stream`, { bob: 404, alice: 200, admin: 200 }, [
      "e1",
      "e2",
      "e3",
    ]),
    {
      name: "GET /api/outbox",
      method: "GET",
      path: () => "/api/outbox",
      expect: { bob: 403, alice: 403, admin: 200 },
    },

    // State-changing routes from here on: forbidden callers first, then a snapshot comparison, then the allowed.
    {
      name: "POST /api/agents",
      method: "POST",
      path: () => "/api/agents",
      body: (caller) => ({ id: `made-by-${caller}-${s.victimAgent}`, name: `made by ${caller}` }),
      mutates: true,
      expect: { bob: 403, alice: 403, admin: 201 },
      check: async (caller, _response, body) => {
        if (caller === "admin") expect(body).toMatchObject({ id: `made-by-admin-${s.victimAgent}` });
      },
    },
    {
      name: "PATCH /api/agents/:agentId",
      method: "PATCH",
      path: () => `/api/agents/${s.victimAgent}`,
      body: (caller) => ({ name: `patched by ${caller}`, executionMode: "durable" }),
      mutates: true,
      expect: { bob: 403, alice: 403, admin: 200 },
      check: (caller, _response, body) => {
        if (caller === "admin") expect(body).toMatchObject({ name: "patched by admin", executionMode: "durable" });
      },
    },
    {
      name: "POST /api/chat (new conversation)",
      method: "POST",
      path: () => "/api/chat",
      body: (caller) => ({
        id: caller === "bob" ? s.bobConversation : `new-${caller}-${s.victimAgent}`,
        agentId: "assistant",
        messages: [userMessage(`hello from ${caller}`)],
      }),
      mutates: true,
      expect: { bob: 200, alice: 200, admin: 200 },
      after: () => quiet(),
    },
    {
      name: "POST /api/chat (alice's existing conversation)",
      method: "POST",
      path: () => "/api/chat",
      body: (caller) => ({ id: s.c1, agentId: "assistant", messages: [userMessage(`another turn by ${caller}`)] }),
      mutates: true,
      expect: { bob: 404, alice: 200, admin: 200 },
      check: (caller, response) => {
        if (caller !== "bob") expect(response.headers.get("x-conversation-id")).toBe(s.c1);
      },
      after: () => quiet(),
    },
    {
      name: "POST /api/chat (answering alice's approval in her conversation)",
      method: "POST",
      path: () => "/api/chat",
      body: () => ({ id: s.c6, agentId: "assistant", messages: [userMessage(EMAIL, "u-x"), approvalAnswer(s.t6)] }),
      mutates: true,
      expect: { bob: 404 },
    },
    {
      name: "POST /api/chat (answering alice's approval from bob's own conversation)",
      method: "POST",
      path: () => "/api/chat",
      body: () => ({ id: s.bobConversation, agentId: "assistant", messages: [userMessage(EMAIL, "u-y"), approvalAnswer(s.t6)] }),
      mutates: true,
      expect: { bob: 404 },
    },
    {
      name: "POST /api/executions/:id/approvals/:toolCallId (durable, another caller's decision)",
      method: "POST",
      path: () => `/api/executions/${s.e3}/approvals/${s.t3}`,
      unknownPath: () => `/api/executions/${unknownId("ex")}/approvals/${unknownId("call")}`,
      body: () => ({ approved: true }),
      mutates: true,
      expect: { bob: 404 },
    },
    {
      name: "POST /api/executions/:id/approvals/:toolCallId (classic)",
      method: "POST",
      path: () => `/api/executions/${s.e2}/approvals/${s.t2}`,
      unknownPath: () => `/api/executions/${unknownId("ex")}/approvals/${unknownId("call")}`,
      body: () => ({ approved: true }),
      mutates: true,
      expect: { bob: 404, alice: 200, admin: 200 },
      check: (caller, _response, body) => {
        if (caller !== "bob") expect(body).toEqual({ toolCallId: s.t2, status: "approved" });
      },
      after: async () => {
        // The suspended execution hands over to a continuation, which runs the tool and answers.
        const handedOver = await settled(execution, s.e2, "completed", 30_000);
        expect(handedOver.metadata.continuedBy).toEqual(expect.any(String));
        await settled(execution, handedOver.metadata.continuedBy as string, "completed", 30_000);
        await toolAnswered(s.c2);
        await quiet();
      },
    },
    {
      name: "POST /api/executions/:id/approvals/:toolCallId (durable)",
      method: "POST",
      path: () => `/api/executions/${s.e5}/approvals/${s.t5}`,
      unknownPath: () => `/api/executions/${unknownId("ex")}/approvals/${unknownId("call")}`,
      body: () => ({ approved: true }),
      mutates: true,
      expect: { bob: 404, alice: 200, admin: 200 },
      check: (caller, _response, body) => {
        if (caller !== "bob") expect(body).toEqual({ toolCallId: s.t5, status: "approved" });
      },
      after: async () => {
        await settled(execution, s.e5, "completed", 30_000);
        await toolAnswered(s.c5);
        await quiet();
      },
    },
    {
      name: "POST /api/executions/:id/cancel (durable)",
      method: "POST",
      path: () => `/api/executions/${s.e3}/cancel`,
      unknownPath: () => `/api/executions/${unknownId("ex")}/cancel`,
      mutates: true,
      expect: { bob: 404, alice: 200, admin: 409 },
      check: (caller, _response, body) => {
        if (caller === "alice") expect(body).toMatchObject({ id: s.e3, status: "cancelled" });
      },
    },
    {
      name: "POST /api/executions/:id/cancel (classic, admin first)",
      method: "POST",
      path: () => `/api/executions/${s.e6}/cancel`,
      unknownPath: () => `/api/executions/${unknownId("ex")}/cancel`,
      mutates: true,
      order: ["admin", "alice"],
      expect: { bob: 404, alice: 409, admin: 200 },
      check: (caller, _response, body) => {
        if (caller === "admin") expect(body).toMatchObject({ id: s.e6, status: "cancelled" });
      },
    },
    {
      name: "POST /api/chat/:id/stop",
      method: "POST",
      path: () => `/api/chat/${s.c4}/stop`,
      unknownPath: () => `/api/chat/${unknownId("conv")}/stop`,
      mutates: true,
      expect: { bob: 404, alice: 200, admin: 204 },
      check: (caller, _response, body) => {
        if (caller === "alice") expect(body).toEqual({ executionId: s.e4, status: "cancelled" });
      },
    },
    {
      name: "DELETE /api/agents/:agentId",
      method: "DELETE",
      path: () => `/api/agents/${s.victimAgent}`,
      mutates: true,
      expect: { bob: 403, alice: 403, admin: 204 },
    },
  ];

  /** Error body with the request id dropped and the ids named in the path replaced, for comparison. */
  const normalized = (body: ErrorBody, path: string) => {
    let message = body.error.message;
    for (const segment of path.split("?")[0]!.split("/").filter(Boolean)) {
      if (segment !== "api") message = message.split(segment).join("<id>");
    }
    const { requestId: _requestId, ...rest } = body.error;
    return { error: { ...rest, message } };
  };

  for (const routeCase of cases) {
    const authenticated = (routeCase.order ?? ["bob", "alice", "admin"]).filter((caller) => routeCase.expect[caller] !== undefined);
    const expected = (caller: Caller): number =>
      routeCase.public
        ? routeCase.expect.admin!
        : (UNAUTHENTICATED as readonly string[]).includes(caller)
          ? 401
          : routeCase.expect[caller as Authenticated]!;
    const callers: Caller[] = [...UNAUTHENTICATED, ...authenticated];
    // 409s are not "forbidden": they answer allowed callers after the owner has acted.
    const forbidden = callers.filter((caller) => [401, 403, 404].includes(expected(caller)));
    const allowed = callers.filter((caller) => !forbidden.includes(caller));

    describe(routeCase.name, () => {
      if (routeCase.mutates && forbidden.length > 0) {
        it("(state before the forbidden callers)", async () => {
          snapshots.set(routeCase.name, await fingerprint(harness.tether.repositories));
        });
      }

      const compareSnapshot = () =>
        it("forbidden callers changed nothing", async () => {
          const before = snapshots.get(routeCase.name);
          expect(before).toBeDefined();
          expect(await fingerprint(harness.tether.repositories)).toEqual(before);
        });

      for (const caller of [...forbidden, ...allowed]) {
        if (routeCase.mutates && caller === allowed[0] && forbidden.length > 0) compareSnapshot();
        it(`${caller} → ${expected(caller)}`, async () => {
          const path = routeCase.path(caller);
          const body = routeCase.body?.(caller);
          const response = await call(caller, routeCase.method, path, body);
          const status = response.status;
          const isStream = (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
          let text = "";
          let parsed: unknown;
          if (isStream) {
            // Whole turns of new chats end by themselves; live run streams are cut after the status.
            if (routeCase.method === "POST") text = await response.text();
            else await response.body?.cancel();
          } else {
            text = await response.text();
            parsed = text === "" ? undefined : JSON.parse(text);
          }
          expect(status, text.slice(0, 300)).toBe(expected(caller));

          if (status >= 400) {
            expect(response.headers.get("content-type")).toMatch(/^application\/json/);
            expect(parsed).toEqual({ error: expect.objectContaining({ code: CODE_OF[status], message: expect.any(String) }) });
          }
          if (status === 401) expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);

          if (caller === "bob") {
            // Whatever bob sent he may see echoed; nothing else of alice's.
            const sent = `${path} ${JSON.stringify(body ?? null)}`;
            for (const secret of aliceSecrets().filter((value) => value && !sent.includes(value))) {
              expect(text, `bob's answer leaks ${secret}`).not.toContain(secret);
            }
            for (const [name, value] of response.headers) {
              for (const secret of aliceSecrets().filter((candidate) => candidate && !sent.includes(candidate))) {
                expect(value, `bob's header ${name} leaks ${secret}`).not.toContain(secret);
              }
            }
          }

          if (caller === "bob" && status === 404 && routeCase.unknownPath) {
            const otherPath = routeCase.unknownPath();
            const other = await call("bob", routeCase.method, otherPath, body);
            expect(other.status).toBe(404);
            expect(other.headers.get("content-type")).toBe(response.headers.get("content-type"));
            expect(normalized(parsed as ErrorBody, path)).toEqual(normalized((await other.json()) as ErrorBody, otherPath));
          }

          if (status < 400) await routeCase.check?.(caller, response, parsed);
        });
      }

      if (routeCase.mutates && forbidden.length > 0 && allowed.length === 0) compareSnapshot();

      if (routeCase.after) it("(settles)", () => routeCase.after!(), 60_000);
    });
  }

  describe("after the matrix", () => {
    it("only the allowed callers' decisions took effect", async () => {
      const { approvals, executions, agents, outbox } = harness.tether.repositories;
      expect(await agents.find(s.victimAgent)).toBeUndefined();
      for (const caller of ["bob", "alice", ...UNAUTHENTICATED]) {
        expect(await agents.find(`made-by-${caller}-${s.victimAgent}`)).toBeUndefined();
      }
      expect(await agents.find(`made-by-admin-${s.victimAgent}`)).toBeDefined();
      expect(await approvals.find(s.e2, s.t2)).toMatchObject({ status: "approved", decidedBy: "user:alice" });
      expect(await approvals.find(s.e5, s.t5)).toMatchObject({ status: "approved", decidedBy: "user:alice" });
      for (const [executionId, toolCallId] of [[s.e3, s.t3], [s.e4, s.t4], [s.e6, s.t6]] as const) {
        expect(await approvals.find(executionId, toolCallId)).toMatchObject({ status: "expired", decidedBy: "system" });
      }
      expect((await executions.get(s.e3)).status).toBe("cancelled");
      expect((await executions.get(s.e4)).status).toBe("cancelled");
      expect((await executions.get(s.e6)).status).toBe("cancelled");
      const sent = (await outbox.list()).map((message) => message.toolCallId);
      expect(sent.filter((id) => id === s.t2)).toHaveLength(1);
      expect(sent.filter((id) => id === s.t5)).toHaveLength(1);
      for (const id of [s.t3, s.t4, s.t6]) expect(sent).not.toContain(id);
    });

    it("bob's own conversation and runs are his, and invisible to alice", async () => {
      const bobs = (await (await call("bob", "GET", "/api/conversations")).json()) as { conversations: Array<{ id: string }> };
      expect(idsOf(bobs.conversations)).toEqual([s.bobConversation]);
      expect((await call("alice", "GET", `/api/conversations/${s.bobConversation}`)).status).toBe(404);
      const { executions } = (await (await call("bob", "GET", "/api/executions")).json()) as { executions: Execution[] };
      expect(executions.length).toBeGreaterThan(0);
      for (const row of executions) {
        expect(row.conversationId).toBe(s.bobConversation);
        expect((await call("alice", "GET", `/api/executions/${row.id}`)).status).toBe(404);
        expect((await call("alice", "GET", `/api/executions/${row.id}/stream`)).status).toBe(404);
      }
    });

    it("a user whose JWT sub is \"admin\" does not own what the admin key created", async () => {
      const conversationId = `admin-own-${randomBytes(4).toString("hex")}`;
      const started = await call("admin", "POST", "/api/chat", {
        id: conversationId,
        agentId: "assistant",
        messages: [userMessage("the admin's own words")],
      });
      expect(started.status).toBe(200);
      const executionId = started.headers.get("x-execution-id")!;
      await readSse(started);
      const impostor = `Bearer ${tokens.adminSub}`;
      const asImpostor = (path: string) => harness.request(path, { headers: { authorization: impostor } });
      expect((await asImpostor(`/api/conversations/${conversationId}`)).status).toBe(404);
      expect((await asImpostor(`/api/executions/${executionId}`)).status).toBe(404);
      const listed = (await (await asImpostor("/api/conversations")).json()) as { conversations: Array<{ id: string }> };
      expect(idsOf(listed.conversations)).not.toContain(conversationId);
    });
  });
});

describe.each(databaseKinds())("anonymous (local single-user) mode on %s", (kind) => {
  let harness: TestTether;
  beforeAll(async () => {
    harness = await startTestTether(kind, {});
  });
  afterAll(() => harness?.dispose());

  const headerVariants: Array<Record<string, string>> = [
    {},
    { authorization: "Bearer" },
    { authorization: "Basic x" },
    { authorization: "Bearer not-a-token" },
  ];

  it("treats every caller as the local admin: no 401 and no 403 anywhere", async () => {
    for (const [index, headers] of headerVariants.entries()) {
      const agentId = `local-agent-${index}`;
      const created = await harness.request("/api/agents", { json: { id: agentId, name: agentId }, headers });
      expect(created.status).toBe(201);
      expect((await harness.request(`/api/agents/${agentId}`, { method: "PATCH", json: { name: "renamed" }, headers })).status).toBe(200);
      expect((await harness.request("/api/agents", { headers })).status).toBe(200);
      expect((await harness.request("/api/outbox", { headers })).status).toBe(200);
      expect((await harness.request("/health", { headers })).status).toBe(200);

      const conversationId = `local-conv-${index}`;
      const chat = await harness.request("/api/chat", {
        json: { id: conversationId, agentId: "assistant", messages: [userMessage("hi")] },
        headers,
      });
      expect(chat.status).toBe(200);
      const executionId = chat.headers.get("x-execution-id")!;
      await readSse(chat);
      // Another header, another "caller": still the same local user, who sees everything.
      const other = headerVariants[(index + 1) % headerVariants.length]!;
      expect((await harness.request(`/api/conversations/${conversationId}`, { headers: other })).status).toBe(200);
      const stored = await eventually(async () => {
        const response = await harness.request(`/api/executions/${executionId}`, { headers: other });
        expect(response.status).toBe(200);
        const body = (await response.json()) as Execution;
        expect(body.status).toBe("completed");
        return body;
      });
      expect(stored.conversationId).toBe(conversationId);
      const listed = (await (await harness.request("/api/conversations", { headers: other })).json()) as {
        conversations: Array<{ id: string }>;
      };
      expect(listed.conversations.map((conversation) => conversation.id)).toContain(conversationId);
      expect((await harness.request(`/api/agents/${agentId}`, { method: "DELETE", headers: other })).status).toBe(204);
    }
  });
});
