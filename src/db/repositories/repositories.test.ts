import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, databaseKinds, type TestDatabase } from "../../../tests/support/database";
import { ConflictError, NotFoundError } from "../../errors";
import { createRepositories, type Repositories } from "./index";
import { moveStatus } from "../../runs/execution-status";

describe.each(databaseKinds())("repositories on %s", (kind) => {
  let database: TestDatabase;
  let repositories: Repositories;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    repositories = createRepositories(database.handle.db);
    await repositories.agents.create({ id: "agent-1", name: "Agent" });
    await repositories.conversations.ensure({ id: "conv-1", ownerId: "u1", agentId: "agent-1", title: "t" });
  });
  afterAll(() => database.dispose());

  const newExecution = () =>
    repositories.executions.create({ mode: "classic", agentId: "agent-1", conversationId: "conv-1", ownerId: "u1" });

  it("agents: execution mode defaults to classic, duplicate ids conflict", async () => {
    const agent = await repositories.agents.get("agent-1");
    expect(agent.executionMode).toBe("classic");
    await expect(repositories.agents.create({ id: "agent-1", name: "again" })).rejects.toBeInstanceOf(ConflictError);
    await expect(repositories.agents.get("missing")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("a cached agent repository answers every write at once, including one racing a read", async () => {
    const cached = createRepositories(database.handle.db, { singleProcess: true }).agents;
    await cached.create({ id: "agent-cached", name: "Before" });
    expect((await cached.get("agent-cached")).name).toBe("Before");
    const racingRead = cached.find("agent-cached");
    await cached.update("agent-cached", { name: "After" });
    await racingRead;
    expect((await cached.get("agent-cached")).name).toBe("After");
    await cached.delete("agent-cached");
    await expect(cached.get("agent-cached")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("status updates merge metadata instead of replacing it", async () => {
    const execution = await newExecution();
    await moveStatus(repositories.executions, execution.id, { status: "suspended", metadata: { round: 1, a: "x" } });
    await moveStatus(repositories.executions, execution.id, { status: "running", metadata: { round: 2 } });
    const done = await moveStatus(repositories.executions, execution.id, { status: "completed", metadata: { b: true } });
    expect(done.metadata).toEqual({ round: 2, a: "x", b: true });
    expect(done.completedAt).toBeInstanceOf(Date);
  });

  it("refuses illegal transitions and lets only one racing writer finish a run", async () => {
    const execution = await newExecution();
    await moveStatus(repositories.executions, execution.id, { status: "completed" });
    await expect(
      moveStatus(repositories.executions, execution.id, { status: "running" }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      moveStatus(repositories.executions, execution.id, { status: "cancelled" }),
    ).rejects.toBeInstanceOf(ConflictError);
    // repeating the terminal status is an idempotent no-op
    await expect(moveStatus(repositories.executions, execution.id, { status: "completed" })).resolves.toBeDefined();

    const raced = await newExecution();
    const results = await Promise.allSettled([
      moveStatus(repositories.executions, raced.id, { status: "completed" }),
      moveStatus(repositories.executions, raced.id, { status: "cancelled" }),
    ]);
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
  });

  it("approval decisions: first wins, repeat is a no-op, conflicting is refused, unknown is not found", async () => {
    const execution = await newExecution();
    await repositories.approvals.request(execution.id, [{ toolCallId: "call-1", toolName: "send_email", input: {} }]);
    const first = await repositories.approvals.decide({
      executionId: execution.id, toolCallId: "call-1", approved: true, decidedBy: "u1",
    });
    expect(first).toMatchObject({ changed: true, approval: { status: "approved" } });
    const again = await repositories.approvals.decide({
      executionId: execution.id, toolCallId: "call-1", approved: true, decidedBy: "u2",
    });
    expect(again).toMatchObject({ changed: false, approval: { status: "approved", decidedBy: "u1" } });
    await expect(
      repositories.approvals.decide({ executionId: execution.id, toolCallId: "call-1", approved: false, decidedBy: "u1" }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      repositories.approvals.decide({ executionId: execution.id, toolCallId: "nope", approved: true, decidedBy: "u1" }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("outbox keeps one row per tool call id", async () => {
    const input = { toolCallId: "call-x", executionId: "ex", to: "a@b.c", subject: "s", body: "b" };
    const [first, second] = await Promise.all([
      repositories.outbox.sendOnce(input),
      repositories.outbox.sendOnce(input),
    ]);
    expect(first!.messageId).toBe(second!.messageId);
    const rows = (await repositories.outbox.list()).filter((row) => row.toolCallId === "call-x");
    expect(rows).toHaveLength(1);
  });

  it("messages keep their order and an upsert replaces parts", async () => {
    await repositories.messages.upsert("conv-1", { id: "m1", role: "user", parts: [{ type: "text", text: "hi" }] });
    await repositories.messages.upsert("conv-1", { id: "m2", role: "assistant", parts: [{ type: "text", text: "a" }] });
    await repositories.messages.upsert("conv-1", { id: "m2", role: "assistant", parts: [{ type: "text", text: "ab" }] });
    const stored = await repositories.messages.list("conv-1");
    expect(stored.map((message) => message.id)).toEqual(["m1", "m2"]);
    expect(stored[1]!.parts).toEqual([{ type: "text", text: "ab" }]);
    await repositories.messages.truncateFrom("conv-1", "m2");
    expect((await repositories.messages.list("conv-1")).map((message) => message.id)).toEqual(["m1"]);
  });

  it("truncation removes only what follows the named message, and nothing when it is absent", async () => {
    await repositories.conversations.ensure({ id: "conv-trunc", ownerId: "u1", agentId: "agent-1", title: "t" });
    for (const id of ["a", "b", "c", "d"]) {
      await repositories.messages.upsert("conv-trunc", { id, role: "user", parts: [{ type: "text", text: id }] });
    }
    await repositories.messages.truncateAfter("conv-trunc", "missing");
    expect((await repositories.messages.list("conv-trunc")).map((message) => message.id)).toEqual(["a", "b", "c", "d"]);
    await repositories.messages.truncateAfter("conv-trunc", "c");
    expect((await repositories.messages.list("conv-trunc")).map((message) => message.id)).toEqual(["a", "b", "c"]);
    await repositories.messages.truncateFrom("conv-trunc", "b");
    expect((await repositories.messages.list("conv-trunc")).map((message) => message.id)).toEqual(["a"]);
    // Another conversation's messages with the same ids are untouched.
    expect((await repositories.messages.list("conv-1")).map((message) => message.id)).toEqual(["m1"]);
  });

  it("opening a conversation creates it, touches the owner's own, and refuses another owner's or agent's", async () => {
    const input = { id: "conv-open", ownerId: "u1", agentId: "agent-1", title: "first" };
    const created = await repositories.conversations.open(input);
    expect(created?.created).toBe(true);
    expect(created?.conversation).toMatchObject({ id: "conv-open", ownerId: "u1", agentId: "agent-1", title: "first" });
    const again = await repositories.conversations.open({ ...input, title: "second" });
    expect(again?.created).toBe(false);
    // The title stays the first one; only the time moves.
    expect(again?.conversation.title).toBe("first");
    expect(again!.conversation.updatedAt.getTime()).toBeGreaterThanOrEqual(created!.conversation.updatedAt.getTime());
    await repositories.agents.create({ id: "agent-2", name: "Other" });
    expect(await repositories.conversations.open({ ...input, ownerId: "u2" })).toBeUndefined();
    expect(await repositories.conversations.open({ ...input, agentId: "agent-2" })).toBeUndefined();
    expect((await repositories.conversations.find("conv-open"))?.ownerId).toBe("u1");
  });

  it("lists executions newest first with a cursor", async () => {
    const listed = await repositories.executions.list({ conversationId: "conv-1", limit: 2 });
    expect(listed.executions).toHaveLength(2);
    expect(listed.nextCursor).toBeTypeOf("string");
    const next = await repositories.executions.list({ conversationId: "conv-1", limit: 100, cursor: listed.nextCursor! });
    const ids = [...listed.executions, ...next.executions].map((row) => row.id);
    expect(new Set(ids).size).toBe(ids.length);
    const all = await repositories.executions.list({ conversationId: "conv-1", limit: 100 });
    expect(ids).toEqual(all.executions.map((row) => row.id));
  });
});
