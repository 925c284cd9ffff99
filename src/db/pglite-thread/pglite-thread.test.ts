import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../paths";
import { openPglite, type DatabaseHandle } from "../client";
import { PgliteThread } from "./client";

const threadFile = path.join(projectRoot(), "dist", "pglite-worker.mjs");
const rowsOf = (result: unknown) => (result as { rows: unknown[] }).rows;

describe("PGlite in its own thread", () => {
  let dataDir: string;
  let thread: PgliteThread;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-pglite-thread-"));
    thread = await PgliteThread.open(threadFile, { dataDir, relaxedDurability: true });
    await thread.exec("create table notes (id int primary key, body text, at timestamptz, doc jsonb)");
  });
  afterAll(async () => {
    await thread.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers queries with rows as PGlite parses them, and types named as text stay text", async () => {
    await thread.query("insert into notes values ($1, $2, $3, $4)", [1, "one", "2026-01-02T03:04:05Z", { a: [1, 2] }]);
    const parsed = await thread.query<{ id: number; at: unknown; doc: unknown }>("select id, at, doc from notes where id = 1");
    expect(parsed.rows).toEqual([{ id: 1, at: new Date("2026-01-02T03:04:05Z"), doc: { a: [1, 2] } }]);
    const asText = await thread.query("select at from notes where id = 1", [], { rowMode: "array", parsers: { 1184: (value) => value } });
    expect(asText.rows).toEqual([["2026-01-02 03:04:05+00"]]);
  });

  it("refuses a parser that does more than keep the text (it cannot cross the thread)", async () => {
    await expect(thread.query("select 1", [], { parsers: { 1184: (value) => new Date(value) } })).rejects.toThrow(/cannot run a parser for type 1184/);
  });

  it("keeps PostgreSQL's error fields", async () => {
    const error = await thread.query("insert into notes values (1, 'again')").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "23505", constraint: "notes_pkey", message: expect.stringMatching(/duplicate key/) });
  });

  it("commits a transaction whose callback ends, and rolls back one that throws", async () => {
    await thread.transaction(async (tx) => {
      await tx.query("insert into notes (id, body) values (2, 'kept')");
    });
    const failure = new Error("callback failed");
    await expect(
      thread.transaction(async (tx) => {
        await tx.query("insert into notes (id, body) values (3, 'dropped')");
        throw failure;
      }),
    ).rejects.toBe(failure);
    const rows = await thread.query<{ id: number }>("select id from notes where id in (2, 3) order by id");
    expect(rows.rows).toEqual([{ id: 2 }]);
  });

  it("answers a transaction's statements without the main loop going round between them", async () => {
    const order: string[] = [];
    await thread.transaction(async (tx) => {
      setImmediate(() => order.push("loop went round"));
      for (const id of [10, 11, 12]) {
        await tx.query("insert into notes (id, body) values ($1, 'quick')", [id]);
        order.push(`statement ${id}`);
      }
    });
    expect(order).toEqual(["statement 10", "statement 11", "statement 12", "loop went round"]);
    expect((await thread.query("select count(*)::int as n from notes where id between 10 and 12")).rows).toEqual([{ n: 3 }]);
  });

  it("holds the database for a transaction: a statement from outside waits for its end", async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = thread.transaction(async (tx) => {
      await tx.query("update notes set body = 'inside' where id = 2");
      order.push("tx wrote");
      await held;
      order.push("tx ends");
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const outside = thread.query<{ body: string }>("select body from notes where id = 2").then((result) => {
      order.push("outside read");
      return result.rows[0]!.body;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await transaction;
    expect(await outside).toBe("inside");
    expect(order).toEqual(["tx wrote", "tx ends", "outside read"]);
  });

  it("fails pending and later queries once the thread has stopped", async () => {
    const doomed = await PgliteThread.open(threadFile, { relaxedDurability: true });
    const pending = doomed.query("select pg_sleep(0.5)");
    await new Promise((resolve) => setTimeout(resolve, 100));
    await (doomed as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await expect(pending).rejects.toThrow(/the PGlite thread stopped/);
    await expect(doomed.query("select 1")).rejects.toThrow(/the PGlite thread stopped/);
  });
});

describe("drizzle on the PGlite thread", () => {
  let dataDir: string;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-pglite-drizzle-"));
    handle = await openPglite({ dir: dataDir });
  });
  afterAll(async () => {
    await handle.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("runs the migrations and nested transactions (savepoints) through the thread", async () => {
    const tables = await handle.db.execute(sql`select table_name from information_schema.tables where table_name = 'workflow_executions'`);
    expect(rowsOf(tables)).toEqual([{ table_name: "workflow_executions" }]);
    await handle.db.execute(sql`create table marks (name text primary key)`);
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`insert into marks values ('outer')`);
      await tx
        .transaction(async (inner) => {
          await inner.execute(sql`insert into marks values ('inner')`);
          inner.rollback();
        })
        .catch(() => undefined);
    });
    const marks = await handle.db.execute(sql`select name from marks order by name`);
    expect(rowsOf(marks)).toEqual([{ name: "outer" }]);
  });

  it("keeps its data in the folder across a reopen", async () => {
    await handle.db.execute(sql`insert into marks values ('persisted')`);
    await handle.close();
    handle = await openPglite({ dir: dataDir });
    const marks = await handle.db.execute(sql`select name from marks where name = 'persisted'`);
    expect(rowsOf(marks)).toEqual([{ name: "persisted" }]);
  });
});
