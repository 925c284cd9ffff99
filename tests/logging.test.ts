import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";
import { createLogger } from "../src/logger";
import { StreamBufferRegistry } from "../src/streams";
import { createTether, type Tether } from "../src/tether";
import { createTestDatabase, type TestDatabase } from "./support/database";
import { eventually, userMessage } from "./support/tether";

const SECRET = "sk-planted-secret-value-123";
const API_KEY = "admin-key-planted-456";

describe("structured logs", () => {
  const lines: Array<Record<string, unknown>> = [];
  let raw = "";
  let database: TestDatabase;
  let tether: Tether;

  beforeAll(async () => {
    database = await createTestDatabase("pglite");
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        raw += String(chunk);
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        callback();
      },
    });
    const config = parseConfig({
      TETHER_MAX_EVENT_LOOP_UTILIZATION: "0",
      TETHER_DATA_DIR: "unused",
      TETHER_DEMO_TOKEN_DELAY_MS: "0",
      TETHER_CREDENTIAL_OPENAI: SECRET,
      TETHER_API_KEYS: API_KEY,
    });
    const logger = createLogger({ level: "debug", secrets: config.secrets, destination });
    tether = await createTether({ config, database: database.handle, logger, buffers: new StreamBufferRegistry() });
  });
  afterAll(async () => {
    await tether.shutdown();
    await database.dispose();
  });

  it("stamps the request id on the request line and on the run's start, status and end lines", async () => {
    const response = await tether.app.request("/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({ id: "logged", agentId: "assistant", messages: [userMessage("hello")] }),
    });
    await response.text();
    const requestId = response.headers.get("x-request-id");
    const executionId = response.headers.get("x-execution-id");
    expect(requestId).toBeTruthy();
    await eventually(async () => {
      const runLines = lines.filter((line) => line.executionId === executionId);
      expect(runLines.map((line) => line.msg)).toEqual(["run started", "run ended"]);
      for (const line of runLines) expect(line.requestId).toBe(requestId);
      expect(runLines.at(-1)).toMatchObject({ status: "completed" });
    });
    expect(lines.find((line) => line.msg === "request" && line.requestId === requestId)).toMatchObject({
      method: "POST",
      path: "/api/chat",
      status: 200,
    });
  });

  it("never writes the API key a request carried, whatever the request did", async () => {
    await tether.app.request("/api/agents", { headers: { authorization: `Bearer ${API_KEY}` } });
    await tether.app.request("/api/agents", { headers: { authorization: `Bearer ${API_KEY}x` } });
    await tether.app.request("/api/nope", { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(lines.length).toBeGreaterThan(3);
    expect(raw).not.toContain(API_KEY);
  });

  it("never writes a credential value or an authorization header", async () => {
    const logger = createLogger({ level: "info", secrets: [SECRET], destination: new Writable({
      write(chunk, _encoding, callback) {
        raw += String(chunk);
        callback();
      },
    }) });
    logger.info({ headers: { authorization: "Bearer abc.def" }, detail: `key=${SECRET}` }, `failed with ${SECRET}`);
    logger.error(new Error(`upstream said ${SECRET}`));
    expect(raw).not.toContain(SECRET);
    expect(raw).not.toContain("abc.def");
    expect(raw).toContain("[redacted]");
  });
});
