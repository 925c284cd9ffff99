/** Work items run per turn of the event loop at most (a worker's batch is one item per turn's burst). */
const ITEMS_PER_SLICE = 32;

/**
 * Runs queued work in order, a slice per turn of the event loop. libuv accepts one connection per loop
 * iteration, so a loop that spends 50 ms writing a batch of 500 streams' chunks accepts 20 connections a
 * second: with the loop going round between slices, new requests (resumes) do not queue behind the writes.
 */
export function createSlicedQueue(itemsPerSlice = ITEMS_PER_SLICE) {
  const queue: Array<() => void> = [];
  let scheduled = false;

  function runSlice(): void {
    scheduled = false;
    for (const item of queue.splice(0, itemsPerSlice)) item();
    if (queue.length > 0) schedule();
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(runSlice);
  }

  return {
    /** Queues an item: it runs in this turn's check phase (setImmediate) when few wait before it, else later. */
    push(item: () => void): void {
      queue.push(item);
      schedule();
    },
  };
}
