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

/** A NUL or an unpaired surrogate, written raw or as a JSON escape: text PostgreSQL cannot store. */
const SUSPECT_TEXT = /\u0000|\\u0000|\\u[dD][89a-fA-F][0-9a-fA-F]{2}|[\ud800-\udfff]/;

/** The path of the first string (or key) in a JSON value that PostgreSQL could not store. */
export function unstorableTextAt(value: unknown, path = "body"): string | undefined {
  if (typeof value === "string") return value.includes("\u0000") || !value.isWellFormed() ? path : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = unstorableTextAt(item, `${path}.${index}`);
      if (found) return found;
    }
  } else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const found = unstorableTextAt(key, path) ?? unstorableTextAt(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Checks JSON bodies before anything parses or stores them: nesting deeper than `maxDepth`, and text
 * with a NUL or an unpaired surrogate (which PostgreSQL refuses), answer 400 naming where.
 */
export function jsonBodyGuard(maxDepth: number): MiddlewareHandler<AppEnv> {
  return async function jsonBodyGuardMiddleware(c, next) {
    const type = c.req.header("content-type") ?? "";
    if (/^application\/(.+\+)?json/i.test(type)) {
      const text = await c.req.text();
      const depth = jsonDepth(text);
      if (depth > maxDepth) {
        return errorResponse(c, "invalid_input", `body: JSON nested ${depth} levels deep; the limit is ${maxDepth}`, {
          field: "body",
        });
      }
      if (SUSPECT_TEXT.test(text)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined; // malformed JSON is the validator's to report
        }
        const field = unstorableTextAt(parsed);
        if (field) {
          return errorResponse(c, "invalid_input", `${field}: text may not contain NUL characters or unpaired surrogates`, {
            field,
          });
        }
      }
    }
    await next();
  };
}
