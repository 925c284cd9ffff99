import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { Streamer } from "./streamer";

/**
 * The local world's durable streams, kept by Tether: one append-only file per stream.
 *
 * The Workflow SDK's local world stores every chunk as its own file in one flat folder and lists that
 * folder on every read, and every live reader lists it again every 100 ms: with concurrent runs, or a
 * data folder with history, each read costs time proportional to every chunk ever written. Here a
 * stream is `<name>.log` (frames: u32 length, u8 kind, payload), a read is one file read plus an
 * in-process subscription (the local world is one process), and a write is one append of all the
 * chunks of a batch. A frame cut short by a `kill -9` is dropped on the next open.
 */

const DATA = 0;
const END = 1;
const HEADER_BYTES = 5;
const SAFE_NAME = /^[A-Za-z0-9_-]{1,200}$/;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
/** Runs whose stream names are cached (a cache: a forgotten run is read back from its file). */
const MAX_REMEMBERED_RUNS = 10_000;

interface Frames {
  chunks: Buffer[];
  closed: boolean;
  /** Bytes of whole frames; a longer file ends in a torn frame. */
  validBytes: number;
}

function parseFrames(bytes: Buffer): Frames {
  const chunks: Buffer[] = [];
  let position = 0;
  let closed = false;
  while (position + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32BE(position);
    const kind = bytes[position + 4];
    const end = position + HEADER_BYTES + length;
    if (end > bytes.length) break;
    if (kind === END) closed = true;
    else chunks.push(bytes.subarray(position + HEADER_BYTES, end));
    position = end;
    if (closed) break;
  }
  return { chunks, closed, validBytes: position };
}

function frame(kind: number, payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(payload.byteLength, 0);
  header[4] = kind;
  return Buffer.concat([header, payload]);
}

const toBytes = (chunk: string | Uint8Array): Uint8Array =>
  typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;

/** What this process knows of a stream it wrote or read: its length and whether it ended. */
interface StreamState {
  count: number;
  closed: boolean;
  /** Appends run one after another, in call order. */
  tail: Promise<void>;
}

interface Appended {
  first: number;
  chunks: Uint8Array[];
  closed: boolean;
}

type LegacyStreamer = Pick<Streamer, "readFromStream" | "getStreamInfo" | "getStreamChunks">;

/**
 * @param legacy the world's own streamer and its chunk folder: streams it wrote before this store existed
 *   (a data folder of an older version) are still read from it; it is never asked when that folder is empty.
 */
export function createLocalStreamStore(
  folder: string,
  legacy?: { streamer: LegacyStreamer; chunksFolder: string },
): Streamer & { streamFlushIntervalMs: number } {
  mkdirSync(path.join(folder, "runs"), { recursive: true });
  const legacyStreamer =
    legacy && existsSync(legacy.chunksFolder) && readdirSync(legacy.chunksFolder).length > 0 ? legacy.streamer : undefined;
  /** The legacy streamer when it, and not this store, holds the stream. */
  async function legacyHolder(name: string): Promise<LegacyStreamer | undefined> {
    if (!legacyStreamer || existsSync(fileOf(name))) return undefined;
    const info = await legacyStreamer.getStreamInfo(name, "");
    return info.tailIndex >= 0 || info.done ? legacyStreamer : undefined;
  }
  const states = new Map<string, Promise<StreamState>>();
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  const runStreams = new Map<string, Set<string>>();

  const fileOf = (name: string) => {
    if (!SAFE_NAME.test(name)) throw new Error(`invalid stream name ${JSON.stringify(name)}`);
    return path.join(folder, `${name}.log`);
  };

  async function readFrames(name: string): Promise<Frames> {
    try {
      return parseFrames(await fs.readFile(fileOf(name)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { chunks: [], closed: false, validBytes: 0 };
      throw error;
    }
  }

  /** Loads a stream's state once per process, cutting off a frame a crash left half written. */
  function stateOf(name: string): Promise<StreamState> {
    let state = states.get(name);
    if (!state) {
      state = (async () => {
        const file = fileOf(name);
        const frames = await readFrames(name);
        const size = await fs.stat(file).then((stats) => stats.size, () => 0);
        if (size > frames.validBytes) await fs.truncate(file, frames.validBytes);
        return { count: frames.chunks.length, closed: frames.closed, tail: Promise.resolve() };
      })();
      states.set(name, state);
      state.catch(() => states.delete(name));
    }
    return state;
  }

  async function rememberRun(runId: string, name: string): Promise<void> {
    let names = runStreams.get(runId);
    if (!names) {
      if (runStreams.size >= MAX_REMEMBERED_RUNS) runStreams.clear();
      names = new Set(await listStreams(runId));
      runStreams.set(runId, names);
    }
    if (names.has(name)) return;
    names.add(name);
    if (!SAFE_NAME.test(runId)) throw new Error(`invalid run id ${JSON.stringify(runId)}`);
    await fs.writeFile(path.join(folder, "runs", `${runId}.json`), JSON.stringify([...names]));
  }

  async function listStreams(runId: string): Promise<string[]> {
    if (!SAFE_NAME.test(runId)) return [];
    try {
      const names: unknown = JSON.parse(await fs.readFile(path.join(folder, "runs", `${runId}.json`), "utf8"));
      return Array.isArray(names) ? names.filter((name): name is string => typeof name === "string") : [];
    } catch {
      return [];
    }
  }

  /** Appends data chunks (and the end marker when `close`), then tells live readers. */
  async function append(name: string, runId: string, chunks: Uint8Array[], close: boolean): Promise<void> {
    const file = fileOf(name);
    await rememberRun(runId, name);
    const state = await stateOf(name);
    const done = state.tail.then(async () => {
      if (state.closed) {
        if (chunks.length === 0) return;
        throw new Error(`stream ${name} is closed`);
      }
      const frames = chunks.map((chunk) => frame(DATA, chunk));
      if (close) frames.push(frame(END, new Uint8Array(0)));
      if (frames.length === 0) return;
      await fs.appendFile(file, frames.length === 1 ? frames[0]! : Buffer.concat(frames));
      const event: Appended = { first: state.count, chunks, closed: close };
      state.count += chunks.length;
      state.closed ||= close;
      // An ended stream is only ever read again: forget it (a late write reloads it and is refused).
      if (close) states.delete(name);
      appended.emit(name, event);
    });
    state.tail = done.catch(() => undefined);
    return done;
  }

  async function readFromStream(name: string, startIndex = 0): Promise<ReadableStream<Uint8Array>> {
    const older = await legacyHolder(name);
    if (older) return older.readFromStream(name, startIndex);
    let unsubscribe = () => {};
    return new ReadableStream<Uint8Array>({
        async start(controller) {
          // Subscribe before reading the file: an append that lands meanwhile is kept and placed by index.
          const early: Appended[] = [];
          let next = -1;
          const deliver = (event: Appended) => {
            event.chunks.forEach((chunk, offset) => {
              if (event.first + offset >= next) controller.enqueue(Uint8Array.from(chunk));
            });
            next = Math.max(next, event.first + event.chunks.length);
            if (event.closed) {
              unsubscribe();
              controller.close();
            }
          };
          const listener = (event: Appended) => (next < 0 ? early.push(event) : deliver(event));
          appended.on(name, listener);
          unsubscribe = () => appended.off(name, listener);
          const stored = await readFrames(name);
          const from = startIndex < 0 ? Math.max(0, stored.chunks.length + startIndex) : startIndex;
          for (let index = from; index < stored.chunks.length; index++) controller.enqueue(Uint8Array.from(stored.chunks[index]!));
          next = Math.max(from, stored.chunks.length);
          if (stored.closed) {
            unsubscribe();
            controller.close();
            return;
          }
          for (const event of early) {
            deliver(event);
            if (event.closed) return;
          }
        },
        cancel() {
          unsubscribe();
        },
      });
  }

  return {
    // Appends are cheap and every write is awaited by its step: batching happens in the round writer.
    streamFlushIntervalMs: 0,
    writeToStream: (name, runId, chunk) => append(name, runId, [toBytes(chunk)], false),
    writeToStreamMulti: (name, runId, chunks) => append(name, runId, chunks.map(toBytes), false),
    closeStream: (name, runId) => append(name, runId, [], true),
    readFromStream,
    listStreamsByRunId: listStreams,
    async getStreamChunks(name, runId, options) {
      const older = await legacyHolder(name);
      if (older) return older.getStreamChunks(name, runId, options);
      const limit = Math.min(Math.max(options?.limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
      const start = options?.cursor ? Number(Buffer.from(options.cursor, "base64url").toString("utf8")) || 0 : 0;
      const stored = await readFrames(name);
      const page = stored.chunks.slice(start, start + limit);
      const nextIndex = start + page.length;
      const hasMore = nextIndex < stored.chunks.length;
      return {
        data: page.map((data, offset) => ({ index: start + offset, data: Uint8Array.from(data) })),
        cursor: hasMore ? Buffer.from(String(nextIndex), "utf8").toString("base64url") : null,
        hasMore,
        done: stored.closed,
      };
    },
    async getStreamInfo(name, runId) {
      const older = await legacyHolder(name);
      if (older) return older.getStreamInfo(name, runId);
      const stored = await readFrames(name);
      return { tailIndex: stored.chunks.length - 1, done: stored.closed };
    },
  };
}
