import { timingSafeEqual, createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { verify } from "hono/jwt";
import { LOCAL_PRINCIPAL, type Principal } from "../runs/principal";
import type { AppEnv } from "./context";
import { errorResponse } from "./errors";

export interface AuthSettings {
  /** Admin API keys. */
  apiKeys: readonly string[];
  /** HS256 secret of end users' JWTs (`sub` is the user id). */
  jwtSecret?: string;
}

export function authConfigured(settings: AuthSettings): boolean {
  return settings.apiKeys.length > 0 || settings.jwtSecret !== undefined;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Compares in constant time (hashing first makes the lengths equal). */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

async function principalOf(token: string, settings: AuthSettings): Promise<Principal | undefined> {
  if (settings.apiKeys.some((key) => sameSecret(token, key))) return { userId: "admin", admin: true };
  if (!settings.jwtSecret) return undefined;
  try {
    const payload = await verify(token, settings.jwtSecret, "HS256");
    const subject = payload.sub;
    if (typeof subject !== "string" || subject.length === 0 || subject.length > 200) return undefined;
    if (/[\u0000-\u001f\u007f]/.test(subject) || !subject.isWellFormed()) return undefined;
    // Prefixed so that no token can name itself after the admin key's or local mode's principal.
    return { userId: `user:${subject}`, admin: false };
  } catch {
    return undefined;
  }
}

/**
 * Sets who is calling. With no keys and no JWT secret the server is in local single-user mode and every
 * caller is its one (admin) user; otherwise `/api/*` and `/v1/*` need `Authorization: Bearer <admin key | user JWT>`.
 */
export function authentication(settings: AuthSettings): MiddlewareHandler<AppEnv> {
  const required = authConfigured(settings);
  return async function authenticationMiddleware(c, next) {
    if (!required) {
      c.set("principal", LOCAL_PRINCIPAL);
      return next();
    }
    if (!c.req.path.startsWith("/api/") && !c.req.path.startsWith("/v1/")) return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      return errorResponse(c, "unauthorized", "an Authorization: Bearer token is required", {}, {
        "www-authenticate": 'Bearer realm="tether"',
      });
    }
    const principal = await principalOf(match[1]!, settings);
    if (!principal) {
      return errorResponse(c, "unauthorized", "the token is not valid", {}, {
        "www-authenticate": 'Bearer realm="tether", error="invalid_token"',
      });
    }
    c.set("principal", principal);
    return next();
  };
}
