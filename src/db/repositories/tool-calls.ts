import { and, eq } from "drizzle-orm";
import { toolCalls, type ToolCallRow } from "../../../drizzle/schema";
import type { Database } from "../client";

/** How a finished call ended: what the model gets as the tool's result. */
export type ToolCallOutcome = { status: "succeeded"; output: unknown } | { status: "failed"; errorText: string };

export function createToolCallRepository(db: Database) {
  const byId = (executionId: string, toolCallId: string) =>
    and(eq(toolCalls.executionId, executionId), eq(toolCalls.toolCallId, toolCallId));

  return {
    async find(executionId: string, toolCallId: string): Promise<ToolCallRow | undefined> {
      const [row] = await db.select().from(toolCalls).where(byId(executionId, toolCallId));
      return row;
    },

    /** Records that the call goes out now (again, for a call that may be repeated). */
    async start(input: { executionId: string; toolCallId: string; toolName: string }): Promise<void> {
      await db
        .insert(toolCalls)
        .values({ ...input, status: "started" })
        .onConflictDoUpdate({
          target: [toolCalls.executionId, toolCalls.toolCallId],
          set: { status: "started", startedAt: new Date(), finishedAt: null, output: null, errorText: null },
        });
    },

    /** Records how the call ended; a call never recorded as started is recorded here at once. */
    async finish(input: { executionId: string; toolCallId: string; toolName: string }, outcome: ToolCallOutcome): Promise<void> {
      const values = {
        status: outcome.status,
        output: outcome.status === "succeeded" ? (outcome.output ?? null) : null,
        errorText: outcome.status === "failed" ? outcome.errorText : null,
        finishedAt: new Date(),
      };
      await db
        .insert(toolCalls)
        .values({ ...input, ...values })
        .onConflictDoUpdate({ target: [toolCalls.executionId, toolCalls.toolCallId], set: values });
    },
  };
}

export type ToolCallRepository = ReturnType<typeof createToolCallRepository>;

/** The outcome a finished row records; undefined while the call is (or was left) `started`. */
export function recordedOutcome(row: ToolCallRow): ToolCallOutcome | undefined {
  if (row.status === "succeeded") return { status: "succeeded", output: row.output };
  if (row.status === "failed") return { status: "failed", errorText: row.errorText ?? "the tool call failed" };
  return undefined;
}
