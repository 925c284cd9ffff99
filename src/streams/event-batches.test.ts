import { describe, expect, it } from "vitest";
import { StreamBuffer } from "./buffer";
import { EventBatches } from "./event-batches";
import { textDelta } from "./test-support";
import type { StreamEvent } from "./types";

const options = { waitMs: 0, quietMs: 20, lingerMs: 1_000, maxEvents: 100 };
const deltas = (events: StreamEvent[]) => events.map((event) => (event.chunk as { delta?: string }).delta);

/** A source that cannot be polled: yields `count` events `gapMs` apart, then ends. */
async function* spaced(count: number, gapMs: number): AsyncGenerator<StreamEvent> {
  for (let index = 0; index < count; index++) {
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    yield { offset: `0.${index}`, chunk: textDelta(index) };
  }
}

describe("EventBatches", () => {
  it("answers exactly what a buffer holds now, then what arrives later, then its end", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    buffer.append(textDelta(0));
    buffer.append(textDelta(1));
    const batches = new EventBatches(buffer.read());
    const first = await batches.next(options);
    expect(deltas(first.events)).toEqual(["delta-0", "delta-1"]);
    expect(first).toMatchObject({ ended: false, caughtUp: true });
    expect((await batches.next(options)).events).toEqual([]);

    const waiting = batches.next({ ...options, waitMs: 5_000 });
    buffer.append(textDelta(2));
    buffer.finish("completed");
    const later = await waiting;
    expect(deltas(later.events)).toEqual(["delta-2", undefined]);
    expect(later).toMatchObject({ ended: true, caughtUp: true });
  });

  it("cuts a batch at maxEvents without calling it caught up", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    for (let index = 0; index < 5; index++) buffer.append(textDelta(index));
    const batches = new EventBatches(buffer.read());
    const first = await batches.next({ ...options, maxEvents: 3 });
    expect([first.events.length, first.caughtUp]).toEqual([3, false]);
    const second = await batches.next({ ...options, maxEvents: 3 });
    expect([deltas(second.events), second.caughtUp]).toEqual([["delta-3", "delta-4"], true]);
  });

  it("counts a quiet source as caught up, keeps the read in flight, and loses nothing between batches", async () => {
    const batches = new EventBatches(spaced(4, 60));
    const seen: StreamEvent[] = [];
    for (let round = 0; round < 20 && !batches.ended; round++) {
      const batch = await batches.next({ ...options, waitMs: 30 });
      // Events 60 ms apart never share a batch with a 20 ms quiet window.
      expect(batch.events.length).toBeLessThanOrEqual(1);
      seen.push(...batch.events);
    }
    expect(deltas(seen)).toEqual(["delta-0", "delta-1", "delta-2", "delta-3"]);
  });

  it("cuts a busy source's batch after lingerMs, not caught up", async () => {
    const batches = new EventBatches(spaced(50, 5));
    const batch = await batches.next({ ...options, lingerMs: 60 });
    expect(batch.events.length).toBeGreaterThan(1);
    expect(batch.events.length).toBeLessThan(50);
    expect(batch.caughtUp).toBe(false);
    batches.close();
  });
});
