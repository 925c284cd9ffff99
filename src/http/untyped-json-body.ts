import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";

/** The type fetch gives a string body when its caller set none (`text/plain;charset=UTF-8`), and no type at all. */
const UNTYPED = /^(|text\/plain\s*(;\s*charset="?utf-8"?\s*)?)$/i;

/**
 * Reads a body that names no type of its own as JSON: WorkflowChatTransport (`@workflow/ai`) posts its JSON
 * without a content-type, so fetch sends `text/plain;charset=UTF-8` (or nothing, for a byte body). Such a
 * request gets `content-type: application/json` before anything checks or parses the body, so the JSON
 * guards and the 400 for a body that is not JSON apply as usual; any other type keeps its 415.
 *
 * Not for a cross-site browser request: a JSON content-type is what makes a browser ask first (a CORS
 * preflight, which Tether does not grant); without it any web page could start turns on a local server.
 */
export function untypedBodyAsJson(): MiddlewareHandler<AppEnv> {
  return async function untypedBodyAsJsonMiddleware(c, next) {
    const untyped = UNTYPED.test((c.req.header("content-type") ?? "").trim());
    if (c.req.method === "POST" && untyped && c.req.header("sec-fetch-site") !== "cross-site") {
      const headers = new Headers(c.req.raw.headers);
      headers.set("content-type", "application/json");
      c.req.raw = new Request(c.req.raw, { headers });
    }
    await next();
  };
}
