import { and, desc, eq, getTableColumns, sql } from "drizzle-orm";
import { conversations, type ConversationRow } from "../../../drizzle/schema";
import type { Database } from "../client";

export interface ConversationSummary extends ConversationRow {
  activeExecutionId: string | null;
}

export function createConversationRepository(db: Database) {
  // Spelled out with table names: inside a subquery drizzle leaves columns unqualified, and the outer
  // conversations.id would silently resolve to workflow_executions.id.
  const activeExecutionId = sql<string | null>`(
    select active.id from workflow_executions active
    where active.conversation_id = "conversations"."id"
      and active.status in ('running', 'suspended')
    order by active.created_at desc limit 1
  )`.as("active_execution_id");

  return {
    async find(id: string): Promise<ConversationSummary | undefined> {
      const [row] = await db
        .select({ conversation: conversations, activeExecutionId })
        .from(conversations)
        .where(eq(conversations.id, id));
      return row && { ...row.conversation, activeExecutionId: row.activeExecutionId };
    },

    async list(filter: { ownerId?: string; agentId?: string; limit?: number }): Promise<ConversationSummary[]> {
      const conditions = [
        filter.ownerId === undefined ? undefined : eq(conversations.ownerId, filter.ownerId),
        filter.agentId === undefined ? undefined : eq(conversations.agentId, filter.agentId),
      ];
      const rows = await db
        .select({ conversation: conversations, activeExecutionId })
        .from(conversations)
        .where(and(...conditions))
        .orderBy(desc(conversations.updatedAt), desc(conversations.id))
        .limit(filter.limit ?? 100);
      return rows.map((row) => ({ ...row.conversation, activeExecutionId: row.activeExecutionId }));
    },

    /** Creates the conversation unless it exists; returns the stored row either way. */
    async ensure(input: { id: string; ownerId: string; agentId: string; title: string }): Promise<ConversationRow> {
      await db.insert(conversations).values(input).onConflictDoNothing();
      const [row] = await db.select().from(conversations).where(eq(conversations.id, input.id));
      return row!;
    },

    /**
     * One statement for the start of a turn: creates the conversation, or touches it when it exists with this
     * owner and agent. Undefined when it exists with another owner or agent (the caller looks at why).
     */
    async open(input: {
      id: string;
      ownerId: string;
      agentId: string;
      title: string;
    }): Promise<{ conversation: ConversationRow; created: boolean } | undefined> {
      const now = new Date();
      const [row] = await db
        .insert(conversations)
        .values({ ...input, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({
          target: conversations.id,
          set: { updatedAt: now },
          setWhere: and(eq(conversations.ownerId, input.ownerId), eq(conversations.agentId, input.agentId)),
        })
        // xmax is 0 on a row this statement inserted, and the updating transaction's id on one it updated.
        .returning({ ...getTableColumns(conversations), created: sql<boolean>`(xmax = 0)` });
      if (!row) return undefined;
      const { created, ...conversation } = row;
      return { conversation, created };
    },

    async touch(id: string): Promise<void> {
      await db.update(conversations).set({ updatedAt: new Date() }).where(eq(conversations.id, id));
    },
  };
}

export type ConversationRepository = ReturnType<typeof createConversationRepository>;
