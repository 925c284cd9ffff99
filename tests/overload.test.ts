/**
 * Invariant 18 (README "Limits and overload"): at a limit the server refuses new work with 503, a JSON error
 * and Retry-After, and what it accepted before goes on to its end with nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OverloadedError } from "../src/errors";
import { createAdmission } from "../src/runs/admission";
import { expectError } from "./support/assertions";
import { databaseKinds } from "./support/database";
import { chunksOf, countText, parseSse, startTestTether, textOf, userMessage, type TestTether } from "./support/tether";

describe.each(databaseKinds())("overload on %s", (kind) => {
  let harness: TestTether;
  let baseUrl: string;

  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_MAX_ACTIVE_TURNS: "2", TETHER_MAX_OPEN_STREAMS: "3" });
    baseUrl = await harness.listen();
    const created = await harness.request("/api/agents", {
      json: { id: "slow", name: "Slow", model: "demo:15", tools: [] },
    });
    expect(created.status).toBe(201);
  });
  afterAll(() => harness.dispose());

  const chat = (conversationId: string, count: number) =>
    fetch(`${baseUrl}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: conversationId, agentId: "slow", messages: [userMessage(`count to ${count}`)] }),
    });

  it("refuses a turn beyond the active-turn limit with 503 + Retry-After, and the accepted turns finish whole", async () => {
    const first = await chat("busy-1", 40);
    const second = await chat("busy-2", 40);
    expect([first.status, second.status]).toEqual([200, 200]);

    const refused = await chat("busy-3", 5);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectError(refused, 503, "overloaded", /2 turns/);
    // Refused before any work: the conversation was never created.
    expect((await harness.request("/api/conversations/busy-3")).status).toBe(404);

    for (const accepted of [first, second]) {
      expect(textOf(chunksOf(parseSse(await accepted.text())))).toBe(countText(40));
    }
    // Room again once they ended.
    const later = await chat("busy-3", 3);
    expect(later.status).toBe(200);
    expect(textOf(chunksOf(parseSse(await later.text())))).toBe(countText(3));
  });

  it("refuses a stream beyond the open-stream limit, and the open ones go on", async () => {
    const turn = await chat("streams-1", 60);
    const executionId = turn.headers.get("x-execution-id");
    const readers = [
      await fetch(`${baseUrl}/api/executions/${executionId}/stream`),
      await fetch(`${baseUrl}/api/chat/streams-1/stream`),
    ];
    expect(readers.map((reader) => reader.status)).toEqual([200, 200]);

    const refusedResume = await fetch(`${baseUrl}/api/chat/streams-1/stream`);
    expect(refusedResume.headers.get("retry-after")).not.toBeNull();
    await expectError(refusedResume, 503, "overloaded", /3 streams/);
    await expectError(await chat("streams-2", 3), 503, "overloaded", /streams/);

    for (const response of [turn, ...readers]) {
      expect(textOf(chunksOf(parseSse(await response.text())))).toBe(countText(60));
    }
    // Every finished response gave its slot back.
    const again = await fetch(`${baseUrl}/api/executions/${executionId}/stream`);
    expect(again.status).toBe(200);
    expect(textOf(chunksOf(parseSse(await again.text())))).toBe(countText(60));
  });
});

describe("admission", () => {
  const limits = { maxActiveTurns: 0, maxOpenStreams: 0, maxEventLoopUtilization: 0.9 };
  const probes = (over: Partial<{ utilization: number; bytes: number; turns: number }> = {}) => ({
    activeTurns: () => over.turns ?? 0,
    streamBytes: () => ({ bytes: over.bytes ?? 0, limit: 1000 }),
    eventLoopUtilization: () => over.utilization ?? 0,
  });

  /** After `windows` measuring windows. */
  const measured = (admission: ReturnType<typeof createAdmission>, windows = 1) => {
    for (let window = 0; window < windows; window++) admission.adjust();
    return admission;
  };

  it("refuses new turns while turns keep the event loop busier than the limit, and not when the limit is off", () => {
    expect(() => measured(createAdmission(limits, probes({ utilization: 0.85, turns: 5 })), 2).admitTurn()).not.toThrow();
    const busy = measured(createAdmission(limits, probes({ utilization: 0.97, turns: 5 })), 2);
    expect(() => busy.admitTurn()).toThrow(OverloadedError);
    expect(() => busy.admitTurn()).toThrow(/event loop 97 % utilized/);
    // Resumes of what was accepted are not refused for being busy.
    expect(() => busy.admitStream()).not.toThrow();
    expect(() =>
      measured(createAdmission({ ...limits, maxEventLoopUtilization: 0 }, probes({ utilization: 1, turns: 500 })), 2).admitTurn(),
    ).not.toThrow();
  });

  it("does not refuse for one busy window, nor when no turn is running (a turn that just ended busy)", () => {
    expect(() => measured(createAdmission(limits, probes({ utilization: 0.97, turns: 5 })), 1).admitTurn()).not.toThrow();
    expect(() => measured(createAdmission(limits, probes({ utilization: 0.97, turns: 0 })), 3).admitTurn()).not.toThrow();
  });

  it("bounds the turns it takes by what the loop sustains: shrinks while saturated, grows while it has room", () => {
    let utilization = 0.5;
    let turns = 0;
    const admission = createAdmission(limits, {
      activeTurns: () => turns,
      streamBytes: () => ({ bytes: 0, limit: 1000 }),
      eventLoopUtilization: () => utilization,
    });
    const initial = admission.stats().turnLimit;
    // A burst within one window: only up to the limit gets in.
    turns = initial;
    expect(() => admission.admitTurn()).toThrow(/as many as it serves/);
    // One saturated window is a spike: the limit stays. Saturated for longer with that many: it drops below them.
    utilization = 0.99;
    admission.adjust();
    expect(admission.stats().turnLimit).toBe(initial);
    admission.adjust();
    expect(admission.stats().turnLimit).toBeLessThan(initial);
    // Room again while the limit is used: it grows back, and past the first value.
    utilization = 0.4;
    for (let window = 0; window < 20; window++) {
      turns = admission.stats().turnLimit;
      admission.adjust();
    }
    expect(admission.stats().turnLimit).toBeGreaterThan(initial);
    turns = 0;
    expect(() => admission.admitTurn()).not.toThrow();
  });

  it("counts the turns it admitted in a window as load before their runs have started", () => {
    let utilization = 0.5;
    const admission = createAdmission(limits, {
      activeTurns: () => 0,
      streamBytes: () => ({ bytes: 0, limit: 1000 }),
      eventLoopUtilization: () => utilization,
    });
    const initial = admission.stats().turnLimit;
    // A burst: as many turns as the limit takes, none of them running yet when the loop saturates.
    for (let turn = 0; turn < initial; turn++) admission.admitTurn();
    utilization = 0.99;
    admission.adjust();
    // Saturated for a second window, and still nothing has started.
    admission.adjust();
    // Cut by a tenth of what was admitted, not down to the floor as if nothing ran.
    expect(admission.stats().turnLimit).toBe(Math.floor(initial * 0.9));
  });

  it("refuses new turns before live streams would lose events to the total buffer cap", () => {
    expect(() => measured(createAdmission(limits, probes({ bytes: 850 }))).admitTurn()).not.toThrow();
    expect(() => measured(createAdmission(limits, probes({ bytes: 950 }))).admitTurn()).toThrow(/stream buffers/);
  });

  it("counts each stream once, however often its end is reported", () => {
    const admission = createAdmission({ ...limits, maxOpenStreams: 1 }, probes());
    admission.stop();
    const release = admission.streamOpened();
    expect(() => admission.admitStream()).toThrow(OverloadedError);
    release();
    release();
    expect(admission.stats().openStreams).toBe(0);
    expect(() => admission.admitStream()).not.toThrow();
  });
});
