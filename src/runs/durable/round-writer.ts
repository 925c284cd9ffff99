import type { UIMessageChunk } from "ai";
import { MAX_BURST, type RoundEnvelope } from "./rounds";

/**
 * Writes UI chunks into a round's namespace, tagged with the writing step and attempt. A chunk goes out
 * at once when no write is in flight; chunks that arrive while one is in flight go together in the next
 * write (one world write per burst instead of one per chunk). Order is kept: bursts are written one after
 * another. `write` resolves once the chunk is queued (it waits only while a burst is full); a failed
 * world write fails the next `write`, `flush`, `close` or `release`.
 */
export function createRoundWriter(writable: WritableStream<RoundEnvelope>, step: { stepId: string; attempt: number }) {
  const writer = writable.getWriter();
  let sequence = 0;
  let queued: UIMessageChunk[] = [];
  let inFlight: Promise<void> | undefined;
  let failure: unknown;

  function send(): Promise<void> {
    const chunks = queued;
    queued = [];
    const envelope: RoundEnvelope = { step: step.stepId, attempt: step.attempt, sequence, chunks };
    sequence += chunks.length;
    return writer.write(envelope);
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
    while (inFlight || queued.length > 0) await pump();
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
    flush,
    /** Ends the round for every reader. */
    async close(): Promise<void> {
      await flush();
      await writer.close();
    },
    /** Leaves the round open for the next writer. */
    async release(): Promise<void> {
      await flush();
      writer.releaseLock();
    },
  };
}
