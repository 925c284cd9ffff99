import { randomUUID } from "node:crypto";
import { desc, eq } from "drizzle-orm";
import { outbox, type OutboxRow } from "../../../drizzle/schema";
import type { Database } from "../client";

export function createOutboxRepository(db: Database) {
  return {
    /** Records the message for this tool call, or returns the one recorded by an earlier attempt. */
    async sendOnce(input: Omit<OutboxRow, "messageId" | "sentAt">): Promise<OutboxRow> {
      const [inserted] = await db
        .insert(outbox)
        .values({ ...input, messageId: `msg_${randomUUID()}` })
        .onConflictDoNothing({ target: outbox.toolCallId })
        .returning();
      if (inserted) return inserted;
      const [existing] = await db.select().from(outbox).where(eq(outbox.toolCallId, input.toolCallId));
      return existing!;
    },

    list(): Promise<OutboxRow[]> {
      return db.select().from(outbox).orderBy(desc(outbox.sentAt));
    },
  };
}

export type OutboxRepository = ReturnType<typeof createOutboxRepository>;
