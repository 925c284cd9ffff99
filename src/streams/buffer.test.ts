import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StreamBuffer } from "./buffer";
import { InvalidOffsetError, OffsetGoneError, StreamFinishedError } from "./errors";
import type { StreamReader } from "./reader";
import { collect, reasonOf, textDelta, tick } from "./test-support";
import { TERMINAL_REASONS, type StreamEvent } from "./types";

function offsetsOf(events: StreamEvent[]): string[] {
  return events.map((event) => event.offset);
}

function range(from: number, toExclusive: number): string[] {
  return Array.from({ length: Math.max(0, toExclusive - from) }, (_, i) => `0.${from + i}`);
}

/**
 * One interleaving of producer operations with reads. Before each producer operation
 * (N - k appends, then finish) the schedule issues `reads` next() calls, then `polls`
 * poll() calls, optionally letting them settle first; then drains the reader. Results
 * are checked in call order, the order a consumer relies on.
 */
interface Gap {
  reads: number;
  polls?: number;
  settle: boolean;
}

async function runSchedule(
  total: number,
  appendedBefore: number,
  after: string | undefined,
  gaps: Gap[],
): Promise<void> {
  const buffer = new StreamBuffer({ executionId: "exec" });
  for (let i = 0; i < appendedBefore; i++) buffer.append(textDelta(i));
  const reader = buffer.read(after);
  const results: (IteratorResult<StreamEvent, undefined> | undefined)[] = [];
  const issueRead = (): Promise<void> => {
    const slot = results.length;
    results.push(undefined);
    return reader.next().then((result) => {
      results[slot] = result;
    });
  };
  const issuePoll = (): void => {
    const result = reader.poll();
    if (result !== undefined) results.push(result);
  };
  const inFlight: Promise<void>[] = [];
  const producerSteps = total - appendedBefore + 1;
  for (let step = 0; step < producerSteps; step++) {
    const gap = gaps[step] ?? { reads: 0, settle: false };
    for (let r = 0; r < gap.reads; r++) inFlight.push(issueRead());
    for (let p = 0; p < (gap.polls ?? 0); p++) issuePoll();
    if (gap.settle) await tick();
    if (step < producerSteps - 1) buffer.append(textDelta(appendedBefore + step));
    else buffer.finish("completed");
  }
  await Promise.all(inFlight);
  while (!results.at(-1)?.done) await issueRead();
  await issueRead();

  const events = results.filter((result) => !result!.done).map((result) => result!.value!);
  const start = after === undefined ? 0 : Number(after.split(".")[1]) + 1;
  const context = JSON.stringify({ total, appendedBefore, after, gaps });
  expect(offsetsOf(events), context).toEqual(range(start, total + 1));
  expect(reasonOf(events.at(-1)), context).toBe("completed");
  expect(events.slice(0, -1).every((event) => reasonOf(event) === undefined), context).toBe(true);
  expect(results.slice(events.length).every((result) => result!.done), context).toBe(true);
  expect(buffer.readerCount, context).toBe(0);
  expect(buffer.listenerCount, context).toBe(0);
}

function* allGapLists(length: number): Generator<Gap[]> {
  const choices: Gap[] = [
    { reads: 0, settle: false },
    { reads: 1, settle: true },
    { reads: 1, settle: false },
    { reads: 2, settle: false },
    { reads: 0, polls: 2, settle: false },
    { reads: 1, polls: 1, settle: false },
  ];
  if (length === 0) {
    yield [];
    return;
  }
  for (const rest of allGapLists(length - 1)) {
    for (const choice of choices) yield [choice, ...rest];
  }
}

describe("StreamBuffer appends", () => {
  it("numbers events from 0.0 and counts approximate bytes", () => {
    const buffer = new StreamBuffer({ executionId: "exec", conversationId: "conv" });
    expect(buffer.append(textDelta(0))).toBe("0.0");
    expect(buffer.append(textDelta(1))).toBe("0.1");
    expect(buffer.lastOffset).toBe("0.1");
    expect(buffer.conversationId).toBe("conv");
    const expectedBytes =
      JSON.stringify({ offset: "0.0", chunk: textDelta(0) }).length +
      JSON.stringify({ offset: "0.1", chunk: textDelta(1) }).length;
    expect(buffer.byteSize).toBe(expectedBytes);
    expect(buffer.status).toBe("streaming");
  });

  it("finish appends one transient data-terminal event; first reason wins", async () => {
    let now = 1000;
    const buffer = new StreamBuffer({ executionId: "exec", now: () => now });
    buffer.append(textDelta(0));
    buffer.finish("failed");
    now = 2000;
    buffer.finish("completed");
    expect(buffer.status).toBe("failed");
    expect(buffer.finishedAt).toBe(1000);
    expect(buffer.lastOffset).toBe("0.1");
    expect(() => buffer.append(textDelta(1))).toThrow(StreamFinishedError);
    const events = await collect(buffer.read());
    expect(events.map((event) => event.chunk)).toEqual([
      textDelta(0),
      { type: "data-terminal", data: { reason: "failed" }, transient: true },
    ]);
  });
});

describe("StreamBuffer.read offsets", () => {
  it("rejects malformed, foreign-round and future offsets", () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    buffer.append(textDelta(0));
    buffer.append(textDelta(1));
    for (const bad of ["", "abc", "0.-1", "+0.1", "1.0", "0.2", "0.99", " 0.1"]) {
      expect(() => buffer.read(bad), bad).toThrow(InvalidOffsetError);
    }
    expect(buffer.readerCount).toBe(0);
  });

  it("resuming from the terminal offset yields nothing and ends", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    buffer.append(textDelta(0));
    buffer.finish("completed");
    expect(await collect(buffer.read("0.1"))).toEqual([]);
    expect(buffer.readerCount).toBe(0);
  });

  it("replays lazily: a reader over 10,000 events copies nothing up front", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    for (let i = 0; i < 10_000; i++) buffer.append(textDelta(i));
    const reader = buffer.read("0.4999");
    const first = await reader.next();
    expect(first.value?.offset).toBe("0.5000");
    // Events appended after the reader opened are still delivered in order.
    buffer.append(textDelta(10_000));
    buffer.finish("completed");
    const rest = await collect(reader);
    expect(offsetsOf(rest)).toEqual(range(5001, 10_002));
  });
});

describe("StreamBuffer replay/live interleaving", () => {
  it("never gaps or duplicates, for every start point and every schedule (exhaustive, N=4)", async () => {
    const total = 4;
    let runs = 0;
    for (let appendedBefore = 0; appendedBefore <= total; appendedBefore++) {
      const starts = [undefined, ...range(0, appendedBefore)];
      for (const after of starts) {
        for (const gaps of allGapLists(total - appendedBefore + 1)) {
          await runSchedule(total, appendedBefore, after, gaps);
          runs += 1;
        }
      }
    }
    expect(runs).toBeGreaterThan(1000);
  });

  it("never gaps or duplicates under random schedules (N up to 30)", async () => {
    const scenario = fc
      .integer({ min: 0, max: 30 })
      .chain((total) =>
        fc.record({
          total: fc.constant(total),
          appendedBefore: fc.integer({ min: 0, max: total }),
          afterSeed: fc.nat(),
          gaps: fc.array(fc.record({ reads: fc.nat({ max: 3 }), polls: fc.nat({ max: 3 }), settle: fc.boolean() }), {
            minLength: total + 1,
            maxLength: total + 1,
          }),
        }),
      );
    await fc.assert(
      fc.asyncProperty(scenario, async ({ total, appendedBefore, afterSeed, gaps }) => {
        const choice = afterSeed % (appendedBefore + 1);
        const after = choice === appendedBefore ? undefined : `0.${choice}`;
        await runSchedule(total, appendedBefore, after, gaps);
      }),
      { numRuns: 300 },
    );
  });

  it("a reader started after finish replays from every offset and ends with the terminal", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    for (let i = 0; i < 5; i++) buffer.append(textDelta(i));
    buffer.finish("completed");
    for (let index = -1; index < 5; index++) {
      const after = index < 0 ? undefined : `0.${index}`;
      const events = await collect(buffer.read(after));
      expect(offsetsOf(events)).toEqual(range(index + 1, 6));
      expect(reasonOf(events.at(-1))).toBe("completed");
    }
  });

  it("many concurrent readers receive identical sequences", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    const fromStart: Promise<StreamEvent[]>[] = [];
    const fromMiddle: Promise<StreamEvent[]>[] = [];
    for (let i = 0; i < 200; i++) {
      if (i % 20 === 0) {
        fromStart.push(collect(buffer.read()));
        if (i > 0) fromMiddle.push(collect(buffer.read("0.9")));
      }
      buffer.append(textDelta(i));
      if (i % 7 === 0) await tick();
    }
    buffer.finish("completed");
    const startResults = await Promise.all(fromStart);
    const middleResults = await Promise.all(fromMiddle);
    expect(startResults).toHaveLength(10);
    for (const events of startResults) {
      expect(events).toEqual(startResults[0]);
      expect(offsetsOf(events)).toEqual(range(0, 201));
    }
    for (const events of middleResults) expect(offsetsOf(events)).toEqual(range(10, 201));
    expect(buffer.readerCount).toBe(0);
  });
});

describe("StreamBuffer bursts", () => {
  it("poll() hands out what is there without waiting, and nothing while a next() waits", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    const reader = buffer.read();
    expect(reader.poll()).toBeUndefined();
    const pending = reader.next();
    buffer.append(textDelta(0));
    buffer.append(textDelta(1));
    // The waiting next() is owed 0.0: a poll now would hand 0.0 out twice or out of order.
    expect(reader.poll()).toBeUndefined();
    await expect(pending).resolves.toMatchObject({ done: false, value: { offset: "0.0" } });
    expect(reader.poll()).toMatchObject({ done: false, value: { offset: "0.1" } });
    expect(reader.poll()).toBeUndefined();
    buffer.finish("completed");
    expect(reasonOf(reader.poll()?.value as StreamEvent)).toBe("completed");
    expect(reader.poll()).toEqual({ done: true, value: undefined });
    expect(buffer.readerCount).toBe(0);
  });

  it("wakes a waiting reader once for a burst of appends, after the burst", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    const reader = buffer.read();
    let appended = 0;
    let appendedWhenWoken = -1;
    const woken: string[] = [];
    const pending = reader.next().then((result) => {
      appendedWhenWoken = appended;
      woken.push(result.value!.offset);
      for (let next = reader.poll(); next !== undefined && !next.done; next = reader.poll()) {
        woken.push(next.value.offset);
      }
    });
    await tick();
    // A producer like the classic runner: one append per microtask, with no macrotask in between.
    for (let i = 0; i < 100; i++) {
      await Promise.resolve();
      buffer.append(textDelta(i));
      appended += 1;
    }
    await pending;
    expect(appendedWhenWoken).toBe(100);
    expect(woken).toEqual(range(0, 100));
    expect(buffer.listenerCount).toBe(0);
  });

  it("stores each event as its JSON text and hands back an equal chunk", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    const chunk = { type: "text-delta", id: "t", delta: "héllo \u2028 \"quoted\"" } as const;
    buffer.append(chunk);
    buffer.finish("completed");
    const [event] = await collect(buffer.read());
    expect(event!.data).toBe(JSON.stringify(chunk));
    expect(event!.chunk).toEqual(chunk);
  });
});

describe("StreamBuffer reader cleanup", () => {
  it("cancel() resolves a pending next() and removes the listener", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    const reader = buffer.read();
    const pending = reader.next();
    await tick();
    expect(buffer.listenerCount).toBe(1);
    expect(buffer.readerCount).toBe(1);
    reader.cancel();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(buffer.listenerCount).toBe(0);
    expect(buffer.readerCount).toBe(0);
    buffer.append(textDelta(0));
    await expect(reader.next()).resolves.toMatchObject({ done: true });
  });

  it("break in for-await removes the reader", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    buffer.append(textDelta(0));
    const readers: StreamReader[] = [buffer.read(), buffer.read(), buffer.read()];
    for (const reader of readers) {
      for await (const event of reader) {
        expect(event.offset).toBe("0.0");
        break;
      }
    }
    expect(buffer.readerCount).toBe(0);
    expect(buffer.listenerCount).toBe(0);
  });

  it("a reader ends by itself after the terminal event", async () => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    const done = collect(buffer.read());
    await tick();
    expect(buffer.listenerCount).toBe(1);
    buffer.finish("completed");
    await done;
    expect(buffer.readerCount).toBe(0);
    expect(buffer.listenerCount).toBe(0);
  });
});

describe("StreamBuffer terminal reasons", () => {
  it.each(TERMINAL_REASONS)("%s reaches live and replaying readers last", async (reason) => {
    const buffer = new StreamBuffer({ executionId: "exec" });
    buffer.append(textDelta(0));
    const live = collect(buffer.read());
    await tick();
    buffer.append(textDelta(1));
    buffer.finish(reason);
    const replayed = await collect(buffer.read());
    const resumed = await collect(buffer.read("0.0"));
    for (const events of [await live, replayed]) {
      expect(offsetsOf(events)).toEqual(["0.0", "0.1", "0.2"]);
      expect(reasonOf(events.at(-1))).toBe(reason);
    }
    expect(offsetsOf(resumed)).toEqual(["0.1", "0.2"]);
    expect(reasonOf(resumed.at(-1))).toBe(reason);
  });
});

describe("StreamBuffer per-stream cap", () => {
  const eventBytes = JSON.stringify({ offset: "0.0", chunk: textDelta(0) }).length;

  it("drops oldest events, keeps offsets, and reports gone offsets", async () => {
    // Padded so that every text event outweighs the terminal event.
    const padding = "x".repeat(100);
    const paddedBytes = JSON.stringify({ offset: "0.0", chunk: textDelta(0, padding) }).length;
    const buffer = new StreamBuffer({ executionId: "exec", maxBytes: paddedBytes * 3 });
    for (let i = 0; i < 6; i++) buffer.append(textDelta(i, padding));
    expect(buffer.byteSize).toBe(paddedBytes * 3);
    expect(buffer.firstRetainedIndex).toBe(3);
    expect(() => buffer.read()).toThrow(OffsetGoneError);
    expect(() => buffer.read("0.0")).toThrow(OffsetGoneError);
    expect(() => buffer.read("0.1")).toThrow(OffsetGoneError);
    // The client already holds 0.2, so resuming after it needs only retained events.
    const reader = buffer.read("0.2");
    expect((await reader.next()).value?.offset).toBe("0.3");
    buffer.finish("completed");
    expect(offsetsOf(await collect(reader))).toEqual(["0.4", "0.5", "0.6"]);
    // The terminal event counts against the cap too, pushing out 0.3.
    expect(buffer.firstRetainedIndex).toBe(4);
    expect(() => buffer.read("0.2")).toThrow(OffsetGoneError);
    const events = await collect(buffer.read("0.3"));
    expect(offsetsOf(events)).toEqual(["0.4", "0.5", "0.6"]);
    expect(reasonOf(events.at(-1))).toBe("completed");
  });

  it("keeps the newest event even when it alone exceeds the cap", () => {
    const buffer = new StreamBuffer({ executionId: "exec", maxBytes: 10 });
    buffer.append(textDelta(0));
    buffer.append(textDelta(1));
    expect(buffer.firstRetainedIndex).toBe(1);
    expect(buffer.byteSize).toBe(eventBytes);
  });

  it("ends a lagging reader with an expired terminal instead of skipping", async () => {
    const buffer = new StreamBuffer({ executionId: "exec", maxBytes: eventBytes * 3 });
    const lagging = buffer.read();
    buffer.append(textDelta(0));
    buffer.append(textDelta(1));
    expect((await lagging.next()).value?.offset).toBe("0.0");
    for (let i = 2; i < 10; i++) buffer.append(textDelta(i));
    const rest = await collect(lagging);
    expect(rest).toHaveLength(1);
    expect(reasonOf(rest[0])).toBe("expired");
    // It repeats the last delivered offset, so resuming from it is reported as gone.
    expect(rest[0]?.offset).toBe("0.0");
    expect(() => buffer.read(rest[0]?.offset)).toThrow(OffsetGoneError);
    expect(buffer.readerCount).toBe(0);
  });

  it("compacts dropped slots while keeping every retained event addressable", async () => {
    const buffer = new StreamBuffer({ executionId: "exec", maxBytes: eventBytes * 60 });
    const lastIndex = 5000;
    for (let i = 0; i <= lastIndex; i++) buffer.append(textDelta(i));
    buffer.finish("completed");
    const first = buffer.firstRetainedIndex;
    expect(first).toBeGreaterThan(4900);
    const events = await collect(buffer.read(`0.${first - 1}`));
    expect(offsetsOf(events)).toEqual(range(first, lastIndex + 2));
    expect(events[0]?.chunk).toEqual(textDelta(first));
  });
});
