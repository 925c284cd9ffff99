import type { UIMessageChunk } from "ai";
import { terminalReasonOf } from "./terminal-chunk";
import type { StreamEvent, TerminalReason } from "./types";

/** Test helper: a distinguishable text-delta chunk. */
export function textDelta(sequence: number, padding = ""): UIMessageChunk {
  return { type: "text-delta", id: "text-1", delta: `delta-${sequence}${padding}` };
}

/** Test helper: reads `events` to the end. */
export async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const received: StreamEvent[] = [];
  for await (const event of events) received.push(event);
  return received;
}

/** Test helper: the terminal reason of `event`, if it is a terminal event. */
export function reasonOf(event: StreamEvent | undefined): TerminalReason | undefined {
  return event === undefined ? undefined : terminalReasonOf(event.chunk);
}

/** Test helper: lets every pending promise chain and I/O callback run (real timers only). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
