import { attemptDuration, attemptLabel, hadCrash, hadErrorRetry, summarizeSteps } from "../../executions/step-summary";
import type { StepTimelineEntry } from "../../tether-api/types";
import { ErrorBanner } from "../common/ErrorBanner";
import { StatusBadge } from "../common/StatusBadge";
import { Timestamp } from "../common/Timestamp";

/** Marks steps that needed more than one go, so retries and crash recoveries stand out in a long list. */
function stepClass(step: StepTimelineEntry): string {
  if (hadCrash(step)) return "step step--recovered";
  if (hadErrorRetry(step)) return "step step--retried";
  return step.status === "failed" ? "step step--failed" : "step";
}

function StepView({ step, index }: { step: StepTimelineEntry; index: number }) {
  const count = step.attempts.length;
  return (
    <li className={stepClass(step)} role="group" aria-label={`Step ${index + 1}: ${step.name}`}>
      <div className="step__header">
        <span className="step__index">{index + 1}</span>
        <code className="step__name">{step.name}</code>
        <StatusBadge status={step.status} />
        <span className="hint">{count === 1 ? "1 attempt" : `${count} attempts`}</span>
      </div>
      <ol className="step-attempts" aria-label={`${step.name} attempts`}>
        {step.attempts.map((attempt, position) => (
          <li key={attempt.attempt} className="step-attempt">
            <span className="step-attempt__number">#{attempt.attempt}</span>
            <span className="step-attempt__start">
              <Timestamp iso={attempt.startedAt} />
            </span>
            <span className="step-attempt__duration">{attemptDuration(attempt)}</span>
            <StatusBadge status={attempt.outcome} label={attemptLabel(attempt, position === count - 1)} />
            {attempt.error && <p className="step-attempt__error">{attempt.error}</p>}
          </li>
        ))}
      </ol>
    </li>
  );
}

/** The Steps card of a durable execution: every step and every attempt, as the Workflow SDK recorded them. */
export function ExecutionSteps({ steps, error }: { steps: StepTimelineEntry[] | null; error: string | null }) {
  return (
    <section className="card" aria-labelledby="steps-heading">
      <div className="card__header">
        <h2 id="steps-heading">Steps</h2>
        {steps && (
          <p className="step-summary" aria-label="Steps summary">
            {summarizeSteps(steps)}
          </p>
        )}
      </div>
      <ErrorBanner message={error} />
      {!steps && !error && <p className="hint">Loading steps…</p>}
      {steps?.length === 0 && <p className="hint">No steps have started yet.</p>}
      {steps && steps.length > 0 && (
        <>
          <p className="hint step-legend">Each attempt: number, start time, duration, outcome.</p>
          <ol className="step-list">
            {steps.map((step, index) => (
              <StepView key={step.stepId} step={step} index={index} />
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
