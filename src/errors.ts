/**
 * Domain errors: thrown by db, runs, streams and agents; only src/http/ maps them to status codes.
 */

/** Marks domain errors on the prototype; Symbol.for gives every bundle's copy of this module the same key. */
const DOMAIN_ERROR = Symbol.for("tether.domain-error");

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: { field?: string; issues?: unknown[] },
  ) {
    super(message);
    this.name = new.target.name;
  }

  get [DOMAIN_ERROR]() {
    return true;
  }

  /**
   * Any domain error, whichever subclass this is called on. Checked by brand, not instanceof: the workflow
   * bundles are built separately, so a domain error thrown there is an instance of another copy of the class.
   */
  static is(error: unknown): error is DomainError {
    return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[DOMAIN_ERROR] === true;
  }
}

/** The codes domain errors carry; src/http/errors.ts adds the ones only HTTP answers with. */
export type DomainErrorCode = "not_found" | "conflict" | "invalid_input" | "gone" | "forbidden" | "unavailable" | "overloaded";

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
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    // A refusal is an answer, not a fault, and an overloaded server makes thousands a second: no stack trace.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super("overloaded", `${message}; try again in ${retryAfterSeconds} s`);
    Error.stackTraceLimit = stackTraceLimit;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Checked by brand and code, as DomainError.is, for the same reason. */
  static override is(error: unknown): error is OverloadedError {
    return (
      DomainError.is(error) &&
      error.code === "overloaded" &&
      typeof (error as Partial<OverloadedError>).retryAfterSeconds === "number"
    );
  }
}
