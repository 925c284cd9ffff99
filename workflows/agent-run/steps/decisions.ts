import { UNBOUNDED_RETRIES } from "../../../src/runs/durable/retry-limits";
import { withStepRetries } from "../../../src/runs/durable/step-retries";
import { stepServices } from "../../../src/runs/durable/step-services";

/** The tool calls among `toolCallIds` that have a recorded decision (approved, denied or expired). */
export async function readDecided(executionId: string, toolCallIds: string[]): Promise<string[]> {
  "use step";
  return withStepRetries(async () => {
    const approvals = await stepServices().repositories.approvals.listForExecution(executionId);
    return approvals
      .filter((approval) => toolCallIds.includes(approval.toolCallId) && approval.status !== "pending")
      .map((approval) => approval.toolCallId);
  });
}
readDecided.maxRetries = UNBOUNDED_RETRIES;

/** Records an `expired` denial for every approval still pending when the wait timed out. */
export async function expireUndecided(executionId: string, reason: string): Promise<string[]> {
  "use step";
  return withStepRetries(async () => {
    const expired = await stepServices().repositories.approvals.expirePending(executionId, reason);
    return expired.map((approval) => approval.toolCallId);
  });
}
expireUndecided.maxRetries = UNBOUNDED_RETRIES;
