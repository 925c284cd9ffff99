/**
 * Errors of MCP tool servers. Their messages are redacted when made: they may quote what a server
 * answered, and a server may echo a header it was sent.
 */

const TOOL_CALL_FAILURE = Symbol.for("tether.tool-call-failure");

/**
 * A tool call that failed in a way the model should be told about (server down, error result, timeout):
 * the turn goes on with a `tool-output-error`, it is not a failure of the run.
 */
export class ToolCallFailure extends Error {
  readonly [TOOL_CALL_FAILURE] = true;
  constructor(message: string) {
    super(message);
    this.name = "ToolCallFailure";
  }
}

/** Checked by brand, not instanceof: the workflow step bundle has its own copy of this module. */
export function isToolCallFailure(error: unknown): error is ToolCallFailure {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[TOOL_CALL_FAILURE] === true;
}

/** Why a tool server could not be used. */
export type ToolServerProblem = "unreachable" | "not_mcp" | "rejected" | "credentials";

export class ToolServerUnavailable extends Error {
  constructor(
    readonly problem: ToolServerProblem,
    message: string,
  ) {
    super(message);
    this.name = "ToolServerUnavailable";
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

function networkCodeOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The HTTP status an MCP transport error carries (the SSE transport only says it in its message). */
function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === "number") return status;
  const match = /^MCP SSE Transport Error: (\d{3})\b/.exec(error instanceof Error ? error.message : "");
  return match ? Number(match[1]) : undefined;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Sorts a failure to connect into "cannot be reached" (nothing answered, or not in time), "refused the
 * credentials" (401/403) and "does not speak MCP" (it answered, but not as an MCP server would).
 */
export function describeConnectFailure(
  error: unknown,
  context: { url: string; timeoutMs: number; redact: (text: string) => string },
): ToolServerUnavailable {
  if (error instanceof ToolServerUnavailable) return error;
  const message = messageOf(error);
  const code = networkCodeOf(error);
  if (code || /fetch failed|timed out|aborted/i.test(message)) {
    const reason = code ?? (/timed out/i.test(message) ? `no answer within ${context.timeoutMs} ms` : message);
    return new ToolServerUnavailable("unreachable", context.redact(`the tool server at ${context.url} cannot be reached (${reason})`));
  }
  const status = httpStatusOf(error);
  if (status === 401 || status === 403) {
    return new ToolServerUnavailable("rejected", `the tool server at ${context.url} refused the credentials (HTTP ${status})`);
  }
  const detail = status === undefined ? message : `HTTP ${status}`;
  return new ToolServerUnavailable(
    "not_mcp",
    context.redact(`the server at ${context.url} does not speak MCP over this transport (${detail.slice(0, 300)})`),
  );
}
