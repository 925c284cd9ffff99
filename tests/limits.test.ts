import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectInvalid } from "./support/assertions";
import { startServerProcess } from "./support/server-process";
import { startTestTether, userMessage, type TestTether } from "./support/tether";

describe("input limits", () => {
  let harness: TestTether;

  beforeAll(async () => {
    harness = await startTestTether("pglite", {
      TETHER_MAX_MESSAGES: "2",
      TETHER_MAX_MESSAGE_BYTES: "400",
      TETHER_MAX_JSON_DEPTH: "8",
    });
  });
  afterAll(() => harness.dispose());

  const chat = (messages: unknown[]) =>
    harness.request("/api/chat", { json: { id: "limited", agentId: "assistant", messages } });

  it("refuses more messages than configured, naming the field", async () => {
    await expectInvalid(await chat([userMessage("a"), userMessage("b"), userMessage("c")]), /messages/);
    expect((await chat([userMessage("a"), userMessage("b")])).status).toBe(200);
  });

  it("refuses a message larger than configured", async () => {
    await expectInvalid(await chat([userMessage("x".repeat(500))]), /messages\.0/);
  });

  it("refuses JSON nested deeper than configured before parsing it", async () => {
    let nested: unknown = "deep";
    for (let level = 0; level < 12; level++) nested = { nested };
    const response = await harness.request("/api/agents", { json: { name: "deep", instructions: nested } });
    await expectInvalid(response, /^body$/, /nested 1[0-9] levels deep/);
  });

  it("left nothing behind for the rejected requests", async () => {
    expect((await harness.request("/api/conversations/limited")).status).toBe(200);
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
