import type { UIMessageChunk } from "ai";

/** The durable stream namespace of round n: `r0`, then `r1` after the first approval, … */
export function roundNamespace(round: number): string {
  return `r${round}`;
}

/** The hook token a decision on one tool call resumes; deterministic so the server can rebuild it. */
export function approvalToken(executionId: string, toolCallId: string): string {
  return `approval:${executionId}:${toolCallId}`;
}

/**
 * What steps write to a round's namespace: the UI chunk tagged with the writing step and its attempt, so
 * readers can drop the partial output of an attempt that a retry (or a crash restart) superseded.
 */
export interface RoundEnvelope {
  step: string;
  attempt: number;
  /** Position of the chunk among those its step attempt wrote. */
  sequence: number;
  chunk: UIMessageChunk;
}

/** The metadata key under which a step records its latest attempt before it writes anything. */
export function attemptKey(stepId: string): string {
  return `attempt:${stepId}`;
}

/** The metadata key under which a step that must not run twice records what its finished run returned. */
export function stepResultKey(stepId: string): string {
  return `stepResult:${stepId}`;
}
