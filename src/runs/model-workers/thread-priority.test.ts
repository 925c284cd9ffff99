import { readFileSync, readlinkSync } from "node:fs";
import os from "node:os";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { lowerThreadPriority } from "./thread-priority";

/** A thread's niceness as the kernel reports it (the 19th field of its stat line). */
function nicenessOf(threadId: number): number {
  const stat = readFileSync(`/proc/self/task/${threadId}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

const ownThreadId = () => Number(readlinkSync("/proc/thread-self").split("/").pop());

describe.runIf(process.platform === "linux")("a thread's priority", () => {
  it("is lowered for the calling thread alone, not for another thread of the process", async () => {
    // Another thread of this process, idle until told to stop; it reports its thread id.
    const other = new Worker(
      `const { parentPort } = require("node:worker_threads");
       const { readlinkSync } = require("node:fs");
       parentPort.postMessage(Number(readlinkSync("/proc/thread-self").split("/").pop()));
       parentPort.once("message", () => process.exit(0));`,
      { eval: true },
    );
    const otherThreadId = await new Promise<number>((resolve) => other.once("message", resolve));
    const threadId = ownThreadId();
    const before = nicenessOf(threadId);
    const otherBefore = nicenessOf(otherThreadId);
    try {
      expect(lowerThreadPriority(before + 2)).toBe(true);
      expect(nicenessOf(threadId)).toBe(before + 2);
      expect(nicenessOf(otherThreadId)).toBe(otherBefore);
    } finally {
      // Back to where it was (allowed for root, which CI is; elsewhere the thread just stays a little nicer).
      try {
        os.setPriority(threadId, before);
      } catch {
        // not allowed: harmless
      }
      other.postMessage("stop");
      await new Promise((resolve) => other.once("exit", resolve));
    }
  });
});
