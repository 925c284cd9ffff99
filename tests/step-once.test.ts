import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCredentialStore } from "../src/agents/credentials";
import { openPostgres, type DatabaseHandle } from "../src/db/client";
import { createRepositories, type Repositories } from "../src/db/repositories";
import { createLogger } from "../src/logger";
import { stepResultKey } from "../src/runs/durable/rounds";
import { runOnce } from "../src/runs/durable/run-once";
import { provideStepServices } from "../src/runs/durable/step-services";
import { createTestDatabase, databaseKinds, type TestDatabase } from "./support/database";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(databaseKinds())("named locks on %s", (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database.dispose();
  });

  it("lets one holder at a time take a name, and the name again once it is released", async () => {
    const { locks } = database.handle;
    const release = await locks.tryAcquire("step:a");
    expect(release).toBeTypeOf("function");
    expect(await locks.tryAcquire("step:a")).toBeUndefined();
    const other = await locks.tryAcquire("step:b");
    expect(other).toBeTypeOf("function");
    await release!();
    await release!(); // a second release is a no-op, not someone else's lock
    const again = await locks.tryAcquire("step:a");
    expect(again).toBeTypeOf("function");
    await again!();
    await other!();
  });
});

// Two processes exist only on PostgreSQL: an embedded database belongs to one process.
describe.each(databaseKinds().filter((kind) => kind === "postgres"))("named locks across processes on %s", (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database.dispose();
  });

  it("excludes another process, and frees the name when the holder's process goes", async () => {
    // A second connection pool stands for a second server process on the same database.
    const otherProcess: DatabaseHandle = await openPostgres(database.url!, { maxConnections: 2 });
    try {
      const release = await database.handle.locks.tryAcquire("step:shared");
      expect(release).toBeTypeOf("function");
      expect(await otherProcess.locks.tryAcquire("step:shared")).toBeUndefined();
      await release!();
      const taken = await otherProcess.locks.tryAcquire("step:shared");
      expect(taken).toBeTypeOf("function");
      expect(await database.handle.locks.tryAcquire("step:shared")).toBeUndefined();
      // The holder ends without releasing anything (as a killed process would): the server frees the lock.
      await otherProcess.close();
      const afterExit = await database.handle.locks.tryAcquire("step:shared");
      expect(afterExit).toBeTypeOf("function");
      await afterExit!();
    } finally {
      await otherProcess.close().catch(() => undefined);
    }
  });
});

describe.each(databaseKinds())("runOnce on %s", (kind) => {
  let database: TestDatabase;
  let repositories: Repositories;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    repositories = createRepositories(database.handle.db);
    provideStepServices({
      repositories,
      transaction: (work) => database.handle.db.transaction((tx) => work(createRepositories(tx))),
      locks: database.handle.locks,
      models: { demoTokenDelayMs: 0, openai: {}, credentials: createCredentialStore(new Map()) },
      maxSteps: 5,
      modelRetries: { retries: 2, delayMs: 10 },
      logger: createLogger({ level: "silent" }),
      now: () => new Date(),
      redact: (text) => text,
      toolServers: { credentials: createCredentialStore(new Map()), timeoutMs: 5_000, redact: (text) => text },
    });
    await repositories.conversations.ensure({ id: "c-once", ownerId: "local", agentId: "assistant", title: "once" });
  });
  afterAll(async () => {
    provideStepServices(undefined);
    await database.dispose();
  });

  async function newExecution(): Promise<string> {
    const execution = await repositories.executions.create({
      mode: "durable",
      agentId: "assistant",
      conversationId: "c-once",
      ownerId: "local",
    });
    return execution.id;
  }

  it("runs a step delivered twice at once a single time, and answers both deliveries with its result", async () => {
    const id = await newExecution();
    let runs = 0;
    let running = 0;
    let overlapped = false;
    const body = async () => {
      runs += 1;
      running += 1;
      overlapped ||= running > 1;
      await sleep(150);
      running -= 1;
      return { result: { outcome: "completed", toolCallIds: [] as string[] } };
    };
    const results = await Promise.all([runOnce(id, "step_1", body), runOnce(id, "step_1", body)]);
    expect(runs).toBe(1);
    expect(overlapped).toBe(false);
    expect(results[0]).toEqual({ outcome: "completed", toolCallIds: [] });
    expect(results[1]).toEqual(results[0]);
    const stored = await repositories.executions.get(id);
    expect(stored.metadata[stepResultKey("step_1")]).toEqual(results[0]);
  });

  it("answers a later delivery from the record without running the body", async () => {
    const id = await newExecution();
    await runOnce(id, "step_2", async () => ({ result: { status: "running" } }));
    let ranAgain = false;
    const later = await runOnce(id, "step_2", async () => {
      ranAgain = true;
      return { result: { status: "cancelled" } };
    });
    expect(ranAgain).toBe(false);
    expect(later).toEqual({ status: "running" });
  });

  it("records nothing when the body throws, so the retry runs it again", async () => {
    const id = await newExecution();
    await expect(
      runOnce(id, "step_3", async () => {
        throw new Error("model unreachable");
      }),
    ).rejects.toThrow("model unreachable");
    expect((await repositories.executions.get(id)).metadata[stepResultKey("step_3")]).toBeUndefined();
    const retried = await runOnce(id, "step_3", async () => ({ result: { status: "running" } }));
    expect(retried).toEqual({ status: "running" });
  });

  it("commits what the body persists together with its result, or neither", async () => {
    const id = await newExecution();
    const { conversationId } = await repositories.executions.get(id);
    const message = { id: "m-commit", role: "assistant" as const, parts: [{ type: "text" as const, text: "round output" }] };
    await expect(
      runOnce(id, "step_4", async () => ({
        result: { status: "running" },
        commit: async (inTransaction) => {
          await inTransaction.messages.upsert(conversationId, message);
          throw new Error("crash between the writes");
        },
      })),
    ).rejects.toThrow("crash between the writes");
    // Neither the message nor the result landed: a retry reads the round's input as it was.
    expect((await repositories.messages.list(conversationId)).map((stored) => stored.id)).not.toContain("m-commit");
    expect((await repositories.executions.get(id)).metadata[stepResultKey("step_4")]).toBeUndefined();
    await runOnce(id, "step_4", async () => ({
      result: { status: "running" },
      commit: (inTransaction) => inTransaction.messages.upsert(conversationId, message),
    }));
    expect((await repositories.messages.list(conversationId)).map((stored) => stored.id)).toContain("m-commit");
    expect((await repositories.executions.get(id)).metadata[stepResultKey("step_4")]).toEqual({ status: "running" });
  });

  it("keeps steps and executions apart: different steps run at the same time", async () => {
    const first = await newExecution();
    const second = await newExecution();
    let running = 0;
    let mostAtOnce = 0;
    const body = async () => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await sleep(100);
      running -= 1;
      return { result: "done" };
    };
    await Promise.all([runOnce(first, "step_x", body), runOnce(first, "step_y", body), runOnce(second, "step_x", body)]);
    expect(mostAtOnce).toBe(3);
  });
});
