/**
 * A control for bench/durable.ts: the same trivial steps as ./durable-bare.ts, but the workflow module
 * imports zod for a hook schema, exactly as workflows/agent-run/hooks/approval.ts does, so its workflow
 * bundle carries zod too (the VM evaluates the whole bundle on every replay). Compiled into its own bundle.
 */
import { defineHook } from "workflow";
import { z } from "zod";

const neverUsedHook = defineHook({ schema: z.object({ toolCallId: z.string() }) });

async function trivialZodStep(): Promise<number> {
  "use step";
  return 1;
}

export async function bareStepsWithZod(input: { steps: number; createHook?: boolean }): Promise<number> {
  "use workflow";
  // Never taken (the bench never passes createHook): keeps the hook, and so zod, in the bundle.
  if (input.createHook) await neverUsedHook.create({ token: `never-${input.steps}` });
  let total = 0;
  for (let index = 0; index < input.steps; index++) total += await trivialZodStep();
  return total;
}
