import { readlinkSync } from "node:fs";
import os from "node:os";

/**
 * Gives the calling thread a niceness (Linux: priority is per thread, and `setpriority` takes a thread id).
 * Elsewhere, or where it is not allowed, the thread keeps its priority: this is a preference, not a need.
 */
export function lowerThreadPriority(niceness: number): boolean {
  try {
    // "<pid>/task/<tid>"
    const threadId = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(threadId) || threadId <= 0) return false;
    os.setPriority(threadId, niceness);
    return true;
  } catch {
    return false;
  }
}
