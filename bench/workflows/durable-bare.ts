/**
 * The baseline of bench/durable.ts: a workflow whose steps do nothing. Compiled by the bench itself
 * (BaseBuilder, dirs ["bench/workflows"], into a temp folder), never by scripts/build.mjs, so it never
 * ships. Its ids come from this file's path: `workflow//./bench/workflows/durable-bare//bareSteps`.
 */

/** The trivial step: no I/O, returns a constant. */
async function trivialStep(): Promise<number> {
  "use step";
  return 1;
}

/** `steps` trivial steps in sequence (each one a durable step: event log entry, queue message, replay). */
export async function bareSteps(input: { steps: number }): Promise<number> {
  "use workflow";
  let total = 0;
  for (let index = 0; index < input.steps; index++) total += await trivialStep();
  return total;
}
