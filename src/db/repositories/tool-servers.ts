import { asc, eq, inArray } from "drizzle-orm";
import {
  toolServers,
  type ToolApproval,
  type ToolServerHeader,
  type ToolServerRow,
  type ToolServerTransport,
} from "../../../drizzle/schema";
import { ConflictError, NotFoundError } from "../../errors";
import type { Database } from "../client";

export interface ToolServerInput {
  id: string;
  name: string;
  url: string;
  transport?: ToolServerTransport;
  headers?: Record<string, ToolServerHeader>;
  approvals?: Record<string, ToolApproval>;
}

export function createToolServerRepository(db: Database) {
  return {
    list(): Promise<ToolServerRow[]> {
      return db.select().from(toolServers).orderBy(asc(toolServers.createdAt), asc(toolServers.id));
    },

    /** The servers among `ids` that exist (in no particular order). */
    findMany(ids: readonly string[]): Promise<ToolServerRow[]> {
      if (ids.length === 0) return Promise.resolve([]);
      return db.select().from(toolServers).where(inArray(toolServers.id, [...ids]));
    },

    async find(id: string): Promise<ToolServerRow | undefined> {
      const [row] = await db.select().from(toolServers).where(eq(toolServers.id, id));
      return row;
    },

    async get(id: string): Promise<ToolServerRow> {
      const row = await this.find(id);
      if (!row) throw new NotFoundError("tool server", id);
      return row;
    },

    async create(input: ToolServerInput): Promise<ToolServerRow> {
      const [row] = await db.insert(toolServers).values(input).onConflictDoNothing().returning();
      if (!row) throw new ConflictError(`tool server ${JSON.stringify(input.id)} already exists`);
      return row;
    },

    async update(id: string, patch: Partial<Omit<ToolServerInput, "id">>): Promise<ToolServerRow> {
      const [row] = await db
        .update(toolServers)
        .set({ ...patch, updatedAt: new Date() })
        .where(eq(toolServers.id, id))
        .returning();
      if (!row) throw new NotFoundError("tool server", id);
      return row;
    },

    async delete(id: string): Promise<void> {
      const rows = await db.delete(toolServers).where(eq(toolServers.id, id)).returning({ id: toolServers.id });
      if (rows.length === 0) throw new NotFoundError("tool server", id);
    },
  };
}

export type ToolServerRepository = ReturnType<typeof createToolServerRepository>;
