import type { ExecutionStatus } from "../../../drizzle/schema";
import { UNBOUNDED_RETRIES } from "../../../src/runs/durable/retry-limits";
import { withStepRetries } from "../../../src/runs/durable/step-retries";
import { stepServices } from "../../../src/runs/durable/step-services";

export interface StatusChange {
  status: ExecutionStatus;
  metadata?: Record<string, unknown>;
  error?: string;
  workflowRunId?: string;
}

/**
 * Persists a status change of the run's execution row, merging metadata. Answers the status stored
 * afterwards: when someone else already ended the execution (a cancel), that terminal status, so the
 * workflow stops instead of fighting it.
 */
export async function recordStatus(executionId: string, change: StatusChange): Promise<ExecutionStatus> {
  "use step";
  return withStepRetries(async () => {
    const { repositories, logger } = stepServices();
    const updated = await repositories.executions.tryUpdateStatus(executionId, change);
    if (updated) {
      logger.info({ executionId, mode: "durable", status: change.status }, "run status");
      return updated.status;
    }
    return (await repositories.executions.get(executionId)).status;
  });
}
recordStatus.maxRetries = UNBOUNDED_RETRIES;
