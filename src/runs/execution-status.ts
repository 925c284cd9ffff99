import type { ExecutionRow, ExecutionStatus } from "../../drizzle/schema";
import type { ExecutionRepository, StatusChange } from "../db/repositories/executions";
import { ConflictError } from "../errors";

/** Why an active execution is cancelled: a person stopped it, or a new turn of its conversation replaced it. */
export type CancelReason = "cancelled" | "superseded";

/**
 * The life of an execution: running → suspended → running → … → completed | failed | cancelled. The
 * repository applies a move in one statement from the statuses this module allows, so two racing
 * writers cannot both win.
 */
export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ["completed", "failed", "cancelled"];
/** Statuses of a run that is not over: it streams, or waits for a person. */
export const ACTIVE_STATUSES: readonly ExecutionStatus[] = ["running", "suspended"];

/** Which statuses may move to each status. Repeating a status is allowed: a retried step may record it twice. */
const ALLOWED_FROM: Record<ExecutionStatus, readonly ExecutionStatus[]> = {
  running: ["running", "suspended"],
  suspended: ["running", "suspended"],
  completed: ["running", "suspended", "completed"],
  failed: ["running", "suspended", "failed"],
  cancelled: ["running", "suspended", "cancelled"],
};

export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export class IllegalTransitionError extends ConflictError {
  constructor(id: string, from: ExecutionStatus, to: ExecutionStatus) {
    super(`execution ${id} is ${from}; it cannot become ${to}`);
  }
}

/**
 * Moves an execution to `change.status` if that is legal from the status stored at that moment (and,
 * when `only` is given, that status is among `only`). Answers undefined when the move is not legal now.
 */
export async function tryMoveStatus(
  executions: Pick<ExecutionRepository, "updateStatusFrom">,
  id: string,
  change: StatusChange,
  only?: readonly ExecutionStatus[],
): Promise<ExecutionRow | undefined> {
  const from = ALLOWED_FROM[change.status].filter((status) => !only || only.includes(status));
  if (from.length === 0) return undefined;
  return executions.updateStatusFrom(id, change, from, isTerminal(change.status));
}

/** {@link tryMoveStatus} that throws NotFoundError or IllegalTransitionError instead of answering undefined. */
export async function moveStatus(
  executions: Pick<ExecutionRepository, "updateStatusFrom" | "get">,
  id: string,
  change: StatusChange,
): Promise<ExecutionRow> {
  const row = await tryMoveStatus(executions, id, change);
  if (row) return row;
  const current = await executions.get(id);
  throw new IllegalTransitionError(id, current.status, change.status);
}

/** Why a cancelled execution was cancelled, as {@link recordCancel} wrote it. */
export function cancelReasonOf(execution: Pick<ExecutionRow, "metadata">): CancelReason {
  return execution.metadata.cancelReason === "superseded" ? "superseded" : "cancelled";
}

/** Records the cancel of an active execution; a ConflictError names the end it already had. */
export async function recordCancel(
  executions: Pick<ExecutionRepository, "updateStatusFrom" | "get">,
  execution: ExecutionRow,
  reason: CancelReason,
): Promise<ExecutionRow> {
  const cancelled = isTerminal(execution.status)
    ? undefined
    : await tryMoveStatus(executions, execution.id, { status: "cancelled", metadata: { cancelReason: reason } }, ACTIVE_STATUSES);
  if (cancelled) return cancelled;
  const current = isTerminal(execution.status) ? execution : await executions.get(execution.id);
  throw new ConflictError(`execution ${execution.id} already ended as ${current.status}`);
}
