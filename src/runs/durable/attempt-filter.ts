import type { TaggedChunk } from "./rounds";

/** What a round reader does with one chunk of the namespace. */
export type AttemptVerdict = "forward" | "skip" | "superseded";

/**
 * Decides what a reader of one round forwards when a step ran more than once. Steps are delivered at
 * least once: a crash restart retries a step whose first attempt may have written part of its output
 * (two live deliveries of one stream-writing step are kept apart by runOnce). Every step records its
 * attempt before it writes (see `attemptKey`), so a reader that starts late knows which attempt counts
 * and skips the others. A live reader that already forwarded an earlier attempt's chunks follows the
 * newer attempt as long as it repeats what was sent (a deterministic step: tool results, a replayed
 * model round); only when the newer attempt says something different does it give up with `superseded`.
 */
export class AttemptFilter {
  #recorded: ReadonlyMap<string, number>;
  /**
   * Per step: the attempt being followed, the sequence of the first of its chunks this reader forwarded
   * (above 0 when it resumed mid-round), and the JSON of the chunks forwarded since.
   */
  readonly #followed = new Map<string, { attempt: number; first: number; sent: string[] }>();

  /** `recorded`: the latest attempt each step recorded before writing (from the execution's metadata). */
  constructor(recorded: ReadonlyMap<string, number>) {
    this.#recorded = recorded;
  }

  /** True when the recorded attempts mention `step` (otherwise they may be stale: refresh them). */
  knows(step: string): boolean {
    return this.#recorded.has(step);
  }

  refresh(recorded: ReadonlyMap<string, number>): void {
    this.#recorded = recorded;
  }

  /**
   * Takes up the view of a client that resumes after `seen`: every chunk of the round up to and including
   * the last one the client holds. For the step of that last chunk the client followed its attempt; for
   * the others, the latest attempt it could have seen. A retry that repeats what the client holds is
   * then followed from where the client was, instead of being sent to it again.
   */
  resumeAfter(seen: readonly TaggedChunk[]): void {
    const last = seen.at(-1);
    if (!last) return;
    const followed = new Map<string, number>();
    for (const tagged of seen) followed.set(tagged.step, Math.max(followed.get(tagged.step) ?? 0, tagged.attempt));
    followed.set(last.step, last.attempt);
    for (const [step, attempt] of followed) {
      const chunks = seen.filter((tagged) => tagged.step === step && tagged.attempt === attempt);
      chunks.sort((a, b) => a.sequence - b.sequence);
      this.#followed.set(step, {
        attempt,
        first: chunks[0]!.sequence,
        sent: chunks.map((tagged) => JSON.stringify(tagged.chunk)),
      });
    }
  }

  verdict(envelope: TaggedChunk): AttemptVerdict {
    const { step, attempt, sequence } = envelope;
    const followed = this.#followed.get(step);
    if (!followed) {
      // Output of an attempt that a later one replaced before this reader forwarded any of it.
      if (attempt < (this.#recorded.get(step) ?? attempt)) return "skip";
      this.#followed.set(step, { attempt, first: sequence, sent: [JSON.stringify(envelope.chunk)] });
      return "forward";
    }
    if (attempt < followed.attempt) return "skip";
    if (attempt > followed.attempt) followed.attempt = attempt;
    const position = sequence - followed.first;
    // Sent before this reader started (an earlier connection): it cannot compare them, and a client
    // that resumed past them keeps what it has.
    if (position < 0) return "skip";
    // A gap would mean lost output: never paper over it.
    if (position > followed.sent.length) return "superseded";
    const json = JSON.stringify(envelope.chunk);
    if (position < followed.sent.length) return followed.sent[position] === json ? "skip" : "superseded";
    followed.sent.push(json);
    return "forward";
  }
}
