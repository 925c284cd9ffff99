import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { parseConfig } from "../../src/config";
import type { DatabaseKind } from "../../src/db/client";
import { createLogger } from "../../src/logger";
import { StreamBufferRegistry } from "../../src/streams";
import { createTether, type Tether } from "../../src/tether";
import { createTestDatabase, type TestDatabase } from "./database";

export interface TestTether {
  tether: Tether;
  database: TestDatabase;
  /** `app.request()` with JSON conveniences. */
  request(pathname: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Starts a real HTTP server on a free loopback port; answers its base URL. */
  listen(): Promise<string>;
  dispose(): Promise<void>;
}

export interface TestTetherOptions {
  /** Starts the Workflow SDK runtime too (durable runs). */
  workflows?: boolean;
  /** The idle time before a stream sends `: ping` (15 s otherwise; no environment variable sets it). */
  keepAliveMs?: number;
}

/** A whole Tether (real database, real runs, private stream buffers) for one suite. */
export async function startTestTether(
  kind: DatabaseKind,
  environment: Record<string, string> = {},
  options: TestTetherOptions = {},
): Promise<TestTether> {
  const database = await createTestDatabase(kind);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "tether-test-"));
  const config = parseConfig({
    TETHER_DATA_DIR: dataDir,
    TETHER_DEMO_TOKEN_DELAY_MS: "0",
    // Test files run in parallel on a shared machine: a busy loop there is not an overloaded server.
    TETHER_MAX_EVENT_LOOP_UTILIZATION: "0",
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...environment,
  });
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const tether = await createTether({
    config,
    database: database.handle,
    logger,
    buffers: new StreamBufferRegistry(),
    keepAliveMs: options.keepAliveMs,
  });
  let server: ServerType | undefined;
  let baseUrl: Promise<string> | undefined;
  const listen = () => {
    baseUrl ??= new Promise((resolve) => {
      server = serve({ fetch: tether.app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) =>
        resolve(`http://127.0.0.1:${info.port}`),
      );
    });
    return baseUrl;
  };
  if (options.workflows) {
    // The Postgres world's queue calls the server's workflow endpoints, so it needs a socket.
    await tether.startWorkflows(kind === "postgres" ? { baseUrl: await listen() } : {});
  }

  return {
    tether,
    database,
    request(pathname, init = {}) {
      const { json, ...rest } = init;
      if (json === undefined) return Promise.resolve(tether.app.request(pathname, rest));
      return Promise.resolve(
        tether.app.request(pathname, {
          method: "POST",
          ...rest,
          headers: { "content-type": "application/json", ...rest.headers },
          body: JSON.stringify(json),
        }),
      );
    },
    listen,
    async dispose() {
      await tether.shutdown();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await database.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SseEvent {
  id?: string;
  data: string;
}

/** Reads a whole SSE body into events (comments dropped). */
export async function readSse(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  return parseSse(text);
}

export function parseSse(text: string): SseEvent[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .flatMap((block) => {
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("id: ")) id = line.slice(4);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      return data.length > 0 ? [{ id, data: data.join("\n") }] : [];
    });
}

/** Reads an SSE body incrementally: take the first n events now, the rest later (or drop it, as a client that goes). */
export function readSseIncrementally(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let raw = "";
  let parsedUpTo = 0;
  let done = false;
  const events: SseEvent[] = [];
  const pump = async () => {
    const result = await reader.read();
    if (result.done) done = true;
    else raw += decoder.decode(result.value, { stream: true });
    const cut = raw.lastIndexOf("\n\n") + 2;
    if (cut > parsedUpTo) {
      events.push(...parseSse(raw.slice(parsedUpTo, cut)));
      parsedUpTo = cut;
    }
  };
  return {
    async take(count: number): Promise<SseEvent[]> {
      while (events.length < count && !done) await pump();
      if (events.length < count) throw new Error(`stream ended after ${events.length} events`);
      return events.slice(0, count);
    },
    async rest(): Promise<{ events: SseEvent[]; raw: string }> {
      while (!done) await pump();
      return { events, raw };
    },
    /** Disconnects, keeping what was read. */
    async cancel(): Promise<void> {
      await reader.cancel().catch(() => undefined);
    },
  };
}

/**
 * Reads a streaming body until `marker` shows up in it (a point the test waits for, such as a given
 * delta). Answers the text read so far; `rest()` reads on to the end, `cancel()` drops the connection.
 */
export async function readUntil(response: Response, marker: string) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  /** Reads one more piece; false once the body has ended. */
  const readMore = async () => {
    const { value, done } = await reader.read();
    if (!done) text += decoder.decode(value, { stream: true });
    return !done;
  };
  while (!text.includes(marker)) {
    if (!(await readMore())) throw new Error(`the stream ended before ${marker}`);
  }
  return {
    text,
    /** Everything the body carried, once it has ended. */
    async rest(): Promise<string> {
      while (await readMore());
      return text;
    },
    async cancel(): Promise<void> {
      await reader.cancel().catch(() => undefined);
    },
  };
}

/**
 * Orders two event ids as the server numbers them (`<round>.<index>`, both modes): negative when `a`
 * comes first. Clients treat offsets as opaque; tests check the order the contract promises.
 */
export function compareOffsets(a: string, b: string): number {
  const [roundA = NaN, indexA = NaN] = a.split(".").map(Number);
  const [roundB = NaN, indexB = NaN] = b.split(".").map(Number);
  return roundA - roundB || indexA - indexB;
}

/** The chunks of an SSE body (the [DONE] sentinel excluded). */
export function chunksOf(events: SseEvent[]): Array<Record<string, unknown> & { type: string }> {
  return events.filter((event) => event.data !== "[DONE]").map((event) => JSON.parse(event.data));
}

/** The text a UI message stream's text deltas add up to. */
export function textOf(chunks: Array<{ type: string; delta?: unknown }>): string {
  return chunks.flatMap((chunk) => (chunk.type === "text-delta" ? [String(chunk.delta)] : [])).join("");
}

/** The text the demo model streams for `count to n`: "1 2 … n". */
export const countText = (n: number) => Array.from({ length: n }, (_, index) => index + 1).join(" ");

export function userMessage(text: string, id = `u_${Math.random().toString(36).slice(2)}`) {
  return { id, role: "user" as const, parts: [{ type: "text" as const, text }] };
}

/** Polls until the check passes (for state another task writes); fails after the timeout. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
