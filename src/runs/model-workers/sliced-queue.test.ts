import { describe, expect, it } from "vitest";
import { createSlicedQueue } from "./sliced-queue";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("a sliced queue", () => {
  it("runs items in order, a slice per turn of the event loop, with the loop going round between slices", async () => {
    const queue = createSlicedQueue(4);
    const ran: string[] = [];
    const busyFor = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    for (let index = 0; index < 10; index += 1) {
      queue.push(() => {
        busyFor(1);
        ran.push(`item ${index}`);
      });
    }
    expect(ran).toEqual([]);
    // Something else the loop has to do (a connection to accept, say) gets in between the slices.
    setTimeout(() => ran.push("timer"), 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ran.filter((entry) => entry !== "timer")).toEqual(Array.from({ length: 10 }, (_, index) => `item ${index}`));
    const timerAt = ran.indexOf("timer");
    expect(timerAt).toBeGreaterThan(0);
    expect(timerAt).toBeLessThan(ran.length - 1);
  });

  it("runs a lone item in the same turn of the loop", async () => {
    const queue = createSlicedQueue(4);
    const ran: number[] = [];
    queue.push(() => ran.push(1));
    await nextTurn();
    expect(ran).toEqual([1]);
  });
});
