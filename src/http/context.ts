import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../logger";
import type { Principal } from "../runs/principal";

/** Variables every handler can read from the context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    principal: Principal;
  };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Gives each request an id (kept from x-request-id when sane) and a logger that stamps it on every line. */
export function requestContext(options: { logger: Logger }): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const logger = options.logger.child({ requestId });
    c.set("requestId", requestId);
    c.set("logger", logger);
    const started = performance.now();
    await next();
    // Set on the final response, whichever way the handler built it (streams are plain Responses).
    c.res.headers.set("x-request-id", requestId);
    logger.info(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      "request",
    );
  };
}
