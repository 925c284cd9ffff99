import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, expectInvalid } from "./support/assertions";
import { databaseKinds } from "./support/database";
import { startServerProcess } from "./support/server-process";
import { readSse, startTestTether, userMessage, type TestTether } from "./support/tether";

describe.each(databaseKinds())("input limits on %s", (kind) => {
  let harness: TestTether;

  beforeAll(async () => {
    harness = await startTestTether(kind, {
      TETHER_MAX_MESSAGES: "2",
      TETHER_MAX_MESSAGE_BYTES: "400",
      TETHER_MAX_JSON_DEPTH: "8",
    });
  });
  afterAll(() => harness.dispose());

  const chat = (conversationId: string, messages: unknown[]) =>
    harness.request("/api/chat", { json: { id: conversationId, agentId: "assistant", messages } });

  /** A refused chat request stored nothing: no conversation, no execution (docs/design.md invariant 15). */
  async function expectNothingStoredFor(conversationId: string) {
    await expectError(await harness.request(`/api/conversations/${conversationId}`), 404, "not_found");
    const listed = await harness.request(`/api/executions?conversationId=${conversationId}`);
    expect(((await listed.json()) as { executions: unknown[] }).executions).toEqual([]);
  }

  it("refuses more messages than configured, naming the field, and stores nothing for it", async () => {
    await expectInvalid(await chat("too-many", [userMessage("a"), userMessage("b"), userMessage("c")]), /messages/);
    await expectNothingStoredFor("too-many");
    // At the limit the same request is taken, and stored: the check above would have seen it.
    const accepted = await chat("at-the-limit", [userMessage("a"), userMessage("b")]);
    expect(accepted.status).toBe(200);
    await readSse(accepted);
    expect((await harness.request("/api/conversations/at-the-limit")).status).toBe(200);
  });

  it("refuses a message larger than configured, and stores nothing for it", async () => {
    await expectInvalid(await chat("too-large", [userMessage("x".repeat(500))]), /messages\.0/);
    await expectNothingStoredFor("too-large");
  });

  it("refuses JSON nested deeper than configured before parsing it, and creates no agent", async () => {
    let nested: unknown = "deep";
    for (let level = 0; level < 12; level++) nested = { nested };
    const response = await harness.request("/api/agents", { json: { id: "too-deep", name: "deep", instructions: nested } });
    await expectInvalid(response, /^body$/, /nested 1[0-9] levels deep/);
    await expectError(await harness.request("/api/agents/too-deep"), 404, "not_found");
    const { agents } = (await (await harness.request("/api/agents")).json()) as { agents: Array<{ name: string }> };
    expect(agents.some((agent) => agent.name === "deep")).toBe(false);
  });
});

describe("binding", () => {
  it("refuses to listen beyond loopback without auth configured", async () => {
    await expect(startServerProcess({ HOST: "0.0.0.0", TETHER_DATA_DIR: "/nonexistent-unused" })).rejects.toThrow(
      /refusing to listen on 0\.0\.0\.0 without auth/,
    );
  });

  it("says so when it runs in local single-user mode", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-bind-"));
    const server = await startServerProcess({ TETHER_DATA_DIR: dataDir });
    try {
      expect(server.output()).toContain("local single-user mode");
      expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:/);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
