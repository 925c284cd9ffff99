import { randomBytes } from "node:crypto";
import { and, desc, eq, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import {
  workflowExecutions,
  type ExecutionMode,
  type ExecutionRow,
  type ExecutionStatus,
} from "../../../drizzle/schema";
import { InvalidInputError, NotFoundError } from "../../errors";
import type { Database } from "../client";

export function newExecutionId(): string {
  return `ex_${randomBytes(12).toString("base64url")}`;
}

export interface ExecutionFilter {
  ownerId?: string;
  conversationId?: string;
  agentId?: string;
  status?: ExecutionStatus;
  mode?: ExecutionMode;
  limit: number;
  cursor?: string;
}

export interface StatusChange {
  status: ExecutionStatus;
  /** Merged into the stored metadata (jsonb `||`); keys written earlier survive. */
  metadata?: Record<string, unknown>;
  error?: string | null;
  workflowRunId?: string;
}

const encodeCursor = (row: ExecutionRow) =>
  Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString("base64url");

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|(ex_[A-Za-z0-9_-]{1,64})$/;

/** Only what encodeCursor writes: anything else is refused before it reaches the database. */
function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const match = CURSOR.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const createdAt = new Date(match?.[1] ?? "");
  if (!match || Number.isNaN(createdAt.getTime()) || createdAt.getUTCFullYear() < 1) {
    throw new InvalidInputError("cursor", "cursor is not valid");
  }
  return { createdAt, id: match[2]! };
}

export function createExecutionRepository(db: Database) {
  return {
    async create(input: {
      id?: string;
      mode: ExecutionMode;
      agentId: string;
      conversationId: string;
      ownerId: string;
      metadata?: Record<string, unknown>;
      processUrl?: string;
    }): Promise<ExecutionRow> {
      const [row] = await db
        .insert(workflowExecutions)
        .values({ ...input, id: input.id ?? newExecutionId(), status: "running", metadata: input.metadata ?? {} })
        .returning();
      return row!;
    },

    async find(id: string): Promise<ExecutionRow | undefined> {
      const [row] = await db.select().from(workflowExecutions).where(eq(workflowExecutions.id, id));
      return row;
    },

    async get(id: string): Promise<ExecutionRow> {
      const row = await this.find(id);
      if (!row) throw new NotFoundError("execution", id);
      return row;
    },

    async list(filter: ExecutionFilter): Promise<{ executions: ExecutionRow[]; nextCursor: string | null }> {
      const conditions: (SQL | undefined)[] = [
        filter.ownerId === undefined ? undefined : eq(workflowExecutions.ownerId, filter.ownerId),
        filter.conversationId === undefined ? undefined : eq(workflowExecutions.conversationId, filter.conversationId),
        filter.agentId === undefined ? undefined : eq(workflowExecutions.agentId, filter.agentId),
        filter.status === undefined ? undefined : eq(workflowExecutions.status, filter.status),
        filter.mode === undefined ? undefined : eq(workflowExecutions.mode, filter.mode),
      ];
      if (filter.cursor) {
        const after = decodeCursor(filter.cursor);
        conditions.push(
          or(
            lt(workflowExecutions.createdAt, after.createdAt),
            and(eq(workflowExecutions.createdAt, after.createdAt), lt(workflowExecutions.id, after.id)),
          ),
        );
      }
      const rows = await db
        .select()
        .from(workflowExecutions)
        .where(and(...conditions))
        .orderBy(desc(workflowExecutions.createdAt), desc(workflowExecutions.id))
        .limit(filter.limit + 1);
      const executions = rows.slice(0, filter.limit);
      const last = executions.at(-1);
      return { executions, nextCursor: rows.length > filter.limit && last ? encodeCursor(last) : null };
    },

    /** The newest execution of a conversation, whatever its status. */
    async latestForConversation(conversationId: string): Promise<ExecutionRow | undefined> {
      const [row] = await db
        .select()
        .from(workflowExecutions)
        .where(eq(workflowExecutions.conversationId, conversationId))
        .orderBy(desc(workflowExecutions.createdAt), desc(workflowExecutions.id))
        .limit(1);
      return row;
    },

    /** The executions of a conversation whose status is among `statuses`, newest first. */
    async ofConversationIn(conversationId: string, statuses: readonly ExecutionStatus[]): Promise<ExecutionRow[]> {
      return db
        .select()
        .from(workflowExecutions)
        .where(
          and(
            eq(workflowExecutions.conversationId, conversationId),
            inArray(workflowExecutions.status, [...statuses]),
          ),
        )
        .orderBy(desc(workflowExecutions.createdAt));
    },

    /**
     * Moves an execution to `change.status` in one statement, only if its status at that moment is among
     * `from` (the caller's rule: src/runs/execution-status.ts). Repeating the current status merges
     * metadata. `finished` stamps `completedAt` (kept from the first end). Answers undefined when the
     * stored status is not among `from`.
     */
    async updateStatusFrom(id: string, change: StatusChange, from: readonly ExecutionStatus[], finished: boolean) {
      const [row] = await db
        .update(workflowExecutions)
        .set({
          status: change.status,
          metadata: sql`${workflowExecutions.metadata} || ${JSON.stringify(change.metadata ?? {})}::jsonb`,
          ...(change.error === undefined ? {} : { error: change.error }),
          ...(change.workflowRunId === undefined ? {} : { workflowRunId: change.workflowRunId }),
          updatedAt: new Date(),
          ...(finished ? { completedAt: sql`coalesce(${workflowExecutions.completedAt}, now())` } : {}),
        })
        .where(and(eq(workflowExecutions.id, id), inArray(workflowExecutions.status, [...from])))
        .returning();
      return row;
    },

    async setWorkflowRunId(id: string, workflowRunId: string): Promise<ExecutionRow> {
      const [row] = await db
        .update(workflowExecutions)
        .set({ workflowRunId, updatedAt: new Date() })
        .where(eq(workflowExecutions.id, id))
        .returning();
      if (!row) throw new NotFoundError("execution", id);
      return row;
    },

    /** Merges keys into an execution's metadata without touching its status (and records its run id, if given). */
    async mergeMetadata(id: string, metadata: Record<string, unknown>, workflowRunId?: string): Promise<ExecutionRow> {
      const [row] = await db
        .update(workflowExecutions)
        .set({
          metadata: sql`${workflowExecutions.metadata} || ${JSON.stringify(metadata)}::jsonb`,
          ...(workflowRunId === undefined ? {} : { workflowRunId }),
          updatedAt: new Date(),
        })
        .where(eq(workflowExecutions.id, id))
        .returning();
      if (!row) throw new NotFoundError("execution", id);
      return row;
    },

    /** Of the given executions, those that are `cancelled` now (one primary-key lookup per id). */
    async listCancelled(ids: readonly string[]): Promise<Array<Pick<ExecutionRow, "id" | "metadata">>> {
      if (ids.length === 0) return [];
      return db
        .select({ id: workflowExecutions.id, metadata: workflowExecutions.metadata })
        .from(workflowExecutions)
        .where(and(inArray(workflowExecutions.id, [...ids]), eq(workflowExecutions.status, "cancelled")));
    },

    /** Every execution of `mode` still `running`. */
    async listRunning(mode: ExecutionMode): Promise<ExecutionRow[]> {
      return db
        .select()
        .from(workflowExecutions)
        .where(and(eq(workflowExecutions.mode, mode), eq(workflowExecutions.status, "running")));
    },
  };
}

export type ExecutionRepository = ReturnType<typeof createExecutionRepository>;
