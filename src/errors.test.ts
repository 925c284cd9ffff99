import { describe, expect, it } from "vitest";
import { DomainError, NotFoundError, OverloadedError } from "./errors";

describe("domain errors", () => {
  it("a refusal carries no stack trace (thousands a second under overload) and leaves the limit as it was", () => {
    const limit = Error.stackTraceLimit;
    const refusal = new OverloadedError("this server is busy", 3);
    expect(refusal.stack).not.toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(OverloadedError.is(refusal)).toBe(true);
    expect(refusal).toMatchObject({ code: "overloaded", retryAfterSeconds: 3, message: "this server is busy; try again in 3 s" });
  });

  it("other domain errors keep their stack trace", () => {
    const missing = new NotFoundError("agent", "a1");
    expect(missing.stack).toMatch(/\n\s+at /);
    expect(DomainError.is(missing) && !OverloadedError.is(missing)).toBe(true);
  });
});
