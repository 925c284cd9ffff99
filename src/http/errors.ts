import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { DomainError, OverloadedError, type DomainErrorCode } from "../errors";
import type { AppEnv } from "./context";

/** The one JSON error shape of every 4xx and 5xx. */
export interface ErrorBody {
  error: { code: string; message: string; requestId?: string; field?: string; issues?: unknown[] };
}

const STATUS_OF: Record<DomainErrorCode, ContentfulStatusCode> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  unavailable: 503,
  overloaded: 503,
};

const CODE_OF_STATUS: Partial<Record<number, string>> = {
  400: "invalid_input",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  410: "gone",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

export function errorResponse(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  extra: { field?: string; issues?: unknown[] } = {},
  headers?: Record<string, string>,
) {
  const body: ErrorBody = { error: { code, message, requestId: c.get("requestId"), ...extra } };
  return c.json(body, status, headers);
}

/** Turns a zod error into the error body: the first issue's path names the field. */
export function validationErrorResponse(c: Context<AppEnv>, error: ZodError, source: string) {
  const issues = error.issues.map((issue) => ({
    path: [source, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
  const first = issues[0];
  return errorResponse(c, 400, "invalid_input", first ? `${first.path}: ${first.message}` : "invalid input", {
    field: first?.path,
    issues,
  });
}

/** app.onError: domain errors get their status; anything unexpected is logged and answered with a fixed 500. */
export function handleError(error: Error, c: Context<AppEnv>) {
  if (error instanceof OverloadedError) {
    return errorResponse(c, 503, error.code, error.message, {}, { "retry-after": String(error.retryAfterSeconds) });
  }
  if (error instanceof DomainError) {
    return errorResponse(c, STATUS_OF[error.code], error.code, error.message, { field: error.details?.field });
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    return errorResponse(c, status, CODE_OF_STATUS[status] ?? "http_error", error.message || "request failed");
  }
  c.get("logger")?.error({ error: error.message, stack: error.stack }, "unhandled error");
  return errorResponse(c, 500, "internal_error", "Something went wrong; the request id identifies it in the logs.");
}
