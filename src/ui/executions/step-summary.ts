import type { StepAttempt, StepTimelineEntry } from "../tether-api/types";

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

export const hadErrorRetry = (step: StepTimelineEntry) => step.attempts.some((attempt) => attempt.outcome === "error");
export const hadCrash = (step: StepTimelineEntry) => step.attempts.some((attempt) => attempt.outcome === "interrupted");

/** One line for the top of the Steps card, e.g. "7 steps · 2 retried after errors · 1 recovered after a crash". */
export function summarizeSteps(steps: readonly StepTimelineEntry[]): string {
  const parts = [plural(steps.length, "step")];
  const retried = steps.filter(hadErrorRetry).length;
  const recovered = steps.filter(hadCrash).length;
  const failed = steps.filter((step) => step.status === "failed").length;
  const running = steps.filter((step) => step.status === "running").length;
  if (retried) parts.push(`${retried} retried after errors`);
  if (recovered) parts.push(`${recovered} recovered after a crash`);
  if (failed) parts.push(`${failed} failed`);
  if (running) parts.push(`${running} running`);
  if (!retried && !recovered && !failed && steps.length > 0) parts.push("no retries");
  return parts.join(" · ");
}

/**
 * "840 ms", "3.2 s", "2 m 05 s"; "running" while open; "—" for an attempt whose process died, since
 * nothing recorded when it stopped.
 */
export function attemptDuration(attempt: StepAttempt): string {
  if (!attempt.endedAt) return attempt.outcome === "running" ? "running" : "—";
  const ms = Math.max(0, Date.parse(attempt.endedAt) - Date.parse(attempt.startedAt));
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} m ${String(seconds % 60).padStart(2, "0")} s`;
}

/**
 * The badge of an attempt: what happened and what came of it. An error is "retrying" while the retry has
 * not started yet; an interrupted attempt is always followed by the run-again after the restart.
 */
export function attemptLabel(attempt: StepAttempt, isLast: boolean): string {
  switch (attempt.outcome) {
    case "error":
      return isLast ? "error — retrying" : "error — retried";
    case "interrupted":
      return "process died — retried";
    default:
      return attempt.outcome;
  }
}
