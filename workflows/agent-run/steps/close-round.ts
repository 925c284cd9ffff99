import { getStepMetadata, getWorkflowMetadata } from "workflow";
import { createRoundWriter } from "../../../src/runs/durable/round-writer";
import type { RoundEnvelope } from "../../../src/runs/durable/rounds";
import type { TerminalReason } from "../../../src/streams/types";
import { createTerminalChunk } from "../../../src/streams/terminal-chunk";
import { UNBOUNDED_RETRIES } from "../../../src/runs/durable/retry-limits";

/**
 * Ends a round that its own step could not close (the step failed for good, or the run stops after tool
 * calls at its step limit: `finish` ends the message first), so no reader hangs.
 */
export async function closeRound(
  writable: WritableStream<RoundEnvelope>,
  round: number,
  reason: TerminalReason,
  options: { finish?: boolean } = {},
): Promise<void> {
  "use step";
  const writer = createRoundWriter(writable, getStepMetadata(), { workflowRunId: getWorkflowMetadata().workflowRunId, round });
  try {
    if (options.finish) await writer.write({ type: "finish" });
    await writer.write(createTerminalChunk(reason));
    await writer.close();
  } catch {
    // Already closed by the step that wrote it: nothing is left open.
  }
}
closeRound.maxRetries = UNBOUNDED_RETRIES;
