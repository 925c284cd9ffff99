import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import type { ToolServerProblem } from "../agents/mcp";
import { DomainError, OverloadedError, type DomainErrorCode } from "../errors";
import type { AppEnv } from "./context";

/**
 * Every code an error answer can carry, with the status it answers with: the one list of them. It holds
 * every domain code (checked) and the codes only HTTP answers with.
 */
const STATUS_OF = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  tool_server_unreachable: 422,
  tool_server_not_mcp: 422,
  tool_server_rejected: 422,
  tool_server_credentials: 422,
  // An HTTPException of a status no other code stands for; it answers with the exception's own status.
  http_error: 500,
  internal_error: 500,
  unavailable: 503,
  overloaded: 503,
} as const satisfies Record<DomainErrorCode | `tool_server_${ToolServerProblem}`, ContentfulStatusCode> &
  Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof STATUS_OF;

/** For the OpenAPI error schema's enum. */
export const ERROR_CODES = Object.keys(STATUS_OF) as [ErrorCode, ...ErrorCode[]];

/** The codes an HTTPException (thrown by Hono and its middleware) is answered with, found by its status. */
const HTTP_EXCEPTION_CODES = [
  "invalid_input",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "conflict",
  "gone",
  "payload_too_large",
  "unsupported_media_type",
] as const satisfies readonly ErrorCode[];

const CODE_OF_HTTP_EXCEPTION_STATUS = new Map<number, ErrorCode>(HTTP_EXCEPTION_CODES.map((code) => [STATUS_OF[code], code]));

type ErrorDetails = { field?: string; issues?: unknown[] };

/** The one JSON error shape of every 4xx and 5xx. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId?: string } & ErrorDetails;
}

/** An error answer with the status the table gives its code. */
export function errorResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  details: ErrorDetails = {},
  headers?: Record<string, string>,
) {
  return errorResponseWithStatus(c, STATUS_OF[code], code, message, details, headers);
}

function errorResponseWithStatus(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: ErrorCode,
  message: string,
  details: ErrorDetails = {},
  headers?: Record<string, string>,
) {
  const body: ErrorBody = { error: { code, message, requestId: c.get("requestId"), ...details } };
  return c.json(body, status, headers);
}

/** Turns a zod error into the error body: the first issue's path names the field. */
export function validationErrorResponse(c: Context<AppEnv>, error: ZodError, source: string) {
  const issues = error.issues.map((issue) => ({
    path: [source, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
  const first = issues[0];
  return errorResponse(c, "invalid_input", first ? `${first.path}: ${first.message}` : "invalid input", {
    field: first?.path,
    issues,
  });
}

/**
 * app.onError: domain errors get their status; anything unexpected is logged and answered with a fixed 500.
 * Domain errors are recognised with `is`, not instanceof: those thrown in a workflow bundle come from its own copy of src/errors.ts.
 */
export function handleError(error: Error, c: Context<AppEnv>) {
  if (OverloadedError.is(error)) {
    return errorResponse(c, error.code, error.message, {}, { "retry-after": String(error.retryAfterSeconds) });
  }
  if (DomainError.is(error)) {
    return errorResponse(c, error.code, error.message, { field: error.details?.field });
  }
  if (error instanceof HTTPException) {
    // The exception's status is kept, also where the table has no code for it (then `http_error`).
    const status = error.status as ContentfulStatusCode;
    const code = CODE_OF_HTTP_EXCEPTION_STATUS.get(status) ?? "http_error";
    return errorResponseWithStatus(c, status, code, error.message || "request failed");
  }
  c.get("logger")?.error({ error: error.message, stack: error.stack }, "unhandled error");
  return errorResponse(c, "internal_error", "Something went wrong; the request id identifies it in the logs.");
}
