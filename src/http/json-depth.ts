import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context";
import { errorResponse } from "./errors";

/** The deepest nesting of objects and arrays in a JSON text, found without parsing it (strings skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const character = text.charCodeAt(index);
    if (inString) {
      if (character === 92 /* \ */) index++;
      else if (character === 34 /* " */) inString = false;
    } else if (character === 34) {
      inString = true;
    } else if (character === 123 /* { */ || character === 91 /* [ */) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (character === 125 /* } */ || character === 93 /* ] */) {
      depth--;
    }
  }
  return deepest;
}

/** Refuses JSON bodies nested deeper than `maxDepth` before anything parses or stores them. */
export function jsonDepthLimit(maxDepth: number): MiddlewareHandler<AppEnv> {
  return async function jsonDepthLimitMiddleware(c, next) {
    const type = c.req.header("content-type") ?? "";
    if (/^application\/(.+\+)?json/i.test(type)) {
      const depth = jsonDepth(await c.req.text());
      if (depth > maxDepth) {
        return errorResponse(c, 400, "invalid_input", `body: JSON nested ${depth} levels deep; the limit is ${maxDepth}`, {
          field: "body",
        });
      }
    }
    await next();
  };
}
