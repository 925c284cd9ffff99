import { APICallError } from "@ai-sdk/provider";
import { LoadAPIKeyError, RetryError } from "ai";
import { describe, expect, it } from "vitest";
import { isPermanentError } from "../durable/step-retries";
import { describeError, errorOf } from "./protocol";

const callError = (statusCode: number) =>
  new APICallError({ message: `status ${statusCode}`, url: "https://api.example", requestBodyValues: {}, statusCode });
const crossed = (error: unknown) => errorOf(describeError(error));

describe("a model error crossing from a model worker", () => {
  it("keeps what a durable round's retries decide on: permanent or not", () => {
    for (const error of [callError(401), new LoadAPIKeyError({ message: "no key" })]) {
      expect(isPermanentError(error)).toBe(true);
      expect(isPermanentError(crossed(error))).toBe(true);
    }
    const exhausted = new RetryError({ message: "gave up", reason: "maxRetriesExceeded", errors: [callError(503), callError(429)] });
    for (const error of [callError(429), callError(503), exhausted, new Error("socket hang up")]) {
      expect(isPermanentError(error)).toBe(false);
      expect(isPermanentError(crossed(error))).toBe(false);
    }
  });

  it("keeps its message and name", () => {
    expect(crossed(callError(401))).toMatchObject({ message: "status 401", name: "AI_APICallError" });
  });
});
