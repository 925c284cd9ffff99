import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { databaseKinds } from "./support/database";
import { startTestTether, type TestTether } from "./support/tether";
import { expectError } from "./support/assertions";

/** Every route of docs/api.md (its `:id` params written as OpenAPI `{}`), with its methods. */
const CONTRACT_ROUTES: Array<[string, string[]]> = [
  ["/api/agents", ["get", "post"]],
  ["/api/agents/{}", ["get", "patch", "delete"]],
  ["/api/chat", ["post"]],
  ["/api/chat/{}/stream", ["get"]],
  ["/api/chat/{}/stop", ["post"]],
  ["/api/conversations", ["get"]],
  ["/api/conversations/{}", ["get"]],
  ["/api/executions", ["get"]],
  ["/api/executions/{}", ["get"]],
  ["/api/executions/{}/stream", ["get"]],
  ["/api/executions/{}/approvals/{}", ["post"]],
  ["/api/executions/{}/cancel", ["post"]],
  ["/api/outbox", ["get"]],
  ["/health", ["get"]],
];

/** What every unexpected error answers (docs/api.md § Errors): fixed, so no internal detail leaks. */
const UNEXPECTED_ERROR_MESSAGE = "Something went wrong; the request id identifies it in the logs.";

describe.each(databaseKinds())("operation routes on %s", (kind) => {
  let t: TestTether;

  beforeAll(async () => {
    t = await startTestTether(kind);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("GET /health answers {ok: true, db, world} for this database", async () => {
    const response = await t.request("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      ok: true,
      db: kind,
      world: kind === "postgres" ? "postgres" : "local",
    });
  });

  it("GET /openapi.json is an OpenAPI 3.1 document listing every route of the contract", async () => {
    const response = await t.request("/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const document = (await response.json()) as {
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(document.info.title).toEqual(expect.any(String));
    const paths = new Map(
      Object.entries(document.paths).map(([route, operations]) => [route.replace(/\{[^}]+\}/g, "{}"), operations]),
    );
    for (const [route, methods] of CONTRACT_ROUTES) {
      expect(paths.has(route), `${route} is documented`).toBe(true);
      for (const method of methods) expect(paths.get(route), `${method} ${route}`).toHaveProperty(method);
    }
  });

  it("GET /docs is HTML that loads only same-origin assets, and those assets answer 200", async () => {
    const response = await t.request("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    const references = [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map(
      (match) => match[1]!,
    );
    expect(references.length).toBeGreaterThanOrEqual(2);
    for (const reference of references) {
      expect(reference, `${reference} is same-origin`).toMatch(/^\/(?!\/)/);
      const asset = await t.request(reference);
      expect(asset.status, reference).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, reference).toBeGreaterThan(0);
    }
    // The page's own fetches (the spec) stay on this origin too.
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("answers 404 with the JSON error body for an unknown route", async () => {
    await expectError(await t.request("/api/nothing-here"), 404, "not_found", /nothing-here/);
    await expectError(await t.request("/api/agents/assistant/extra/segments"), 404, "not_found");
  });

  it("answers 405 with the JSON error body and an Allow header for a wrong method", async () => {
    const put = await t.request("/api/agents", { method: "PUT", json: { name: "x" } });
    const allow = put.headers.get("allow") ?? "";
    await expectError(put, 405, "method_not_allowed", /PUT/);
    expect(allow.split(/,\s*/)).toEqual(expect.arrayContaining(["GET", "POST"]));
    expect(allow).not.toMatch(/PUT/);

    const getChat = await t.request("/api/chat");
    const chatAllow = getChat.headers.get("allow") ?? "";
    await expectError(getChat, 405, "method_not_allowed");
    expect(chatAllow.split(/,\s*/)).toContain("POST");

    const deleteExecution = await t.request("/api/executions/ex_1", { method: "DELETE" });
    await expectError(deleteExecution, 405, "method_not_allowed");
    expect(deleteExecution.headers.get("allow") ?? "").toMatch(/GET/);
  });

  it("answers an unexpected error with 500, a fixed JSON message and the request id, never the error's text", async () => {
    // Nothing a client sends makes a handler throw unexpectedly: a repository of this very Tether does.
    const { agents } = t.tether.repositories;
    const spy = vi.spyOn(agents, "list").mockRejectedValue(new Error("db password hunter2 in a stack trace"));
    try {
      const named = await t.request("/api/agents", { headers: { "x-request-id": "req-500-check" } });
      expect(named.headers.get("x-request-id")).toBe("req-500-check");
      expect(await expectError(named, 500, "internal_error")).toEqual({
        code: "internal_error",
        message: UNEXPECTED_ERROR_MESSAGE,
        requestId: "req-500-check",
      });
      // Without an incoming id the server makes one up, and answers the same one in header and body.
      const unnamed = await t.request("/api/agents");
      const generated = unnamed.headers.get("x-request-id");
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);
      expect(await unnamed.json()).toEqual({
        error: { code: "internal_error", message: UNEXPECTED_ERROR_MESSAGE, requestId: generated },
      });
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
    expect((await t.request("/api/agents")).status).toBe(200);
  });

  it("GET /api/outbox answers 200 {messages: []} before anything was sent", async () => {
    const response = await t.request("/api/outbox");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ messages: [] });
  });
});
