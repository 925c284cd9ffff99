import { performance } from "node:perf_hooks";
import { OverloadedError } from "../errors";

/** When this process stops taking new work (0 turns a limit off). */
export interface AdmissionLimits {
  /** Classic turns running in this process at once. */
  maxActiveTurns: number;
  /** Stream responses (chat, resume, execution streams) open at once. */
  maxOpenStreams: number;
  /**
   * Share of the last window the event loop was busy (0–1) from which new turns are refused. A saturated
   * loop slows every stream it serves, and it accepts one new connection per iteration (libuv ≥ 1.45), so
   * resumes queue in the kernel for seconds: refusing new turns first keeps the accepted ones real-time.
   */
  maxEventLoopUtilization: number;
}

/** What the admission looks at; the event-loop probe is replaceable so tests need not load the loop. */
export interface AdmissionProbes {
  activeTurns(): number;
  /** Bytes held by live classic streams, and the cap above which live streams would lose events. */
  streamBytes(): { bytes: number; limit: number };
  eventLoopUtilization?: () => number;
  /** The busiest model worker's utilization since the last call, when turns stream in model workers. */
  modelWorkerUtilization?: () => number;
}

/** A new turn must leave room in the stream buffers for the live ones: refused above this share of the cap. */
const STREAM_BYTES_SHARE = 0.9;
const UTILIZATION_WINDOW_MS = 250;

/** The event loop's utilization (0–1) over one window: each call measures since the previous call. */
function eventLoopUtilizationMeter(): () => number {
  let windowStart = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, windowStart);
    windowStart = now;
    return utilization;
  };
}

/** The adaptive turn limit starts here and never goes below the floor. */
const INITIAL_TURN_LIMIT = 64;
const TURN_LIMIT_FLOOR = 8;
const SATURATED_WINDOWS_TO_SHRINK = 2;

/**
 * Refuses new work cleanly when this process is at a limit (invariant 18): the caller answers `503` with
 * `Retry-After`, and what was accepted before goes on at full speed instead of everything slowing down.
 */
export function createAdmission(limits: AdmissionLimits, probes: AdmissionProbes) {
  const measure = probes.eventLoopUtilization ?? eventLoopUtilizationMeter();
  const ceiling = limits.maxActiveTurns > 0 ? limits.maxActiveTurns : Number.POSITIVE_INFINITY;
  const adaptive = limits.maxEventLoopUtilization > 0;
  let openStreams = 0;
  let busy = 0;
  // Turns admitted in this window and the one before: they count as load before their runs have started.
  let admittedInWindow = 0;
  let admittedWindowBefore = 0;
  let saturatedWindows = 0;
  // How many turns the process takes now, found the way TCP finds a window: it grows while the loop has
  // room and the limit is being used, and shrinks by a tenth when the loop is saturated. A burst of
  // requests that arrives within one window is thus bounded too, not only what comes after it.
  let turnLimit = Math.min(ceiling, INITIAL_TURN_LIMIT);

  /** One window: reads the loop's utilization (the busier of this thread's and the model workers') and moves the turn limit. */
  function adjust(): void {
    busy = Math.max(measure(), probes.modelWorkerUtilization?.() ?? 0);
    const admitted = Math.max(admittedInWindow, admittedWindowBefore);
    admittedWindowBefore = admittedInWindow;
    admittedInWindow = 0;
    if (!adaptive) return;
    const active = Math.max(probes.activeTurns(), admitted);
    saturatedWindows = busy >= limits.maxEventLoopUtilization ? saturatedWindows + 1 : 0;
    // One saturated window is a spike (a burst of requests, a collection), not a load the turns cause.
    if (saturatedWindows >= SATURATED_WINDOWS_TO_SHRINK) {
      turnLimit = Math.max(TURN_LIMIT_FLOOR, Math.floor(Math.min(turnLimit, active) * 0.9));
    } else if (busy < limits.maxEventLoopUtilization - 0.15 && active >= turnLimit * 0.8) {
      turnLimit = Math.min(ceiling, turnLimit + Math.max(4, Math.ceil(turnLimit * 0.1)));
    }
  }

  /** Spread over 1–4 s: refused clients that all retry at the same moment would arrive as one more burst. */
  const busyRetryAfter = () => 1 + Math.floor(Math.random() * 4);
  const timer = probes.eventLoopUtilization ? undefined : setInterval(adjust, UTILIZATION_WINDOW_MS);
  timer?.unref();

  function refuseStreamIfFull(): void {
    if (limits.maxOpenStreams > 0 && openStreams >= limits.maxOpenStreams) {
      throw new OverloadedError(`this server has ${openStreams} streams open, its limit`, 5);
    }
  }

  return {
    /** Throws OverloadedError when a new turn should not start now. */
    admitTurn(): void {
      refuseStreamIfFull();
      const active = probes.activeTurns();
      if (active >= ceiling) throw new OverloadedError(`this server runs ${active} turns, its limit`, 5);
      const { bytes, limit } = probes.streamBytes();
      if (bytes >= limit * STREAM_BYTES_SHARE) {
        throw new OverloadedError("the stream buffers of this server are full", 5);
      }
      // Saturated for longer than a spike, by turns: a lone turn that just ended busy refuses nobody.
      if (adaptive && saturatedWindows >= SATURATED_WINDOWS_TO_SHRINK && active > 0) {
        throw new OverloadedError(`this server is busy (event loop ${Math.round(busy * 100)} % utilized)`, busyRetryAfter());
      }
      // Turns admitted this window may not run yet: counted too (twice at worst, until the window ends).
      if (adaptive && active + admittedInWindow >= turnLimit) {
        throw new OverloadedError(`this server runs ${active} turns, as many as it serves in real time now`, busyRetryAfter());
      }
      admittedInWindow += 1;
    },

    /** Throws OverloadedError when no further stream response may open (resumes are refused only by this). */
    admitStream: refuseStreamIfFull,

    /** Counts a stream response as open until the returned function is called (once). */
    streamOpened(): () => void {
      openStreams += 1;
      let closed = false;
      return () => {
        if (closed) return;
        closed = true;
        openStreams -= 1;
      };
    },

    /** Runs one measuring window now (the timer does it every quarter second). */
    adjust,

    stats: () => ({ openStreams, activeTurns: probes.activeTurns(), eventLoopUtilization: busy, turnLimit }),

    stop: () => clearInterval(timer),
  };
}

export type Admission = ReturnType<typeof createAdmission>;
