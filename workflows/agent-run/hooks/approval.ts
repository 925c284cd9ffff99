import { defineHook } from "workflow";
import { z } from "zod";

/**
 * Wakes a run waiting for a tool approval. The payload only says which tool call was decided: the
 * decision itself lives in the tool_approvals table, which the workflow reads after every wake-up, so a
 * decision recorded before the wait began is never lost.
 */
export const approvalHook = defineHook({ schema: z.object({ toolCallId: z.string() }) });
