import type { ToolServerHeader } from "../../../drizzle/schema";
import type { CredentialStore } from "../credentials";
import { ToolServerUnavailable } from "./errors";

/** An HTTP header name (RFC 9110 `token`). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

/** A credential name as `TETHER_CREDENTIAL_<NAME>` defines it (the store ignores case). */
export const CREDENTIAL_NAME = /^[A-Za-z0-9_]{1,100}$/;

/** Headers the MCP transports set themselves; a configured value would break the protocol or the request. */
export const RESERVED_HEADERS = new Set([
  "accept",
  "connection",
  "content-length",
  "content-type",
  "host",
  "mcp-protocol-version",
  "mcp-session-id",
  "transfer-encoding",
]);

/** What an API answer shows of a header: the credential's name, never a value. */
export type HeaderView = { credential: string; prefix?: string } | { value: "***" };

export function headerViews(headers: Readonly<Record<string, ToolServerHeader>>): Record<string, HeaderView> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, header]) => [
      name,
      "credential" in header
        ? { credential: header.credential, ...(header.prefix === undefined ? {} : { prefix: header.prefix }) }
        : { value: "***" as const },
    ]),
  );
}

/** Credential names the headers use that the store does not hold, with the header that uses each. */
export function missingCredentials(
  headers: Readonly<Record<string, ToolServerHeader>>,
  credentials: CredentialStore,
): Array<{ header: string; credential: string }> {
  return Object.entries(headers).flatMap(([header, spec]) =>
    "credential" in spec && credentials.get(spec.credential) === undefined ? [{ header, credential: spec.credential }] : [],
  );
}

/**
 * The header values to send, looked up at the moment of use. Answers the values too, so that whatever
 * quotes them later (a server's error message) can be masked.
 */
export function resolveHeaders(
  headers: Readonly<Record<string, ToolServerHeader>>,
  credentials: CredentialStore,
): { headers: Record<string, string>; secrets: string[] } {
  const resolved: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [name, spec] of Object.entries(headers)) {
    if ("value" in spec) {
      resolved[name] = spec.value;
      secrets.push(spec.value);
      continue;
    }
    const value = credentials.get(spec.credential);
    if (value === undefined) {
      throw new ToolServerUnavailable(
        "credentials",
        `header ${name} needs credential ${spec.credential}, which is not configured (TETHER_CREDENTIAL_${spec.credential.toUpperCase()})`,
      );
    }
    resolved[name] = `${spec.prefix ?? ""}${value}`;
    secrets.push(value, resolved[name]);
  }
  return { headers: resolved, secrets };
}
