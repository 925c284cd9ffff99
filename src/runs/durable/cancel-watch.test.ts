import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../tests/support/database";
import { createRepositories, type Repositories } from "../../db/repositories";
import { recordCancel, type CancelReason } from "../execution-status";
import { createCancelWatch } from "./cancel-watch";

const TICK_MS = 20;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the cancel watch shared by a process's running steps", () => {
  let database: TestDatabase;
  let repositories: Repositories;
  /** Every listCancelled call, with the ids it asked about. */
  let queries: string[][];

  beforeAll(async () => {
    database = await createTestDatabase("pglite");
    repositories = createRepositories(database.handle.db);
    await repositories.agents.create({ id: "agent-1", name: "Agent" });
    await repositories.conversations.ensure({ id: "conv-1", ownerId: "u1", agentId: "agent-1", title: "t" });
  });
  afterAll(() => database.dispose());

  const newExecution = () =>
    repositories.executions.create({ mode: "durable", agentId: "agent-1", conversationId: "conv-1", ownerId: "u1" });
  const counted = () => {
    queries = [];
    return {
      listCancelled: (ids: readonly string[]) => {
        queries.push([...ids]);
        return repositories.executions.listCancelled(ids);
      },
    };
  };

  it("asks once per tick for every watched execution and tells each watcher of its cancel once, with the reason", async () => {
    const executions = counted();
    const watch = createCancelWatch(() => executions, TICK_MS);
    const [first, second] = [await newExecution(), await newExecution()];
    const heard: Array<[string, CancelReason]> = [];
    const stops = [
      watch(first.id, (reason) => heard.push(["first/a", reason])),
      watch(first.id, (reason) => heard.push(["first/b", reason])),
      watch(second.id, (reason) => heard.push(["second", reason])),
    ];
    await expect.poll(() => queries.length).toBeGreaterThan(0);
    for (const ids of queries) expect(ids.sort()).toEqual([first.id, second.id].sort());
    expect(heard).toEqual([]);

    await recordCancel(repositories.executions, first, "superseded");
    await expect.poll(() => heard.length).toBe(2);
    expect(heard.sort()).toEqual([["first/a", "superseded"], ["first/b", "superseded"]]);
    await pause(TICK_MS * 3);
    // Told once: the cancelled execution is no longer asked about, the other one still is.
    expect(heard).toHaveLength(2);
    expect(queries.at(-1)).toEqual([second.id]);
    for (const stop of stops) stop();
  });

  it("stops asking once every watcher has stopped, and starts again for a new one", async () => {
    const executions = counted();
    const watch = createCancelWatch(() => executions, TICK_MS);
    const execution = await newExecution();
    const heard: CancelReason[] = [];
    const stop = watch(execution.id, (reason) => heard.push(reason));
    await expect.poll(() => queries.length).toBeGreaterThan(0);
    stop();
    await pause(TICK_MS * 2);
    const asked = queries.length;
    await pause(TICK_MS * 4);
    expect(queries.length).toBe(asked);

    await recordCancel(repositories.executions, execution, "cancelled");
    await pause(TICK_MS * 3);
    expect(heard).toEqual([]);
    const again: CancelReason[] = [];
    const stopAgain = watch(execution.id, (reason) => again.push(reason));
    await expect.poll(() => again).toEqual(["cancelled"]);
    stopAgain();
  });
});
