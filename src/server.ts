import type { Server as HttpServer } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { parseConfig } from "./config";
import { openDatabase } from "./db/client";
import { duplicateListeningSocket } from "./http/accept-handles";
import { authConfigured } from "./http/auth";
import { createLogger } from "./logger";
import { createTether } from "./tether";

const LOOPBACK = "127.0.0.1";
/**
 * Connections the kernel may queue before they are accepted. Node's default (511) drops connections when
 * hundreds of clients connect at once (they see resets and connect timeouts); the kernel caps it at somaxconn.
 */
const ACCEPT_BACKLOG = 4096;
/**
 * How long an idle connection stays open. Node's 5 s is shorter than the Retry-After a refusal may carry
 * (up to 5 s, and clients spread their retries around it): a client sending again on its kept-alive
 * connection just as the server closed it got a reset instead of an answer. 30 s also spares an accept per
 * retry, and accepting is what a loaded server does least often (one connection per loop iteration).
 */
const IDLE_CONNECTION_MS = 30_000;
/**
 * Handles on the listening socket (see duplicateListeningSocket): connections a loaded loop accepts per
 * iteration. 200 resumes at once otherwise waited 200 iterations.
 */
const ACCEPT_HANDLES = 16;

/** Where the other processes on this machine reach this one when TETHER_INTERNAL_URL does not say. */
function defaultInternalUrl(host: string, port: number): string {
  const reachable = host === "0.0.0.0" || host === "::" ? LOOPBACK : host;
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
}

async function main() {
  const config = parseConfig();
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets });
  const withAuth = authConfigured(config.auth);
  const host = config.host ?? LOOPBACK;
  if (!withAuth && host !== LOOPBACK && host !== "localhost" && host !== "::1") {
    throw new Error(`refusing to listen on ${host} without auth: set TETHER_API_KEYS or TETHER_JWT_SECRET`);
  }

  const database = await openDatabase(config.database);
  const tether = await createTether({ config, database, logger, startsWorkflows: true });
  const httpServer = () => {
    const created = createAdaptorServer({ fetch: tether.app.fetch }) as HttpServer;
    created.keepAliveTimeout = IDLE_CONNECTION_MS;
    return created;
  };
  const server = httpServer();
  const port = await new Promise<number>((resolve) => {
    server.listen(config.port, host, ACCEPT_BACKLOG, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : config.port);
    });
  });
  // Every server answers with the same app; each listens on its own descriptor of the one socket.
  const servers: HttpServer[] = [server];
  for (const handle of await duplicateListeningSocket(server, ACCEPT_HANDLES - 1)) servers.push(httpServer().listen(handle as never));
  if (servers.length < ACCEPT_HANDLES) logger.warn("the listening socket has one handle: a loaded server accepts one connection per loop turn");
  tether.advertiseAt(config.internalUrl ?? defaultInternalUrl(host, port));
  // The world's queue calls this server back on loopback, whatever address it listens on.
  await tether.startWorkflows({ baseUrl: `http://localhost:${port}` });
  logger.info(
    { url: `http://${host}:${port}`, db: database.kind, mode: withAuth ? "auth" : "local single-user" },
    withAuth ? "ready: listening" : "ready: listening in local single-user mode (no auth configured; loopback only)",
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const closed = Promise.race([
      Promise.all(servers.map((each) => new Promise<void>((resolve) => each.close(() => resolve())))),
      new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref()),
    ]);
    await tether.shutdown();
    for (const each of servers) each.closeIdleConnections();
    await closed;
    await database.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
