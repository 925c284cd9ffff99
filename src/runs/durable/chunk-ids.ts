import { randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TIME_DIGITS = 10;
const RANDOM_DIGITS = 16;

/**
 * Ids that sort in the order they were made (ULIDs: 48 bits of milliseconds, then 80 bits that start
 * random and count up within a millisecond or when the clock steps back), as the Postgres world names
 * stream chunks: a stream is read in id order.
 */
export function createChunkIds(prefix: string): () => string {
  let lastTime = -1;
  let random: number[] = [];

  return () => {
    const now = Date.now();
    if (now > lastTime) {
      lastTime = now;
      random = [...randomBytes(RANDOM_DIGITS)].map((byte) => byte % 32);
    } else {
      let digit = RANDOM_DIGITS - 1;
      while (digit >= 0 && random[digit] === 31) random[digit--] = 0;
      if (digit < 0) throw new Error("chunk id space of this millisecond is used up");
      random[digit]! += 1;
    }
    let time = "";
    for (let rest = lastTime, index = 0; index < TIME_DIGITS; index++, rest = Math.floor(rest / 32)) {
      time = CROCKFORD[rest % 32] + time;
    }
    return prefix + time + random.map((value) => CROCKFORD[value]).join("");
  };
}
