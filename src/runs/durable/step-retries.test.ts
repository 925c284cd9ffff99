import { APICallError, LoadAPIKeyError } from "ai";
import { describe, expect, it } from "vitest";
import { DomainError, NotFoundError, OverloadedError } from "../../errors";
import { isPermanentError } from "./step-retries";

const apiError = (statusCode: number) =>
  new APICallError({ message: `status ${statusCode}`, url: "https://provider.test", requestBodyValues: {}, statusCode });

describe("isPermanentError", () => {
  it("follows a provider's own verdict: 4xx is permanent; 408, 429 and 5xx are not", () => {
    expect(isPermanentError(apiError(401))).toBe(true);
    expect(isPermanentError(apiError(400))).toBe(true);
    expect(isPermanentError(apiError(429))).toBe(false);
    expect(isPermanentError(apiError(408))).toBe(false);
    expect(isPermanentError(apiError(503))).toBe(false);
  });

  it("takes an AI SDK error about the request (a missing key) as permanent, and a plain error as not", () => {
    expect(isPermanentError(new LoadAPIKeyError({ message: "OPENAI_API_KEY is missing" }))).toBe(true);
    expect(isPermanentError(new Error("ECONNRESET"))).toBe(false);
  });

  it("takes Tether's domain errors as permanent, except refusals for load or readiness", () => {
    expect(isPermanentError(new NotFoundError("agent", "gone"))).toBe(true);
    expect(isPermanentError(new DomainError("unavailable", "starting"))).toBe(false);
    expect(isPermanentError(new OverloadedError("busy", 2))).toBe(false);
  });
});
