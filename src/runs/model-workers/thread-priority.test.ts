import { readFileSync, readlinkSync } from "node:fs";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { lowerThreadPriority } from "./thread-priority";

/** A thread's niceness as the kernel reports it (the 19th field of its stat line). */
function nicenessOf(path: string): number {
  const stat = readFileSync(`${path}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

describe.runIf(process.platform === "linux")("a thread's priority", () => {
  it("is lowered for the calling thread alone, not for the rest of the process", () => {
    const threadId = Number(readlinkSync("/proc/thread-self").split("/").pop());
    const firstThread = `/proc/self/task/${process.pid}`;
    const before = nicenessOf("/proc/thread-self");
    try {
      expect(lowerThreadPriority(before + 2)).toBe(true);
      expect(nicenessOf("/proc/thread-self")).toBe(before + 2);
      // The process's first thread is another thread whenever this test runs in a worker thread.
      if (threadId !== process.pid) expect(nicenessOf(firstThread)).toBe(before);
    } finally {
      // Back to where it was (allowed for root, which CI is; elsewhere the thread just stays a little nicer).
      try {
        os.setPriority(threadId, before);
      } catch {
        // not allowed: harmless
      }
    }
  });
});
