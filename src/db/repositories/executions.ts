import { randomBytes } from "node:crypto";
import { and, desc, eq, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import {
  workflowExecutions,
  type ExecutionMode,
  type ExecutionRow,
  type ExecutionStatus,
} from "../../../drizzle/schema";
import { ConflictError, InvalidInputError, NotFoundError } from "../../errors";
import type { Database } from "../client";

export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ["completed", "failed", "cancelled"];
export const ACTIVE_STATUSES: readonly ExecutionStatus[] = ["running", "suspended"];

/** Which statuses may move to each status: running → suspended → running → … → completed | failed | cancelled. */
const ALLOWED_FROM: Record<ExecutionStatus, readonly ExecutionStatus[]> = {
  running: ["running", "suspended"],
  suspended: ["running", "suspended"],
  completed: ["running", "suspended", "completed"],
  failed: ["running", "suspended", "failed"],
  cancelled: ["running", "suspended", "cancelled"],
};

export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

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

export class IllegalTransitionError extends ConflictError {
  constructor(id: string, from: ExecutionStatus, to: ExecutionStatus) {
    super(`execution ${id} is ${from}; it cannot become ${to}`);
  }
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

    async activeForConversation(conversationId: string): Promise<ExecutionRow[]> {
      return db
        .select()
        .from(workflowExecutions)
        .where(
          and(
            eq(workflowExecutions.conversationId, conversationId),
            inArray(workflowExecutions.status, [...ACTIVE_STATUSES]),
          ),
        )
        .orderBy(desc(workflowExecutions.createdAt));
    },

    /**
     * Moves an execution to a new status in one statement: the move happens only if it is legal from the
     * status stored at that moment (and, when `from` is given, that status is among `from`), so two racing
     * writers cannot both win. Repeating the current status merges metadata (a retried step may write its
     * status twice). Answers undefined when the move is not legal right now.
     */
    async tryUpdateStatus(id: string, change: StatusChange, from?: readonly ExecutionStatus[]) {
      const allowed = ALLOWED_FROM[change.status].filter((status) => !from || from.includes(status));
      if (allowed.length === 0) return undefined;
      const [row] = await db
        .update(workflowExecutions)
        .set({
          status: change.status,
          metadata: sql`${workflowExecutions.metadata} || ${JSON.stringify(change.metadata ?? {})}::jsonb`,
          ...(change.error === undefined ? {} : { error: change.error }),
          ...(change.workflowRunId === undefined ? {} : { workflowRunId: change.workflowRunId }),
          updatedAt: new Date(),
          ...(isTerminal(change.status) ? { completedAt: sql`coalesce(${workflowExecutions.completedAt}, now())` } : {}),
        })
        .where(and(eq(workflowExecutions.id, id), inArray(workflowExecutions.status, allowed)))
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

    /** tryUpdateStatus that throws NotFoundError or IllegalTransitionError instead of answering undefined. */
    async updateStatus(id: string, change: StatusChange): Promise<ExecutionRow> {
      const row = await this.tryUpdateStatus(id, change);
      if (row) return row;
      const current = await this.get(id);
      throw new IllegalTransitionError(id, current.status, change.status);
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

    /** Executions of one mode left `running` by a process that is gone (embedded single-process mode only). */
    async failInterrupted(mode: ExecutionMode, error: string): Promise<number> {
      const rows = await db
        .update(workflowExecutions)
        .set({ status: "failed", error, updatedAt: new Date(), completedAt: new Date() })
        .where(and(eq(workflowExecutions.mode, mode), eq(workflowExecutions.status, "running")))
        .returning({ id: workflowExecutions.id });
      return rows.length;
    },
  };
}

export type ExecutionRepository = ReturnType<typeof createExecutionRepository>;
