import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseKinds } from "./support/database";
import { startTestTether, textOf, chunksOf, parseSse, userMessage, type TestTether } from "./support/tether";

/** More than the Postgres world's own default of 10 deliveries at once. */
const TURNS = 14;

describe.each(databaseKinds())("concurrent durable turns on %s", (kind) => {
  let harness: TestTether;
  let baseUrl: string;

  beforeAll(async () => {
    harness = await startTestTether(kind, {}, { workflows: true });
    baseUrl = await harness.listen();
    await harness.request("/api/agents", { json: { id: "paced", name: "Paced", model: "demo:40", executionMode: "durable" } });
  });
  afterAll(() => harness.dispose());

  it(`streams ${TURNS} turns at once: each one's model round starts before any of them ends`, async () => {
    const firstTextAt: number[] = [];
    const endedAt: number[] = [];
    const turns = Array.from({ length: TURNS }, async (_, index) => {
      const response = await fetch(`${baseUrl}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: `concurrent-${index}`, agentId: "paced", messages: [userMessage("count to 60")] }),
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        if (firstTextAt[index] === undefined && text.includes('"text-delta"')) firstTextAt[index] = Date.now();
      }
      endedAt[index] = Date.now();
      return textOf(chunksOf(parseSse(text)));
    });
    const texts = await Promise.all(turns);
    const expected = Array.from({ length: 60 }, (_, index) => String(index + 1)).join(" ");
    expect(texts).toEqual(Array.from({ length: TURNS }, () => expected));
    // A turn held back by a delivery limit starts only once another turn has ended (each takes ~2.4 s).
    expect(Math.max(...firstTextAt)).toBeLessThan(Math.min(...endedAt));
  }, 60_000);
});
