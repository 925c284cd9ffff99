import { isStepBookkeepingKey } from "./durable/rounds";

/** The metadata key naming the process that runs a classic run (see interrupted-runs.ts). */
export const PROCESS_KEY = "process";

/**
 * An execution's metadata as the API shows it: without the bookkeeping of durable steps (their attempts
 * and recorded results; the step timeline shows attempts) and of the process running a classic run.
 */
export function publicMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metadata).filter(([key]) => key !== PROCESS_KEY && !isStepBookkeepingKey(key)));
}
