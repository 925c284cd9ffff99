import { asc, eq } from "drizzle-orm";
import { agents, type AgentRow, type ExecutionMode } from "../../../drizzle/schema";
import { ConflictError, NotFoundError } from "../../errors";
import type { Database } from "../client";

export interface AgentInput {
  id?: string;
  name: string;
  instructions?: string;
  model?: string;
  tools?: string[];
  executionMode?: ExecutionMode;
}

/**
 * `cached`: only for a database this process alone writes (PGlite): every turn reads its agent, and there
 * the read is a statement on the one connection all requests share; writes below keep the cache exact.
 */
export function createAgentRepository(db: Database, options: { cached?: boolean } = {}) {
  const cache = options.cached ? new Map<string, AgentRow>() : undefined;
  // Bumped by every write, so a read that raced a write does not put the older row back.
  let generation = 0;
  const forget = (id: string) => {
    generation += 1;
    cache?.delete(id);
  };
  return {
    list(): Promise<AgentRow[]> {
      return db.select().from(agents).orderBy(asc(agents.createdAt), asc(agents.id));
    },

    async find(id: string): Promise<AgentRow | undefined> {
      const cached = cache?.get(id);
      if (cached) return cached;
      const readAt = generation;
      const [row] = await db.select().from(agents).where(eq(agents.id, id));
      if (row && readAt === generation) cache?.set(id, row);
      return row;
    },

    async get(id: string): Promise<AgentRow> {
      const row = await this.find(id);
      if (!row) throw new NotFoundError("agent", id);
      return row;
    },

    async create(input: AgentInput & { id: string }): Promise<AgentRow> {
      const [row] = await db.insert(agents).values(input).onConflictDoNothing().returning();
      if (!row) throw new ConflictError(`agent ${JSON.stringify(input.id)} already exists`);
      return row;
    },

    /** Inserts the agent unless one with its id exists; returns whether it was inserted. */
    async seed(input: AgentInput & { id: string }): Promise<boolean> {
      const rows = await db.insert(agents).values(input).onConflictDoNothing().returning({ id: agents.id });
      return rows.length > 0;
    },

    async update(id: string, patch: Partial<Omit<AgentInput, "id">>): Promise<AgentRow> {
      forget(id);
      const [row] = await db
        .update(agents)
        .set({ ...patch, updatedAt: new Date() })
        .where(eq(agents.id, id))
        .returning();
      if (!row) throw new NotFoundError("agent", id);
      forget(id);
      return row;
    },

    async delete(id: string): Promise<void> {
      forget(id);
      const rows = await db.delete(agents).where(eq(agents.id, id)).returning({ id: agents.id });
      if (rows.length === 0) throw new NotFoundError("agent", id);
    },
  };
}

export type AgentRepository = ReturnType<typeof createAgentRepository>;
