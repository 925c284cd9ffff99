import { describe, expect, it } from "vitest";
import { createRedactor, redactSecrets } from "./redact";

describe("redactSecrets", () => {
  it("masks every occurrence of each secret", () => {
    expect(redactSecrets("key sk-live-1234 and again sk-live-1234.", ["sk-live-1234"])).toBe("key [redacted] and again [redacted].");
  });

  it("masks a secret that contains another one whole, whatever the order given", () => {
    const secrets = ["token", "Bearer token-xyz"];
    expect(redactSecrets("authorization: Bearer token-xyz", secrets)).toBe("authorization: [redacted]");
    expect(createRedactor([...secrets].reverse())("authorization: Bearer token-xyz")).toBe("authorization: [redacted]");
  });

  it("leaves values too short to be a secret alone", () => {
    expect(redactSecrets("a b abc", ["a", "abc"])).toBe("a b abc");
  });
});
