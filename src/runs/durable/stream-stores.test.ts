import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createWorld as createPostgresWorld } from "@workflow/world-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../tests/support/database";
import { createLogger } from "../../logger";
import { createLocalStreamStore } from "./local-stream-store";
import { createPostgresStreamStore } from "./postgres-stream-store";
import { setupPostgresWorld } from "./postgres-world-setup";
import type { Streamer } from "./streamer";

const logger = createLogger({ level: "silent" });
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);

let streamCount = 0;
const nextStream = () => `strm_test_${Date.now()}_${++streamCount}`;

/** Reads a stream to its end (or until `count` chunks when it stays open), as text. */
async function readAll(store: Streamer, name: string, startIndex?: number, count?: number): Promise<string[]> {
  const reader = (await store.readFromStream(name, startIndex)).getReader();
  const texts: string[] = [];
  for (;;) {
    if (count !== undefined && texts.length >= count) {
      await reader.cancel();
      return texts;
    }
    const { done, value } = await reader.read();
    if (done) return texts;
    texts.push(decoder.decode(value));
  }
}

const within = <T>(promise: Promise<T>, ms = 5000): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))]);

interface StoreUnderTest {
  store: Streamer;
  dispose(): Promise<void>;
}

const kinds: Array<[string, () => Promise<StoreUnderTest>]> = [
  [
    "the local stream store",
    async () => {
      const folder = mkdtempSync(path.join(os.tmpdir(), "tether-streams-"));
      return { store: createLocalStreamStore(folder), dispose: async () => rmSync(folder, { recursive: true, force: true }) };
    },
  ],
];
if (process.env.TEST_DATABASE_URL) {
  kinds.push([
    "the Postgres stream store",
    async () => {
      const database = await createTestDatabase("postgres");
      await setupPostgresWorld(database.url!);
      const pool = new pg.Pool({ connectionString: database.url, max: 4 });
      const store = createPostgresStreamStore(pool, logger);
      return {
        store,
        async dispose() {
          await store.close();
          await pool.end();
          await database.dispose();
        },
      };
    },
  ]);
}

describe.each(kinds)("%s", (_kind, open) => {
  let subject: StoreUnderTest;
  beforeAll(async () => {
    subject = await open();
  });
  afterAll(() => subject?.dispose());

  it("reads back what was written, in order, from any index, and says where the stream ends", async () => {
    const { store } = subject;
    const name = nextStream();
    await store.writeToStream(name, "wrun_a", bytes("a"));
    await store.writeToStreamMulti!(name, "wrun_a", ["b", "c", "d"].map(bytes));
    expect(await store.getStreamInfo(name, "wrun_a")).toEqual({ tailIndex: 3, done: false });
    await store.closeStream(name, "wrun_a");

    expect(await readAll(store, name)).toEqual(["a", "b", "c", "d"]);
    expect(await readAll(store, name, 2)).toEqual(["c", "d"]);
    expect(await readAll(store, name, -1)).toEqual(["d"]);
    expect(await readAll(store, name, 9)).toEqual([]);
    expect(await store.getStreamInfo(name, "wrun_a")).toEqual({ tailIndex: 3, done: true });
    expect(await store.listStreamsByRunId("wrun_a")).toContain(name);

    const first = await store.getStreamChunks(name, "wrun_a", { limit: 3 });
    expect(first.data.map((chunk) => [chunk.index, decoder.decode(chunk.data)])).toEqual([[0, "a"], [1, "b"], [2, "c"]]);
    expect(first).toMatchObject({ hasMore: true, done: true });
    const second = await store.getStreamChunks(name, "wrun_a", { limit: 3, cursor: first.cursor! });
    expect(second.data.map((chunk) => [chunk.index, decoder.decode(chunk.data)])).toEqual([[3, "d"]]);
    expect(second).toMatchObject({ hasMore: false, cursor: null });
  });

  it("follows a live stream: a reader gets every chunk once, in order, however its start and the writes interleave", async () => {
    const { store } = subject;
    const name = nextStream();
    const readers: Array<Promise<string[]>> = [];
    const expected: string[] = [];
    for (let index = 0; index < 30; index++) {
      if (index % 5 === 0) readers.push(readAll(store, name));
      // Not awaited one by one: appends queued together must still land in call order.
      const write = store.writeToStreamMulti!(name, "wrun_b", [bytes(`${index}.0`), bytes(`${index}.1`)]);
      expected.push(`${index}.0`, `${index}.1`);
      if (index % 3 === 0) await write;
    }
    await store.closeStream(name, "wrun_b");
    for (const texts of await within(Promise.all(readers))) expect(texts).toEqual(expected);
  });

  it("ends a reader cancelled early without disturbing the others", async () => {
    const { store } = subject;
    const name = nextStream();
    const whole = readAll(store, name);
    const firstTwo = readAll(store, name, 0, 2);
    for (const text of ["x", "y", "z"]) await store.writeToStream(name, "wrun_c", bytes(text));
    expect(await within(firstTwo)).toEqual(["x", "y"]);
    await store.closeStream(name, "wrun_c");
    expect(await within(whole)).toEqual(["x", "y", "z"]);
  });

  it("refuses no reader of a stream that does not exist yet: it waits for the first write", async () => {
    const { store } = subject;
    const name = nextStream();
    const reading = readAll(store, name);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.writeToStream(name, "wrun_d", bytes("late"));
    await store.closeStream(name, "wrun_d");
    expect(await within(reading)).toEqual(["late"]);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)("the Postgres stream store across processes", () => {
  let database: TestDatabase;
  /** One pool and store per simulated process, on one database. */
  let pools: pg.Pool[];
  let store: ReturnType<typeof createPostgresStreamStore>;
  let peer: { store: ReturnType<typeof createPostgresStreamStore>; database: string };
  let world: ReturnType<typeof createPostgresWorld>;
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    await setupPostgresWorld(database.url!);
    pools = [0, 1].map(() => new pg.Pool({ connectionString: database.url, max: 4 }));
    store = createPostgresStreamStore(pools[0]!, logger);
    peer = { store: createPostgresStreamStore(pools[1]!, logger), database: new URL(database.url!).pathname.slice(1) };
    world = createPostgresWorld({ pool: pools[0]! });
  });
  afterAll(async () => {
    await Promise.all([store?.close(), peer?.store.close(), world?.close?.()]);
    await Promise.all((pools ?? []).map((pool) => pool.end()));
    await database?.dispose();
  });

  it("is followed live by another process, also across a lost notification connection", async () => {
    const name = nextStream();
    const following = readAll(peer.store, name);
    await store.writeToStreamMulti!(name, "wrun_e", ["1", "2"].map(bytes));
    await expect.poll(async () => (await peer.store.getStreamInfo(name, "wrun_e")).tailIndex).toBe(1);

    // Both stores' LISTEN connections go away, as when the database's backends are restarted; what is
    // written before they listen again is announced to nobody, so only a look in the table finds it.
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    try {
      const listeners = "from pg_stat_activity where datname = $1 and query ilike 'listen tether_stream_chunks'";
      const ended = await admin.query(`select pg_terminate_backend(pid) ${listeners}`, [peer.database]);
      expect(ended.rowCount).toBe(2);
      await expect.poll(async () => (await admin.query(`select 1 ${listeners}`, [peer.database])).rowCount).toBe(0);
      await store.writeToStream(name, "wrun_e", bytes("3"));
      await store.closeStream(name, "wrun_e");
    } finally {
      await admin.end();
    }
    expect(await within(following, 10_000)).toEqual(["1", "2", "3"]);
  });

  it("writes streams the world reads, and reads streams the world wrote (one table, one format)", async () => {
    const ours = nextStream();
    await store.writeToStreamMulti!(ours, "wrun_f", ["p", "q"].map(bytes));
    await store.closeStream(ours, "wrun_f");
    expect(await readAll(world, ours)).toEqual(["p", "q"]);
    expect(await world.getStreamInfo(ours, "wrun_f")).toEqual({ tailIndex: 1, done: true });

    const theirs = nextStream();
    await world.writeToStreamMulti!(theirs, "wrun_f", ["r", "s", "t"].map(bytes));
    await world.closeStream(theirs, "wrun_f");
    expect(await readAll(store, theirs)).toEqual(["r", "s", "t"]);
    const page = await world.getStreamChunks(theirs, "wrun_f", { limit: 2 });
    const rest = await store.getStreamChunks(theirs, "wrun_f", { limit: 2, cursor: page.cursor! });
    expect(rest.data.map((chunk) => [chunk.index, decoder.decode(chunk.data)])).toEqual([[2, "t"]]);
  });
});
