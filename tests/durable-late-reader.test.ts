import { getWorld } from "workflow/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "./support/database";
import { executionReader, settled } from "./support/executions";
import { chunksOf, countText, readSse, startTestTether, textOf, userMessage, type TestTether } from "./support/tether";

/**
 * A durable run records its end right after its round's stream is closed. A reader whose world stream
 * arrives late (a loaded server) must still get the rest of the round, not an end made up from the
 * status because nothing arrived for a while.
 */
describe.each(databaseKinds())("a late durable round stream on %s", (kind) => {
  let harness: TestTether;

  beforeAll(async () => {
    harness = await startTestTether(kind, {}, { workflows: true });
    await harness.request("/api/agents", { json: { id: "durable", name: "durable", model: "demo", executionMode: "durable" } });
  });
  afterAll(() => harness.dispose());

  it("resumes a finished turn from an offset when the world's stream takes seconds to arrive", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "late-reader", agentId: "durable", messages: [userMessage("count to 40")] },
    });
    const executionId = response.headers.get("x-execution-id")!;
    const events = await readSse(response);
    await settled(executionReader((pathname) => harness.request(pathname)), executionId, "completed");
    const world = getWorld();
    const readFromStream = world.readFromStream.bind(world);
    // Every read of a stream opens 2.5 s late: longer than the reader's quiet polls after a run's end.
    world.readFromStream = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      return readFromStream(...args);
    };
    try {
      const cut = 10;
      const rest = await readSse(
        await harness.request("/api/chat/late-reader/stream", { headers: { "last-event-id": events[cut]!.id! } }),
      );
      expect(rest.at(-1)!.data).toBe("[DONE]");
      expect(chunksOf(rest)).toEqual(chunksOf(events).slice(cut + 1));
      expect(textOf([...chunksOf(events.slice(0, cut + 1)), ...chunksOf(rest)])).toBe(countText(40));
    } finally {
      world.readFromStream = readFromStream;
    }
  }, 30_000);
});
