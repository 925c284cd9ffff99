/**
 * Domain errors: thrown by db, runs, streams and agents; only src/http/ maps them to status codes.
 */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: { field?: string; issues?: unknown[] },
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export type DomainErrorCode =
  | "not_found"
  | "conflict"
  | "invalid_input"
  | "gone"
  | "forbidden"
  | "unauthorized"
  | "unavailable"
  | "overloaded";

export class NotFoundError extends DomainError {
  constructor(entity: string, id: string) {
    super("not_found", `${entity} ${JSON.stringify(id)} not found`);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super("conflict", message);
  }
}

export class InvalidInputError extends DomainError {
  constructor(field: string, message: string) {
    super("invalid_input", message, { field });
  }
}

export class GoneError extends DomainError {
  constructor(message: string) {
    super("gone", message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super("forbidden", message);
  }
}

/** The server is at a limit it set itself; the request may be repeated after `retryAfterSeconds`. */
export class OverloadedError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super("overloaded", `${message}; try again in ${retryAfterSeconds} s`);
  }
}
