import type { UIMessageChunk } from "ai";
import { getWorld } from "workflow/runtime";
import { MAX_BURST, roundStreamName, type RoundEnvelope } from "./rounds";

const LANDED_CHECK_MS = 5;
const LANDED_TIMEOUT_MS = 30_000;

/** Where the writer's round is in the world, to wait until what it wrote has landed there. */
export interface RoundLocation {
  workflowRunId: string;
  round: number;
}

/**
 * Writes UI chunks into a round's namespace, tagged with the writing step and attempt. A chunk goes out
 * at once when no write is in flight; chunks that arrive while one is in flight go together in the next
 * write (one world write per burst instead of one per chunk). Order is kept: bursts are written one after
 * another. `write` resolves once the chunk is queued (it waits only while a burst is full); a failed
 * world write fails the next `write`, `flush`, `close` or `release`.
 *
 * `close` and `release` also wait until every burst has landed in the world: the SDK's writable accepts a
 * write before it reaches the world and flushes the rest after the step returns, so a crash right after
 * the step recorded its result would otherwise lose the round's tail for good.
 */
export function createRoundWriter(
  writable: WritableStream<RoundEnvelope>,
  step: { stepId: string; attempt: number },
  location: RoundLocation,
) {
  const writer = writable.getWriter();
  const name = roundStreamName(location.workflowRunId, location.round);
  const world = getWorld();
  // How much of the stream was there before this writer's first burst (earlier attempts, earlier steps).
  const before = world.getStreamInfo(name, location.workflowRunId).then((info) => info.tailIndex + 1);
  before.catch(() => undefined);
  let bursts = 0;
  let sequence = 0;
  let queued: UIMessageChunk[] = [];
  let inFlight: Promise<void> | undefined;
  let failure: unknown;

  async function send(): Promise<void> {
    await before;
    const chunks = queued;
    queued = [];
    const envelope: RoundEnvelope = { step: step.stepId, attempt: step.attempt, sequence, chunks };
    sequence += chunks.length;
    bursts += 1;
    await writer.write(envelope);
  }

  /** Waits until the world holds every burst (and the end of the round when `closed`). */
  async function landed(closed: boolean): Promise<void> {
    const expected = (await before) + bursts;
    for (const deadline = Date.now() + LANDED_TIMEOUT_MS; ; ) {
      const info = await world.getStreamInfo(name, location.workflowRunId);
      if (info.tailIndex + 1 >= expected && (info.done || !closed)) return;
      if (Date.now() > deadline) throw new Error(`round ${location.round} did not land in the world in time`);
      await new Promise((resolve) => setTimeout(resolve, LANDED_CHECK_MS));
    }
  }

  /** Writes bursts until nothing is queued; one loop at a time. */
  function pump(): Promise<void> {
    inFlight ??= (async () => {
      try {
        while (queued.length > 0 && failure === undefined) await send();
      } catch (error) {
        failure = error;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  }

  function throwIfFailed() {
    if (failure !== undefined) throw failure;
  }

  async function flush(): Promise<void> {
    // After a failure the pump writes nothing more: looping on what is still queued would spin the
    // microtask queue forever (100 % CPU, no timer or socket served again).
    while ((inFlight || queued.length > 0) && failure === undefined) await pump();
    throwIfFailed();
  }

  return {
    async write(chunk: UIMessageChunk): Promise<void> {
      throwIfFailed();
      while (queued.length >= MAX_BURST) {
        await inFlight;
        throwIfFailed();
      }
      queued.push(chunk);
      void pump();
    },
    /** Waits until every chunk written so far is in the world. */
    async flush(): Promise<void> {
      await flush();
      await landed(false);
    },
    /** Ends the round for every reader. */
    async close(): Promise<void> {
      await flush();
      await writer.close();
      await landed(true);
    },
    /** Leaves the round open for the next writer. */
    async release(): Promise<void> {
      await flush();
      writer.releaseLock();
      await landed(false);
    },
  };
}
