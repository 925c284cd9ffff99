import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "./support/database";
import { startTestTether, type TestTether } from "./support/tether";
import { ISO, expectError, expectInvalid } from "./support/assertions";

describe.each(databaseKinds())("agent routes on %s", (kind) => {
  let t: TestTether;

  beforeAll(async () => {
    t = await startTestTether(kind);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("GET /api/agents lists the seeded assistant", async () => {
    const response = await t.request("/api/agents");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { agents: Array<Record<string, unknown>> };
    const assistant = body.agents.find((agent) => agent.id === "assistant");
    expect(assistant).toEqual({
      id: "assistant",
      name: expect.any(String),
      instructions: expect.any(String),
      model: "demo",
      tools: ["get_time", "send_email"],
      executionMode: "classic",
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
  });

  it("POST /api/agents creates an agent (201) with the defaults, and lists it", async () => {
    const response = await t.request("/api/agents", { json: { id: "helper", name: "Helper" } });
    expect(response.status).toBe(201);
    const agent = await response.json();
    expect(agent).toEqual({
      id: "helper",
      name: "Helper",
      instructions: expect.any(String),
      model: "demo",
      tools: [],
      executionMode: "classic",
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    const list = (await (await t.request("/api/agents")).json()) as { agents: Array<{ id: string }> };
    expect(list.agents.map((a) => a.id)).toEqual(expect.arrayContaining(["assistant", "helper"]));
  });

  it("POST /api/agents keeps every given field and makes an id when none is given", async () => {
    const response = await t.request("/api/agents", {
      json: {
        name: "Full",
        instructions: "Be brief.",
        model: "demo:5",
        tools: ["get_time"],
        executionMode: "durable",
      },
    });
    expect(response.status).toBe(201);
    const agent = (await response.json()) as Record<string, unknown>;
    expect(agent).toMatchObject({
      name: "Full",
      instructions: "Be brief.",
      model: "demo:5",
      tools: ["get_time"],
      executionMode: "durable",
    });
    expect(agent.id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/);
    expect((await t.request(`/api/agents/${agent.id}`)).status).toBe(200);
  });

  it("POST /api/agents answers 409 when the id is taken", async () => {
    await expectError(
      await t.request("/api/agents", { json: { id: "assistant", name: "Another" } }),
      409,
      "conflict",
      /assistant/,
    );
  });

  it.each([
    ["missing name", { id: "no-name" }, /name/],
    ["empty name", { name: "   " }, /name/],
    ["unknown tool", { name: "X", tools: ["launch_rockets"] }, /tools/],
    ["unknown model", { name: "X", model: "gpt-nonsense" }, /model/],
    ["bad executionMode", { name: "X", executionMode: "turbo" }, /executionMode/],
    ["bad id format", { id: "bad id!", name: "X" }, /\bid\b/],
    ["tools not an array", { name: "X", tools: "get_time" }, /tools/],
  ])("POST /api/agents answers 400 for %s", async (_label, json, field) => {
    await expectInvalid(await t.request("/api/agents", { json }), field);
  });

  it("POST /api/agents answers 400 for an extra field, naming it", async () => {
    await expectError(
      await t.request("/api/agents", { json: { name: "X", colour: "blue" } }),
      400,
      "invalid_input",
      /colour/,
    );
  });

  it("POST /api/agents answers 400 for a malformed JSON body", async () => {
    const error = await expectError(
      await t.request("/api/agents", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"name": "broken",',
      }),
      400,
      "invalid_input",
    );
    expect(error.message).toMatch(/json/i);
  });

  it("POST /api/agents answers 415 for a body that is not JSON (wrong content-type)", async () => {
    await expectError(
      await t.request("/api/agents", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ id: "plain-text", name: "Plain" }),
      }),
      415,
      "unsupported_media_type",
      /content-type|media type|json/i,
    );
    expect((await t.request("/api/agents/plain-text")).status).toBe(404);
  });

  it("GET /api/agents/:agentId answers 200 with the agent, 404 for an unknown one", async () => {
    const found = await t.request("/api/agents/assistant");
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ id: "assistant", model: "demo", executionMode: "classic" });

    await expectError(await t.request("/api/agents/nobody"), 404, "not_found", /nobody/);
  });

  it("PATCH /api/agents/:agentId updates (200) and the change persists; executionMode toggles", async () => {
    await t.request("/api/agents", { json: { id: "patchy", name: "Patchy" } });

    const toDurable = await t.request("/api/agents/patchy", { method: "PATCH", json: { executionMode: "durable" } });
    expect(toDurable.status).toBe(200);
    expect(await toDurable.json()).toMatchObject({ id: "patchy", name: "Patchy", executionMode: "durable" });
    expect(await (await t.request("/api/agents/patchy")).json()).toMatchObject({ executionMode: "durable" });

    const back = await t.request("/api/agents/patchy", {
      method: "PATCH",
      json: { executionMode: "classic", name: "Renamed", tools: ["send_email"], model: "demo:1" },
    });
    expect(back.status).toBe(200);
    const persisted = await (await t.request("/api/agents/patchy")).json();
    expect(persisted).toMatchObject({
      id: "patchy",
      name: "Renamed",
      executionMode: "classic",
      tools: ["send_email"],
      model: "demo:1",
    });
  });

  it("PATCH /api/agents/:agentId answers 404 for an unknown agent", async () => {
    await expectError(
      await t.request("/api/agents/ghost", { method: "PATCH", json: { name: "Ghost" } }),
      404,
      "not_found",
      /ghost/,
    );
  });

  it.each([
    ["bad executionMode", { executionMode: "turbo" }, /executionMode/],
    ["unknown model", { model: "nonsense" }, /model/],
    ["unknown tool", { tools: ["nope"] }, /tools/],
    ["empty name", { name: "" }, /name/],
  ])("PATCH /api/agents/:agentId answers 400 for %s and changes nothing", async (_label, json, field) => {
    await expectInvalid(await t.request("/api/agents/assistant", { method: "PATCH", json }), field);
    expect(await (await t.request("/api/agents/assistant")).json()).toMatchObject({
      model: "demo",
      executionMode: "classic",
      tools: ["get_time", "send_email"],
    });
  });

  it("PATCH /api/agents/:agentId answers 400 for an extra field (the id cannot change)", async () => {
    await expectError(
      await t.request("/api/agents/assistant", { method: "PATCH", json: { id: "renamed" } }),
      400,
      "invalid_input",
      /\bid\b/,
    );
    expect((await t.request("/api/agents/renamed")).status).toBe(404);
  });

  it("DELETE /api/agents/:agentId answers 204, then the agent is gone (404)", async () => {
    await t.request("/api/agents", { json: { id: "doomed", name: "Doomed" } });
    const deleted = await t.request("/api/agents/doomed", { method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    await expectError(await t.request("/api/agents/doomed"), 404, "not_found", /doomed/);
    const list = (await (await t.request("/api/agents")).json()) as { agents: Array<{ id: string }> };
    expect(list.agents.map((a) => a.id)).not.toContain("doomed");
  });

  it("DELETE /api/agents/:agentId answers 404 for an unknown agent", async () => {
    await expectError(await t.request("/api/agents/never-was", { method: "DELETE" }), 404, "not_found", /never-was/);
  });
});
