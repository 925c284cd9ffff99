import type { ExecutionStatus } from "../../../drizzle/schema";
import { UNBOUNDED_RETRIES } from "../../../src/runs/durable/retry-limits";
import { withStepRetries } from "../../../src/runs/durable/step-retries";
import { stepServices } from "../../../src/runs/durable/step-services";
import { tryMoveStatus } from "../../../src/runs/execution-status";

export interface StatusChange {
  status: ExecutionStatus;
  metadata?: Record<string, unknown>;
  error?: string;
  workflowRunId?: string;
}

/**
 * Persists a status change of the run's execution row, merging metadata; a stored error is redacted
 * (the workflow's own catch hands over whatever message it caught). Answers the status stored
 * afterwards: when someone else already ended the execution (a cancel), that terminal status, so the
 * workflow stops instead of fighting it.
 */
export async function recordStatus(executionId: string, change: StatusChange): Promise<ExecutionStatus> {
  "use step";
  return withStepRetries(async () => {
    const { repositories, logger, redact } = stepServices();
    const stored = change.error === undefined ? change : { ...change, error: redact(change.error) };
    const updated = await tryMoveStatus(repositories.executions, executionId, stored);
    if (updated) {
      logger.info({ executionId, mode: "durable", status: change.status }, "run status");
      return updated.status;
    }
    return (await repositories.executions.get(executionId)).status;
  });
}
recordStatus.maxRetries = UNBOUNDED_RETRIES;
