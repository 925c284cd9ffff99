import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import pg from "pg";
import type { Logger } from "../../logger";
import { createChunkIds } from "./chunk-ids";
import type { Streamer } from "./streamer";

/**
 * The Postgres world's durable streams, kept by Tether in the world's own table
 * (`workflow.workflow_stream_chunks`, so streams written before are read as they were).
 *
 * The world's streamer makes a chunk visible in three round trips after the write (the insert, then a
 * `pg_notify` of its own, then every listening process selects the chunk by id), one `pg_notify` per
 * chunk of a burst. Here a burst is one statement that inserts its rows and notifies once, at commit;
 * readers in the writing process get the rows from memory as soon as the statement returns, and
 * readers in other processes fetch everything after the last chunk they hold, once per notification.
 * A lost LISTEN connection is reopened, and every live reader then catches up from the table.
 */
const TABLE = "workflow.workflow_stream_chunks";
const CHANNEL = "tether_stream_chunks";
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const RELISTEN_DELAY_MS = 500;
/** Sorts after every chunk id (`chnk_` + 26 Crockford characters). */
const AFTER_EVERY_ID = "chnk_~";

interface Row {
  id: string;
  data: Buffer;
  eof: boolean;
}

interface Notice {
  /** The stream. */
  s: string;
  /** The process that wrote (it told its own readers already). */
  p: string;
}

/** What a live reader is told: rows of its stream, or that it must look in the table for what it missed. */
type Update = { rows: Row[] } | { catchUp: true };

export function createPostgresStreamStore(pool: pg.Pool, logger: Logger): Streamer & { close(): Promise<void> } {
  const processToken = randomBytes(8).toString("hex");
  const nextChunkId = createChunkIds("chnk_");
  const updates = new EventEmitter();
  updates.setMaxListeners(0);
  let closed = false;
  let listener: pg.Client | undefined;
  let relistenTimer: NodeJS.Timeout | undefined;

  async function listen(): Promise<void> {
    const client = new pg.Client(pool.options);
    client.on("error", () => undefined);
    client.on("end", () => {
      if (listener !== client || closed) return;
      listener = undefined;
      logger.warn("stream notifications lost; listening again");
      relistenTimer = setTimeout(() => void listenAndCatchUp(), RELISTEN_DELAY_MS);
    });
    client.on("notification", (message) => {
      let notice: Notice;
      try {
        notice = JSON.parse(message.payload ?? "") as Notice;
      } catch {
        return;
      }
      if (notice.p !== processToken) updates.emit(notice.s, { catchUp: true } satisfies Update);
    });
    await client.connect();
    await client.query(`listen ${CHANNEL}`);
    if (closed) await client.end();
    else listener = client;
  }

  async function listenAndCatchUp(): Promise<void> {
    try {
      await listen();
    } catch (error) {
      if (closed) return;
      logger.warn({ error: (error as Error).message }, "could not listen for stream notifications; trying again");
      relistenTimer = setTimeout(() => void listenAndCatchUp(), RELISTEN_DELAY_MS);
      return;
    }
    // Notifications sent while nobody listened are gone: every live reader looks in the table.
    for (const name of updates.eventNames()) updates.emit(name, { catchUp: true } satisfies Update);
  }
  const listening = listen().catch((error: Error) => {
    logger.warn({ error: error.message }, "could not listen for stream notifications; trying again");
    relistenTimer = setTimeout(() => void listenAndCatchUp(), RELISTEN_DELAY_MS);
  });

  /** Appends of one stream run one after another in this process, so its readers get ids in order. */
  const appendTails = new Map<string, Promise<void>>();
  function append(name: string, runId: string | Promise<string>, chunks: Uint8Array[], eof: boolean): Promise<void> {
    const done = (appendTails.get(name) ?? Promise.resolve()).then(() => insert(name, runId, chunks, eof));
    const tail = done.catch(() => undefined);
    appendTails.set(name, tail);
    void tail.then(() => {
      if (appendTails.get(name) === tail) appendTails.delete(name);
    });
    return done;
  }

  async function insert(name: string, runId: string | Promise<string>, chunks: Uint8Array[], eof: boolean) {
    const rows: Row[] = chunks.map((chunk) => ({ id: nextChunkId(), data: Buffer.from(chunk), eof: false }));
    if (eof) rows.push({ id: nextChunkId(), data: Buffer.alloc(0), eof: true });
    if (rows.length === 0) return;
    const notice: Notice = { s: name, p: processToken };
    // One statement: the rows and the notification commit together, or neither does.
    await pool.query(
      `with written as (
         insert into ${TABLE} (id, stream_id, run_id, data, eof)
         select id, $1, $2, data, eof from unnest($3::varchar[], $4::bytea[], $5::boolean[]) as chunk(id, data, eof)
         returning 1
       )
       select pg_notify($6, $7) from (select count(*) from written) as done`,
      [name, await runId, rows.map((row) => row.id), rows.map((row) => row.data), rows.map((row) => row.eof), CHANNEL, JSON.stringify(notice)],
    );
    updates.emit(name, { rows } satisfies Update);
  }

  /** Rows of a stream after `afterId`, up to and including its first end marker. */
  async function rowsAfter(name: string, afterId: string): Promise<Row[]> {
    const result = await pool.query<Row>(
      `select id, data, eof from ${TABLE} where stream_id = $1 and id > $2 order by id`,
      [name, afterId],
    );
    const end = result.rows.findIndex((row) => row.eof);
    return end === -1 ? result.rows : result.rows.slice(0, end + 1);
  }

  async function readFromStream(name: string, startIndex = 0): Promise<ReadableStream<Uint8Array>> {
    await listening;
    let stop = () => {};
    let ended = false;
    return new ReadableStream<Uint8Array>({
      start(controller) {
        let lastId = "";
        let toSkip = Math.max(startIndex, 0);
        /** Live updates that arrive before the stored rows are read. */
        let early: Update[] | undefined = [];
        let fetching: Promise<void> | undefined;
        let fetchAgain = false;

        const deliver = (rows: Row[]) => {
          for (const row of rows) {
            if (ended || row.id <= lastId) continue;
            lastId = row.id;
            if (row.eof) {
              ended = true;
              stop();
              controller.close();
              return;
            }
            if (toSkip > 0) toSkip -= 1;
            else controller.enqueue(new Uint8Array(row.data));
          }
        };
        const catchUp = () => {
          if (fetching) {
            fetchAgain = true;
            return;
          }
          fetching = (async () => {
            do {
              fetchAgain = false;
              deliver(await rowsAfter(name, lastId));
            } while (fetchAgain && !ended);
          })()
            .catch((error: Error) => {
              if (ended) return;
              ended = true;
              stop();
              controller.error(error);
            })
            .finally(() => (fetching = undefined));
        };
        const onUpdate = (update: Update) => {
          if (early) early.push(update);
          else if ("rows" in update) deliver(update.rows);
          else catchUp();
        };
        updates.on(name, onUpdate);
        stop = () => updates.off(name, onUpdate);

        // Subscribed before the stored rows are read: a write that lands meanwhile is kept, placed by id.
        void rowsAfter(name, "").then(
          (stored) => {
            if (startIndex < 0) {
              const data = stored.filter((row) => !row.eof).length;
              toSkip = Math.max(0, data + startIndex);
            }
            deliver(stored);
            const pending = early ?? [];
            early = undefined;
            for (const update of pending) onUpdate(update);
          },
          (error: Error) => {
            if (ended) return;
            ended = true;
            stop();
            controller.error(error);
          },
        );
      },
      cancel() {
        ended = true;
        stop();
      },
    });
  }

  /** The end marker's id (undefined while the stream is open) and how many data chunks came before it. */
  async function streamTail(name: string): Promise<{ endId?: string; count: number }> {
    const result = await pool.query<{ end_id: string | null; count: string }>(
      `with stream_end as (select min(id) as id from ${TABLE} where stream_id = $1 and eof)
       select (select id from stream_end) as end_id, count(*) as count
       from ${TABLE} where stream_id = $1 and not eof and id < coalesce((select id from stream_end), $2)`,
      [name, AFTER_EVERY_ID],
    );
    const row = result.rows[0];
    return { endId: row?.end_id ?? undefined, count: Number(row?.count ?? 0) };
  }

  return {
    writeToStream: (name, runId, chunk) => append(name, runId, [toBytes(chunk)], false),
    writeToStreamMulti: (name, runId, chunks) => append(name, runId, chunks.map(toBytes), false),
    closeStream: (name, runId) => append(name, runId, [], true),
    readFromStream,
    async listStreamsByRunId(runId) {
      const result = await pool.query<{ stream_id: string }>(`select distinct stream_id from ${TABLE} where run_id = $1`, [runId]);
      return result.rows.map((row) => row.stream_id);
    },
    async getStreamChunks(name, _runId, options) {
      const limit = Math.min(Math.max(options?.limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
      const cursor = parseCursor(options?.cursor);
      const tail = await streamTail(name);
      const result = await pool.query<{ id: string; data: Buffer }>(
        `select id, data from ${TABLE} where stream_id = $1 and not eof and id > $2 and id < $3 order by id limit $4`,
        [name, cursor.afterId, tail.endId ?? AFTER_EVERY_ID, limit + 1],
      );
      const page = result.rows.slice(0, limit);
      const hasMore = result.rows.length > limit;
      const last = page.at(-1);
      return {
        data: page.map((row, offset) => ({ index: cursor.index + offset, data: new Uint8Array(row.data) })),
        cursor: hasMore && last ? formatCursor(last.id, cursor.index + page.length) : null,
        hasMore,
        done: tail.endId !== undefined,
      };
    },
    async getStreamInfo(name) {
      const tail = await streamTail(name);
      return { tailIndex: tail.count - 1, done: tail.endId !== undefined };
    },
    async close() {
      closed = true;
      clearTimeout(relistenTimer);
      await listening;
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}

const toBytes = (chunk: string | Uint8Array): Uint8Array => (typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);

// The world's cursor format (base64 JSON of the last chunk id and the next index), so a cursor handed out
// before this store existed still reads on.
function parseCursor(cursor: string | undefined): { afterId: string; index: number } {
  if (!cursor) return { afterId: "", index: 0 };
  try {
    const decoded = JSON.parse(Buffer.from(cursor, "base64").toString("utf8")) as { c?: unknown; i?: unknown };
    return {
      afterId: typeof decoded.c === "string" ? decoded.c : "",
      index: typeof decoded.i === "number" ? decoded.i : 0,
    };
  } catch {
    return { afterId: "", index: 0 };
  }
}

const formatCursor = (lastId: string, nextIndex: number) =>
  Buffer.from(JSON.stringify({ c: lastId, i: nextIndex })).toString("base64");
