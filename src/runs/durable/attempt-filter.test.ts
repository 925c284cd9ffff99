import type { UIMessageChunk } from "ai";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AttemptFilter, type AttemptVerdict } from "./attempt-filter";
import type { TaggedChunk } from "./rounds";

const STEP = "step_tools";

const delta = (text: string): UIMessageChunk => ({ type: "text-delta", id: "t", delta: text });

function envelope(attempt: number, sequence: number, text: string, step = STEP): TaggedChunk {
  return { step, attempt, sequence, chunk: delta(text) };
}

/** Runs envelopes through one filter; answers the texts forwarded, or where it gave up. */
function read(filter: AttemptFilter, envelopes: TaggedChunk[]): { forwarded: string[]; verdicts: AttemptVerdict[] } {
  const forwarded: string[] = [];
  const verdicts: AttemptVerdict[] = [];
  for (const next of envelopes) {
    const verdict = filter.verdict(next);
    verdicts.push(verdict);
    if (verdict === "superseded") break;
    if (verdict === "forward") forwarded.push((next.chunk as { delta: string }).delta);
  }
  return { forwarded, verdicts };
}

describe("AttemptFilter", () => {
  it("forwards every chunk of a step that ran once", () => {
    const { forwarded } = read(new AttemptFilter(new Map([[STEP, 1]])), [
      envelope(1, 0, "a"),
      envelope(1, 1, "b"),
      envelope(1, 2, "c"),
    ]);
    expect(forwarded).toEqual(["a", "b", "c"]);
  });

  it("replaying after a retry, skips the attempt the retry replaced", () => {
    const { forwarded } = read(new AttemptFilter(new Map([[STEP, 2]])), [
      envelope(1, 0, "a"),
      envelope(1, 1, "partial"),
      envelope(2, 0, "a"),
      envelope(2, 1, "b"),
    ]);
    expect(forwarded).toEqual(["a", "b"]);
  });

  it("live, follows a newer attempt that repeats what was sent, and drops the older one's rest", () => {
    const { forwarded, verdicts } = read(new AttemptFilter(new Map()), [
      envelope(1, 0, "a"),
      envelope(1, 1, "b"),
      envelope(2, 0, "a"),
      envelope(1, 2, "c"),
      envelope(2, 1, "b"),
      envelope(2, 2, "c"),
      envelope(2, 3, "d"),
      envelope(1, 3, "d"),
    ]);
    expect(forwarded).toEqual(["a", "b", "c", "d"]);
    expect(verdicts).not.toContain("superseded");
  });

  it("live, gives up when a newer attempt contradicts a chunk already sent", () => {
    const { forwarded, verdicts } = read(new AttemptFilter(new Map()), [
      envelope(1, 0, "a"),
      envelope(1, 1, "b"),
      envelope(2, 0, "a"),
      envelope(2, 1, "B"),
    ]);
    expect(forwarded).toEqual(["a", "b"]);
    expect(verdicts.at(-1)).toBe("superseded");
  });

  it("keeps steps apart", () => {
    const { forwarded } = read(new AttemptFilter(new Map()), [
      envelope(1, 0, "tool", "step_tools"),
      envelope(1, 0, "model", "step_model"),
      envelope(2, 0, "tool", "step_tools"),
      envelope(1, 1, "more", "step_model"),
    ]);
    expect(forwarded).toEqual(["tool", "model", "more"]);
  });

  it("resumed mid-round, compares a newer attempt from where this reader started", () => {
    const filter = new AttemptFilter(new Map([[STEP, 1]]));
    const { forwarded, verdicts } = read(filter, [
      envelope(1, 5, "f"),
      envelope(1, 6, "g"),
      envelope(2, 0, "a"),
      envelope(2, 5, "f"),
      envelope(2, 6, "g"),
      envelope(2, 7, "h"),
    ]);
    expect(forwarded).toEqual(["f", "g", "h"]);
    expect(verdicts).not.toContain("superseded");
  });

  it("resuming a client that held part of an attempt a crash cut short, follows the retry from where the client was", () => {
    const seen = [envelope(1, 0, "a"), envelope(1, 1, "b")];
    const filter = new AttemptFilter(new Map([[STEP, 2]]));
    filter.resumeAfter(seen);
    const { forwarded, verdicts } = read(filter, [envelope(2, 0, "a"), envelope(2, 1, "b"), envelope(2, 2, "c"), envelope(1, 2, "x")]);
    expect(forwarded).toEqual(["c"]);
    expect(verdicts).not.toContain("superseded");
  });

  it("resuming a client that read the retry itself, sends the rest of the retry only", () => {
    // The round holds the cut attempt 1 first, then attempt 2; the client read attempt 2 up to "b".
    const seen = [envelope(1, 0, "a"), envelope(2, 0, "a"), envelope(2, 1, "b")];
    const filter = new AttemptFilter(new Map([[STEP, 2]]));
    filter.resumeAfter(seen);
    expect(read(filter, [envelope(2, 2, "c"), envelope(2, 3, "d")]).forwarded).toEqual(["c", "d"]);
  });

  it("resuming a client whose attempt the retry contradicts, ends it with superseded", () => {
    const filter = new AttemptFilter(new Map([[STEP, 2]]));
    filter.resumeAfter([envelope(1, 0, "a"), envelope(1, 1, "b")]);
    expect(read(filter, [envelope(2, 0, "a"), envelope(2, 1, "B")]).verdicts).toEqual(["skip", "superseded"]);
  });

  it("never papers over a gap in an attempt's sequence", () => {
    const { verdicts } = read(new AttemptFilter(new Map()), [envelope(1, 0, "a"), envelope(1, 2, "c")]);
    expect(verdicts).toEqual(["forward", "superseded"]);
  });

  it("two live attempts of a deterministic step, interleaved in any order, forward each chunk once, in order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.boolean(), { maxLength: 30 }),
        fc.boolean(),
        (length, cutAt, coin, recordedFirst) => {
          const texts = Array.from({ length }, (_, index) => `c${index}`);
          // The first attempt may stop anywhere (a crash); the second runs to the end.
          const first = texts.slice(0, Math.min(cutAt, length)).map((text, index) => envelope(1, index, text));
          const second = texts.map((text, index) => envelope(2, index, text));
          const merged: TaggedChunk[] = [];
          let i = 0;
          let j = 0;
          for (const takeFirst of coin) {
            if (takeFirst && i < first.length) merged.push(first[i++]!);
            else if (j < second.length) merged.push(second[j++]!);
          }
          merged.push(...first.slice(i), ...second.slice(j));
          const recorded = new Map(recordedFirst ? [[STEP, 1]] : []);
          const { forwarded, verdicts } = read(new AttemptFilter(recorded), merged);
          expect(verdicts).not.toContain("superseded");
          expect(forwarded).toEqual(texts);
        },
      ),
      { numRuns: 500 },
    );
  });
});
