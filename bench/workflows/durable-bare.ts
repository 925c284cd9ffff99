/**
 * The baseline of bench/durable.ts: a workflow whose steps do nothing. Compiled by the bench itself
 * (BaseBuilder, dirs ["bench/workflows"], into a temp folder), never by scripts/build.mjs, so it never
 * ships. Its ids come from this file's path: `workflow//./bench/workflows/durable-bare//bareSteps`.
 */
import { getWritable } from "workflow";

/** The trivial step: no I/O, returns a constant. */
async function trivialStep(): Promise<number> {
  "use step";
  return 1;
}

/** A trivial step that writes `chunks` small objects to a stream namespace and closes it, as a model round does. */
async function trivialStreamingStep(chunks: number, writable: WritableStream<{ sequence: number }>): Promise<number> {
  "use step";
  const writer = writable.getWriter();
  for (let sequence = 0; sequence < chunks; sequence++) await writer.write({ sequence });
  await writer.close();
  return 1;
}

/**
 * `steps` trivial steps in sequence (each one a durable step: event log entry, queue message, replay). With
 * `streamAt`, the step at that index streams `chunks` chunks to namespace `r0`, so a run can have the same
 * shape as a Tether turn whose middle step streams the model's answer.
 */
export async function bareSteps(input: { steps: number; streamAt?: number; chunks?: number }): Promise<number> {
  "use workflow";
  let total = 0;
  for (let index = 0; index < input.steps; index++) {
    total +=
      index === input.streamAt
        ? await trivialStreamingStep(input.chunks ?? 0, getWritable({ namespace: "r0" }))
        : await trivialStep();
  }
  return total;
}
