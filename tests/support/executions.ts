import { expect } from "vitest";
import type { ExecutionBody } from "./assertions";
import { eventually } from "./tether";

/** Answers one execution as `GET /api/executions/:id` does (through whichever server a suite talks to). */
export type ReadExecution = (executionId: string) => Promise<ExecutionBody>;

/** An execution reader over a GET of a path (a TestTether's `request`, or a fetch against a server's URL). */
export function executionReader(get: (pathname: string) => Promise<Response>): ReadExecution {
  return async (executionId) => (await (await get(`/api/executions/${executionId}`)).json()) as ExecutionBody;
}

/**
 * Waits until an execution has `status` (runs and the workflow runtime move it in the background);
 * answers the execution then. Fails with the last status seen after `timeoutMs`.
 */
export function settled(
  read: ReadExecution,
  executionId: string,
  status: ExecutionBody["status"],
  timeoutMs = 20_000,
): Promise<ExecutionBody> {
  return eventually(async () => {
    const current = await read(executionId);
    expect(current.status).toBe(status);
    return current;
  }, timeoutMs);
}
