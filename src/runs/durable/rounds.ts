import type { UIMessageChunk } from "ai";

/** The durable stream namespace of round n: `r0`, then `r1` after the first approval, … */
export function roundNamespace(round: number): string {
  return `r${round}`;
}

/**
 * The world's name of a run's round stream (how the Workflow SDK names a namespaced stream of a run:
 * `strm_<run ulid>_user_<base64url(namespace)>`), to ask the world how much of it has landed.
 */
export function roundStreamName(workflowRunId: string, round: number): string {
  return `${workflowRunId.replace("wrun_", "strm_")}_user_${Buffer.from(roundNamespace(round), "utf8").toString("base64url")}`;
}

/** The round a durable execution is in (`metadata.round`, which the workflow records as it moves on). */
export function currentRound(execution: { metadata: Record<string, unknown> }): number {
  const round = Number(execution.metadata.round ?? 0);
  return Number.isSafeInteger(round) && round >= 0 ? round : 0;
}

/**
 * The round that streams what a run does after an approval asked in `requestedInRound`: the next one.
 * A request not recorded with its round (older runs) counts from the execution's round, which has moved
 * on once the run recorded its suspension.
 */
export function roundAfterRequest(
  requestedInRound: number | null,
  execution: { status: string; metadata: Record<string, unknown> },
): number {
  if (requestedInRound !== null) return requestedInRound + 1;
  return currentRound(execution) + (execution.status === "suspended" ? 1 : 0);
}

/** The hook token a decision on one tool call resumes; deterministic so the server can rebuild it. */
export function approvalToken(executionId: string, toolCallId: string): string {
  return `approval:${executionId}:${toolCallId}`;
}

/**
 * What steps write to a round's namespace: a burst of UI chunks tagged with the writing step and its
 * attempt, so readers can drop the partial output of an attempt that a retry (or a crash restart)
 * superseded. One world write carries every chunk the step produced while the previous write was in
 * flight (a fast model's burst costs one write, a slow model's token goes out alone, at once).
 */
export interface RoundEnvelope {
  step: string;
  attempt: number;
  /** Position of the first chunk among those its step attempt wrote. */
  sequence: number;
  chunks: UIMessageChunk[];
  /** Written before bursts existed: one chunk per envelope. */
  chunk?: UIMessageChunk;
}

/** One chunk of a round with the tag of the step attempt that wrote it. */
export interface TaggedChunk {
  step: string;
  attempt: number;
  /** Position of the chunk among those its step attempt wrote. */
  sequence: number;
  chunk: UIMessageChunk;
}

/** The chunks an envelope carries, each with its own tag, whichever format wrote it. */
export function unpackEnvelope(envelope: RoundEnvelope): TaggedChunk[] {
  const chunks = envelope.chunks ?? (envelope.chunk ? [envelope.chunk] : []);
  return chunks.map((chunk, position) => ({
    step: envelope.step,
    attempt: envelope.attempt,
    sequence: envelope.sequence + position,
    chunk,
  }));
}

/** The most chunks one envelope carries: wire offsets count `world index × this + position`. */
export const MAX_BURST = 1024;

/** The event index (the `index` of a durable wire offset) of one chunk of a round. */
export function eventIndex(worldIndex: number, position: number): number {
  return worldIndex * MAX_BURST + position;
}

/**
 * The id of the assistant message a durable turn starts: the same on every attempt of its model round,
 * so a round retried after a crash repeats what readers already hold, down to its `start` chunk.
 */
export function turnMessageId(executionId: string): string {
  return `msg_${executionId}`;
}

const ATTEMPT_PREFIX = "attempt:";
const STEP_RESULT_PREFIX = "stepResult:";

/** The metadata key under which a step records its latest attempt before it writes anything. */
export function attemptKey(stepId: string): string {
  return `${ATTEMPT_PREFIX}${stepId}`;
}

/** The latest attempt of each step, as the steps record them in an execution's metadata (see attemptKey). */
export function latestAttempts(metadata: Record<string, unknown>): Map<string, number> {
  const attempts = new Map<string, number>();
  for (const [key, value] of Object.entries(metadata)) {
    if (key.startsWith(ATTEMPT_PREFIX) && typeof value === "number") attempts.set(key.slice(ATTEMPT_PREFIX.length), value);
  }
  return attempts;
}

/**
 * Whether a metadata key is the durable steps' own bookkeeping (attempts, recorded results): kept out of
 * what the API shows, which has the step timeline for attempts.
 */
export function isStepBookkeepingKey(key: string): boolean {
  return key.startsWith(ATTEMPT_PREFIX) || key.startsWith(STEP_RESULT_PREFIX);
}

/** The metadata key under which a step that must not run twice records what its finished run returned. */
export function stepResultKey(stepId: string): string {
  return `${STEP_RESULT_PREFIX}${stepId}`;
}
