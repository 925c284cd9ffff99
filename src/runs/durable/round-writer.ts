import type { UIMessageChunk } from "ai";
import type { RoundEnvelope } from "./rounds";

/**
 * Writes UI chunks into a round's namespace, each tagged with the writing step and attempt. Every write
 * is awaited, so chunks land in order.
 */
export function createRoundWriter(writable: WritableStream<RoundEnvelope>, step: { stepId: string; attempt: number }) {
  const writer = writable.getWriter();
  let sequence = 0;
  return {
    write: (chunk: UIMessageChunk) =>
      writer.write({ step: step.stepId, attempt: step.attempt, sequence: sequence++, chunk }),
    /** Ends the round for every reader. */
    close: () => writer.close(),
    /** Leaves the round open for the next writer. */
    release: () => writer.releaseLock(),
  };
}
