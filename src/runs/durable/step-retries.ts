import { AISDKError, RetryError } from "ai";
import { FatalError, getStepMetadata, getWorkflowMetadata, RetryableError } from "workflow";
import { getWorld } from "workflow/runtime";
import { DomainError } from "../../errors";
import type { RetryBudget } from "../agent-turn";
import { INFRASTRUCTURE_RETRIES } from "./retry-limits";
import { stepServices } from "./step-services";

const MAX_DELAY_MS = 30_000;

/** True for an error no retry can fix: a provider's 4xx, a missing key, a bad request. */
export function isPermanentError(error: unknown): boolean {
  if (RetryError.isInstance(error)) return isPermanentError(error.lastError);
  // Tether's own domain errors (a deleted agent, an illegal status move) do not change on a retry; its
  // refusals for load or readiness do.
  if (DomainError.is(error)) return error.code !== "unavailable" && error.code !== "overloaded";
  // Providers' errors say it themselves (the AI SDK's APICallError: 408, 409, 429 and 5xx are retryable).
  const retryable = (error as { isRetryable?: unknown } | null)?.isRetryable;
  if (typeof retryable === "boolean") return !retryable;
  // The AI SDK's other errors (no such model, invalid argument, missing API key) are about the request.
  return AISDKError.isInstance(error);
}

/** How many attempts of the running step ended by a thrown error (not by a process death). */
async function failedAttempts(): Promise<number> {
  const { stepId } = getStepMetadata();
  const { workflowRunId } = getWorkflowMetadata();
  let failed = 0;
  let cursor: string | undefined;
  do {
    const page = await getWorld().events.list({
      runId: workflowRunId,
      pagination: { limit: 1000, ...(cursor ? { cursor } : {}) },
      resolveData: "none",
    });
    failed += page.data.filter((event) => event.eventType === "step_retrying" && event.correlationId === stepId).length;
    cursor = page.hasMore && page.cursor ? page.cursor : undefined;
  } while (cursor);
  return failed;
}

/**
 * Turns a step's error into what the SDK should do with it: a permanent error, or one past its budget,
 * fails the step at once with its cause (`FatalError`); any other is retried after an exponential backoff
 * (`RetryableError`). `message` is what the run records; it must carry no secret.
 */
export async function retryOrFail(error: unknown, message: string, budget: RetryBudget): Promise<never> {
  if (FatalError.is(error)) throw error;
  if (isPermanentError(error)) throw new FatalError(message);
  const failed = await failedAttempts();
  if (failed >= budget.retries) {
    throw new FatalError(failed === 0 ? message : `${message} (failed ${failed + 1} times)`);
  }
  const delay = Math.min(budget.delayMs * 2 ** failed, MAX_DELAY_MS);
  throw new RetryableError(message, { retryAfter: delay });
}

/**
 * Runs a step's body; an error it throws (storage down, a bug) is retried on the infrastructure budget
 * unless it already says what to do (`FatalError`, `RetryableError`). Its message is redacted first.
 */
export async function withStepRetries<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (FatalError.is(error) || RetryableError.is(error)) throw error;
    const message = stepServices().redact(error instanceof Error ? error.message : String(error));
    return retryOrFail(error, message, INFRASTRUCTURE_RETRIES);
  }
}
