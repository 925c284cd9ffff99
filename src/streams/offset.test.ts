import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { comparePositions, encodeOffset, parseOffset } from "./offset";

describe("offset codec", () => {
  it("encodes as <round>.<index>", () => {
    expect(encodeOffset({ round: 0, index: 15 })).toBe("0.15");
    expect(encodeOffset({ round: 3, index: 0 })).toBe("3.0");
  });

  it("round-trips every non-negative safe integer pair", () => {
    const component = fc.oneof(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    );
    fc.assert(
      fc.property(component, component, (round, index) => {
        expect(parseOffset(encodeOffset({ round, index }))).toEqual({ round, index });
      }),
    );
  });

  it.each([
    "",
    "0",
    ".",
    "0.",
    ".0",
    "-1.0",
    "0.-1",
    "+0.1",
    "0.+1",
    " 0.1",
    "0.1 ",
    "0 .1",
    "0.1\n",
    "0.1.2",
    "1.5e3",
    "0.1.5",
    "0x1.0",
    "01.2",
    "0.007",
    "a.b",
    "0,1",
    "Infinity.0",
    "NaN.0",
    `0.${Number.MAX_SAFE_INTEGER + 1}`,
    `${Number.MAX_SAFE_INTEGER + 1}.0`,
    "0.99999999999999999999",
  ])("rejects %j", (text) => {
    expect(parseOffset(text)).toBeUndefined();
  });

  it("accepts the largest safe integer", () => {
    expect(parseOffset(`0.${Number.MAX_SAFE_INTEGER}`)).toEqual({
      round: 0,
      index: Number.MAX_SAFE_INTEGER,
    });
  });

  it("refuses to encode invalid positions", () => {
    expect(() => encodeOffset({ round: -1, index: 0 })).toThrow(RangeError);
    expect(() => encodeOffset({ round: 0, index: 1.5 })).toThrow(RangeError);
    expect(() => encodeOffset({ round: 0, index: Number.MAX_SAFE_INTEGER + 1 })).toThrow(RangeError);
    expect(() => encodeOffset({ round: Number.NaN, index: 0 })).toThrow(RangeError);
  });

  it("orders by round then index, numerically", () => {
    expect(comparePositions({ round: 0, index: 9 }, { round: 0, index: 10 })).toBeLessThan(0);
    expect(comparePositions({ round: 1, index: 0 }, { round: 0, index: 99 })).toBeGreaterThan(0);
    expect(comparePositions({ round: 2, index: 3 }, { round: 2, index: 3 })).toBe(0);
    const sorted = ["0.10", "1.0", "0.2", "0.0"]
      .map((text) => parseOffset(text)!)
      .sort(comparePositions)
      .map(encodeOffset);
    expect(sorted).toEqual(["0.0", "0.2", "0.10", "1.0"]);
  });
});
