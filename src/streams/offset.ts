/**
 * A position in an offset-addressed stream. `round` namespaces a sequence of events
 * (classic buffers always use round 0; durable runs use one round per namespace),
 * `index` counts events within that round starting at 0.
 */
export interface Position {
  round: number;
  index: number;
}

// Only canonical decimal integers: a leading zero would give one position two spellings.
const OFFSET_PATTERN = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

function isValidComponent(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/**
 * Encodes a position as the opaque wire offset `"<round>.<index>"`, e.g. `"0.15"`.
 * @throws RangeError when either component is not a non-negative safe integer.
 */
export function encodeOffset(position: Position): string {
  if (!isValidComponent(position.round) || !isValidComponent(position.index)) {
    throw new RangeError(`Cannot encode offset for position ${JSON.stringify(position)}`);
  }
  return `${position.round}.${position.index}`;
}

/**
 * Parses a wire offset produced by {@link encodeOffset}.
 * @returns the position, or `undefined` for anything malformed (signs, whitespace,
 * leading zeros, fractions, extra parts, values above `Number.MAX_SAFE_INTEGER`).
 */
export function parseOffset(text: string): Position | undefined {
  if (typeof text !== "string") return undefined;
  const match = OFFSET_PATTERN.exec(text);
  if (!match) return undefined;
  const round = Number(match[1]);
  const index = Number(match[2]);
  if (!isValidComponent(round) || !isValidComponent(index)) return undefined;
  return { round, index };
}

/**
 * Orders positions by round, then index.
 * @returns a negative number if `a` comes first, positive if `b` does, 0 if equal.
 */
export function comparePositions(a: Position, b: Position): number {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.index !== b.index) return a.index < b.index ? -1 : 1;
  return 0;
}
