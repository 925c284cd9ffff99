import type postgres from "postgres";

/** Releases a lock taken with {@link NamedLocks.tryAcquire}. */
export type ReleaseLock = () => Promise<void>;

/**
 * Exclusive locks by name, shared by every process on the database, that vanish with the process that
 * holds them: a crash never leaves one behind, so nobody waits out a timeout.
 */
export interface NamedLocks {
  /** Takes the lock when it is free; undefined when someone (here or in another process) holds it. */
  tryAcquire(name: string): Promise<ReleaseLock | undefined>;
  /** Drops every lock this process holds. */
  close(): Promise<void>;
}

/** For an embedded database: one process owns it, so the locks live in memory. */
export function createInProcessLocks(): NamedLocks {
  const held = new Set<string>();
  return {
    async tryAcquire(name) {
      if (held.has(name)) return undefined;
      held.add(name);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        held.delete(name);
      };
    },
    async close() {
      held.clear();
    },
  };
}

/**
 * PostgreSQL session advisory locks, all taken on one connection set aside for them: the server frees
 * them the moment that session ends, however the process ends. Session locks are re-entrant within a
 * session, so the names this process holds are also kept in memory to refuse a second holder here.
 */
export function createPostgresLocks(client: postgres.Sql): NamedLocks {
  const held = new Set<string>();
  let session: Promise<postgres.ReservedSql> | undefined;
  const connection = () => (session ??= client.reserve());
  /** After an error on the session: the next lock opens a fresh one, and what this one held is gone with it. */
  const dropSession = (): void => {
    const broken = session;
    session = undefined;
    held.clear();
    void broken?.then((reserved) => reserved.release()).catch(() => undefined);
  };

  return {
    async tryAcquire(name) {
      if (held.has(name)) return undefined;
      held.add(name);
      let locked: boolean;
      try {
        const sql = await connection();
        const [row] = await sql<[{ locked: boolean }]>`select pg_try_advisory_lock(hashtextextended(${name}, 0)) as locked`;
        locked = row.locked;
      } catch (error) {
        held.delete(name);
        dropSession();
        throw error;
      }
      if (!locked) {
        held.delete(name);
        return undefined;
      }
      const owner = session;
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        // A session that broke meanwhile already dropped the lock on the server.
        if (session !== owner || !owner) return;
        try {
          const sql = await owner;
          await sql`select pg_advisory_unlock(hashtextextended(${name}, 0))`;
        } catch {
          dropSession();
        } finally {
          held.delete(name);
        }
      };
    },
    async close() {
      const current = session;
      session = undefined;
      held.clear();
      if (current) (await current.catch(() => undefined))?.release();
    },
  };
}
