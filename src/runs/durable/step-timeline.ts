import { getWorld } from "workflow/runtime";

/** How one attempt of a step ended. `interrupted`: its process died (or was stopped) before it ended. */
export type AttemptOutcome = "running" | "completed" | "error" | "failed" | "interrupted";

export interface StepAttempt {
  attempt: number;
  startedAt: string;
  endedAt?: string;
  outcome: AttemptOutcome;
  error?: string;
}

export interface StepTimelineEntry {
  stepId: string;
  /** The step function's name, e.g. `runModelRound`. */
  name: string;
  status: "pending" | "running" | "completed" | "failed";
  createdAt: string;
  attempts: StepAttempt[];
}

interface StepEvent {
  eventType: string;
  correlationId?: string;
  createdAt: Date;
  eventData?: unknown;
}

const shortName = (stepName: string) => stepName.split("//").at(-1) || stepName;

function errorOf(eventData: unknown): string | undefined {
  const error = (eventData as { error?: unknown } | undefined)?.error;
  if (typeof error === "string") return error;
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : undefined;
}

/**
 * A durable run's steps with every attempt, read from the Workflow SDK's own event log: `step_started`
 * opens an attempt; `step_retrying` ends it by an error, `step_completed` / `step_failed` for good; an
 * attempt followed by another `step_started` with nothing in between ended with its process.
 */
export function buildStepTimeline(events: readonly StepEvent[]): StepTimelineEntry[] {
  const steps = new Map<string, StepTimelineEntry>();
  for (const event of events) {
    if (!event.eventType.startsWith("step_") || !event.correlationId) continue;
    const at = event.createdAt.toISOString();
    let step = steps.get(event.correlationId);
    if (!step) {
      const stepName = (event.eventData as { stepName?: unknown } | undefined)?.stepName;
      step = {
        stepId: event.correlationId,
        name: typeof stepName === "string" ? shortName(stepName) : "step",
        status: "pending",
        createdAt: at,
        attempts: [],
      };
      steps.set(event.correlationId, step);
    }
    const open = step.attempts.at(-1);
    const isOpen = open?.outcome === "running";
    switch (event.eventType) {
      case "step_started":
        if (open && isOpen) open.outcome = "interrupted";
        step.attempts.push({ attempt: step.attempts.length + 1, startedAt: at, outcome: "running" });
        step.status = "running";
        break;
      case "step_retrying":
        if (open && isOpen) Object.assign(open, { outcome: "error", endedAt: at, error: errorOf(event.eventData) });
        step.status = "pending";
        break;
      case "step_completed":
        if (open && isOpen) Object.assign(open, { outcome: "completed", endedAt: at });
        step.status = "completed";
        break;
      case "step_failed":
        if (open && isOpen) Object.assign(open, { outcome: "failed", endedAt: at, error: errorOf(event.eventData) });
        step.status = "failed";
        break;
    }
  }
  return [...steps.values()];
}

/** The timeline of the workflow run `workflowRunId` (see {@link buildStepTimeline}). */
export async function readStepTimeline(workflowRunId: string): Promise<StepTimelineEntry[]> {
  const events: StepEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await getWorld().events.list({
      runId: workflowRunId,
      pagination: { limit: 1000, sortOrder: "asc", ...(cursor ? { cursor } : {}) },
      resolveData: "all",
    });
    for (const event of page.data) {
      if (event.eventType.startsWith("step_")) events.push(event as StepEvent);
    }
    cursor = page.hasMore && page.cursor ? page.cursor : undefined;
  } while (cursor);
  return buildStepTimeline(events);
}
