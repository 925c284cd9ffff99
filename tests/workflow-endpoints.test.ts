import type { AddressInfo } from "node:net";
import os from "node:os";
import { serve, type ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "./support/database";
import { startTestTether, type TestTether } from "./support/tether";

/**
 * Invariant 14: the Workflow SDK's internal `flow` and `step` endpoints run workflow code on request and
 * carry no auth of their own, so only loopback callers (the world's queue) may reach them. The guard must
 * judge the socket's peer address, never a header, and refuse when it cannot tell.
 */

const FLOW = "/.well-known/workflow/v1/flow";
const STEP = "/.well-known/workflow/v1/step";

type Bindings = { incoming?: { socket?: { remoteAddress?: string } } };
const from = (remoteAddress: string): Bindings => ({ incoming: { socket: { remoteAddress } } });

/** A non-loopback address of this machine, to call the server over a real socket from outside loopback. */
function externalAddress(): string | undefined {
  for (const addresses of Object.values(os.networkInterfaces())) {
    const found = addresses?.find((address) => address.family === "IPv4" && !address.internal);
    if (found) return found.address;
  }
  return undefined;
}

async function expectForbidden(response: Response) {
  expect(response.status).toBe(403);
  expect(response.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error).toMatchObject({ code: "forbidden", message: expect.any(String) });
}

describe.each(databaseKinds())("Workflow SDK endpoints (%s)", (kind) => {
  let harness: TestTether;

  beforeAll(async () => {
    harness = await startTestTether(kind, {}, { workflows: true });
  });
  afterAll(() => harness?.dispose());

  const call = (pathname: string, bindings?: Bindings, init: RequestInit = { method: "POST", body: "{}" }) =>
    Promise.resolve(harness.tether.app.request(pathname, init, bindings));

  it.each([FLOW, STEP])("refuses %s to a non-loopback peer, in IPv4 and IPv4-mapped IPv6 form", async (endpoint) => {
    await expectForbidden(await call(endpoint, from("10.1.2.3")));
    await expectForbidden(await call(endpoint, from("::ffff:10.1.2.3")));
    await expectForbidden(await call(endpoint, from("192.168.0.7")));
    await expectForbidden(await call(endpoint, from("2001:db8::1")));
    // Addresses that merely look like loopback.
    await expectForbidden(await call(endpoint, from("128.0.0.1")));
    await expectForbidden(await call(endpoint, from("::ffff:10.127.0.1")));
  });

  it.each([FLOW, STEP])("refuses %s when the peer address is unknown (no socket information)", async (endpoint) => {
    await expectForbidden(await call(endpoint));
    await expectForbidden(await call(endpoint, {}));
    await expectForbidden(await call(endpoint, { incoming: {} }));
    await expectForbidden(await call(endpoint, { incoming: { socket: {} } }));
  });

  it.each([FLOW, STEP])("judges %s by the socket, never by forwarding headers", async (endpoint) => {
    const spoofed = {
      "x-forwarded-for": "127.0.0.1",
      "x-real-ip": "127.0.0.1",
      forwarded: "for=127.0.0.1",
      host: "localhost",
    };
    await expectForbidden(await call(endpoint, from("10.1.2.3"), { method: "POST", body: "{}", headers: spoofed }));
    await expectForbidden(await call(endpoint, undefined, { method: "POST", body: "{}", headers: spoofed }));
  });

  it("guards every method of flow, the health probe included", async () => {
    await expectForbidden(await call(`${FLOW}?__health`, from("10.1.2.3"), { method: "GET" }));
    // HEAD answers carry no body: the status alone must say no.
    expect((await call(FLOW, from("10.1.2.3"), { method: "HEAD" })).status).toBe(403);
    expect((await call(STEP, from("10.1.2.3"), { method: "HEAD" })).status).toBe(403);
  });

  it("does not let an encoded path slip past the guard", async () => {
    // `%66low` is `flow`: if the router decodes it into the handler's route, the guard must see it too.
    for (const pathname of ["/.well-known/workflow/v1/%66low", "/.well-known/workflow/v1/st%65p"]) {
      const response = await call(pathname, from("10.1.2.3"));
      expect([403, 404]).toContain(response.status);
    }
  });

  it.each(["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])(
    "lets a loopback peer (%s) through to the workflow handlers",
    async (address) => {
      for (const endpoint of [FLOW, STEP]) {
        const response = await call(endpoint, from(address));
        // `{}` is not a queue message: the SDK's handler answers it, whatever it says — but the guard did not.
        expect(response.status).not.toBe(403);
        expect(response.status).toBeLessThan(500);
      }
      const health = await call(`${FLOW}?__health`, from(address), { method: "GET" });
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ healthy: true });
    },
  );

  it("serves a loopback caller over a real socket", async () => {
    const baseUrl = await harness.listen();
    const health = await fetch(`${baseUrl}${FLOW}?__health`);
    expect(health.status).not.toBe(403);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ healthy: true });
    const step = await fetch(`${baseUrl}${STEP}`, { method: "POST", body: "{}" });
    expect(step.status).not.toBe(403);
  });

  const external = externalAddress();
  it.runIf(external)("refuses a caller from a non-loopback address over a real socket", async () => {
    let server: ServerType | undefined;
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: harness.tether.app.fetch, port: 0, hostname: external! }, (info: AddressInfo) =>
        resolve(info.port),
      );
    });
    try {
      const baseUrl = `http://${external}:${port}`;
      // The public API answers on that socket; only the internal endpoints are refused.
      expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
      await expectForbidden(await fetch(`${baseUrl}${FLOW}`, { method: "POST", body: "{}" }));
      await expectForbidden(await fetch(`${baseUrl}${STEP}`, { method: "POST", body: "{}" }));
      await expectForbidden(await fetch(`${baseUrl}${FLOW}?__health`, { headers: { "x-forwarded-for": "127.0.0.1" } }));
    } finally {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    }
  });

  it("leaves the webhook endpoint open to any caller and answers an unknown token with a 404 JSON error", async () => {
    // Webhooks carry their own unguessable token, so the loopback guard does not apply to them; an unknown
    // token is a missing id: `404` with the JSON error body, never a `5xx`.
    const response = await call("/.well-known/workflow/v1/webhook/no-such-token", from("10.1.2.3"));
    expect(response.status).not.toBe(403);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "not_found", message: expect.any(String) } });
  });

  it("reports the database and the workflow world of its kind on /health", async () => {
    const response = await harness.request("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, db: kind, world: kind === "postgres" ? "postgres" : "local" });
  });
});

describe("Workflow SDK endpoints before the workflow runtime starts", () => {
  let harness: TestTether;

  beforeAll(async () => {
    harness = await startTestTether("pglite");
  });
  afterAll(() => harness?.dispose());

  it("still refuses outsiders first, and tells a loopback caller that the runtime is not up", async () => {
    for (const endpoint of [FLOW, STEP]) {
      await expectForbidden(await Promise.resolve(harness.tether.app.request(endpoint, { method: "POST", body: "{}" }, from("10.1.2.3"))));
      const local = await harness.tether.app.request(endpoint, { method: "POST", body: "{}" }, from("127.0.0.1"));
      expect(local.status).toBe(503);
      expect(await local.json()).toMatchObject({ error: { code: "unavailable" } });
    }
  });
});
