import { ConflictError, DomainError, GoneError, InvalidInputError } from "../errors.js";

/**
 * The requested offset (or a lagging reader's cursor) refers to events already dropped
 * by memory caps or expiry. HTTP maps it to 410.
 */
export class OffsetGoneError extends GoneError {
  constructor(readonly offset: string | undefined) {
    super(
      offset === undefined
        ? "The start of this stream is no longer buffered"
        : `Events after offset ${JSON.stringify(offset)} are no longer buffered`,
    );
  }
}

/**
 * The offset is malformed, belongs to another round, or lies beyond the last appended
 * event. HTTP maps it to 400.
 */
export class InvalidOffsetError extends InvalidInputError {
  constructor(
    readonly offset: string,
    reason: string,
  ) {
    super("offset", `Invalid offset ${JSON.stringify(offset)}: ${reason}`);
  }
}

/** Appending to a stream that already received its terminal event. */
export class StreamFinishedError extends ConflictError {
  constructor(readonly executionId: string) {
    super(`Stream for execution ${JSON.stringify(executionId)} is already finished`);
  }
}

/** Creating a buffer for an execution id that already has one. */
export class StreamExistsError extends ConflictError {
  constructor(readonly executionId: string) {
    super(`Stream for execution ${JSON.stringify(executionId)} already exists`);
  }
}

/** Creating a buffer after the registry was shut down. */
export class StreamRegistryShutDownError extends DomainError {
  constructor() {
    super("unavailable", "Stream buffers are shut down");
  }
}
