import { afterEach, describe, expect, it } from "vitest";
import { setWorld } from "workflow/runtime";
import { createRoundWriter } from "./round-writer";

afterEach(() => setWorld(undefined));

describe("round writer", () => {
  it("fails its flush with the world's error when a burst cannot be written, with chunks still queued", async () => {
    // The world cannot be asked how long the round is (as right after a crash of its storage).
    setWorld({ getStreamInfo: () => Promise.reject(new Error("world unavailable")) } as never);
    const writes: unknown[] = [];
    const writable = new WritableStream({ write: (envelope) => void writes.push(envelope) });
    const writer = createRoundWriter(writable, { stepId: "step_1", attempt: 1 }, { workflowRunId: "wrun_1", round: 0 });
    await writer.write({ type: "text-delta", id: "t", delta: "1" });
    await writer.write({ type: "text-delta", id: "t", delta: "2" });
    await expect(writer.flush()).rejects.toThrow("world unavailable");
    await expect(writer.close()).rejects.toThrow("world unavailable");
    expect(writes).toEqual([]);
  });
});
