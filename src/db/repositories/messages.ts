import { and, asc, eq, gt, gte, sql } from "drizzle-orm";
import type { UIMessage } from "ai";
import { messages } from "../../../drizzle/schema";
import type { Database } from "../client";

/** A message as the repository stores and lists it: id, role, parts, and metadata only when there is some. */
export function storedMessage(message: Pick<UIMessage, "id" | "role" | "parts"> & { metadata?: unknown }): UIMessage {
  return {
    id: message.id,
    role: message.role,
    parts: message.parts,
    ...(message.metadata === null || message.metadata === undefined ? {} : { metadata: message.metadata }),
  };
}

export function createMessageRepository(db: Database) {
  /** Deletes the messages whose position compares to the given message's as `from` says (none if it is absent). */
  async function truncate(conversationId: string, messageId: string, from: typeof gt | typeof gte): Promise<void> {
    // One statement: the subquery's "messages" is its own FROM, so it reads the target's position.
    const targetPosition = sql`(
      select ${messages.position} from ${messages}
      where ${messages.conversationId} = ${conversationId} and ${messages.id} = ${messageId}
    )`;
    await db.delete(messages).where(and(eq(messages.conversationId, conversationId), from(messages.position, targetPosition)));
  }

  return {
    async list(conversationId: string): Promise<UIMessage[]> {
      const rows = await db
        .select()
        .from(messages)
        .where(eq(messages.conversationId, conversationId))
        .orderBy(asc(messages.position), asc(messages.createdAt));
      return rows.map(storedMessage);
    },

    /**
     * Inserts the message at the end of the conversation, or replaces the parts of the stored message with
     * the same id (an assistant message grows across approval rounds). Idempotent.
     */
    async upsert(conversationId: string, message: UIMessage): Promise<void> {
      const nextPosition = sql<number>`(
        select coalesce(max(${messages.position}), -1) + 1 from ${messages}
        where ${messages.conversationId} = ${conversationId}
      )`;
      await db
        .insert(messages)
        .values({
          conversationId,
          id: message.id,
          role: message.role,
          parts: message.parts,
          metadata: message.metadata ?? null,
          position: nextPosition,
        })
        .onConflictDoUpdate({
          target: [messages.conversationId, messages.id],
          set: { parts: message.parts, metadata: message.metadata ?? null, updatedAt: new Date() },
        });
    },

    /** Removes every message after the given one (a regenerated or edited turn drops the old answer). */
    truncateAfter: (conversationId: string, messageId: string) => truncate(conversationId, messageId, gt),

    /** Removes a message and every later one (editing a message replaces it and what followed). */
    truncateFrom: (conversationId: string, messageId: string) => truncate(conversationId, messageId, gte),
  };
}

export type MessageRepository = ReturnType<typeof createMessageRepository>;
