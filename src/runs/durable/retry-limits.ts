/**
 * What Tether gives the Workflow SDK as every step's `maxRetries`: unbounded. The SDK counts a step's
 * attempts by its `step_started` events, so a process that dies mid-step spends one, and a crash loop
 * would fail healthy runs ("exceeded max retries"). Steps spend a budget on real errors only (see
 * `retryOrFail` in ./step-retries), counted from the `step_retrying` events a thrown error leaves.
 * Kept apart from ./step-retries so the workflow bundle, which sees these assignments, imports nothing.
 */
export const UNBOUNDED_RETRIES = Number.MAX_SAFE_INTEGER;

/** Retries of a step that failed on storage or another transient cause (not the model). */
export const INFRASTRUCTURE_RETRIES = { retries: 8, delayMs: 500 };
