import { defineHook } from "workflow";

/**
 * Wakes a run waiting for a tool approval. The payload only says which tool call was decided: the
 * decision itself lives in the tool_approvals table (written before the wake-up), so a decision recorded
 * before the wait began is never lost. Typed without a schema library on purpose: the workflow bundle is
 * evaluated again on every replay, and carrying zod in it made each step about twice as slow.
 */
export const approvalHook = defineHook<{ toolCallId: string }>();
