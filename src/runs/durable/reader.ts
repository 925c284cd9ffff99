import type { UIMessageChunk } from "ai";
import { getRun } from "workflow/api";
import { getWorld } from "workflow/runtime";
import type { ExecutionRow } from "../../../drizzle/schema";
import type { ExecutionRepository } from "../../db/repositories/executions";
import { encodeOffset, parseOffset, type Position } from "../../streams/offset";
import { createTerminalChunk, terminalReasonOf } from "../../streams/terminal-chunk";
import type { StreamEvent, TerminalReason } from "../../streams/types";
import { InvalidInputError } from "../../errors";
import { AttemptFilter } from "./attempt-filter";
import { eventIndex, latestAttempts, roundNamespace, roundStreamName, unpackEnvelope, type RoundEnvelope, type TaggedChunk } from "./rounds";
import { isTerminal } from "../execution-status";

/** How often an idle reader checks whether its run ended without closing the round (a cancel). */
const STATUS_POLL_MS = 500;
/** Quiet polls tolerated after the run ended before a reader stops waiting for the round to close. */
const QUIET_POLLS_AFTER_END = 3;
/** The same while the world holds chunks or a close this reader has not seen: late, not lost (bounded all the same). */
const QUIET_POLLS_WHEN_LATE = 120;

const TICK = Symbol("tick");

export interface DurableReaderOptions {
  executions: ExecutionRepository;
  execution: ExecutionRow;
  pollMs?: number;
  /** Aborted once nobody reads any more: an idle reader then stops at its next status poll. */
  signal?: AbortSignal;
}

/** Parses a client's offset for a durable run; undefined when absent. */
export function parseDurableOffset(offset: string | undefined): Position | undefined {
  if (offset === undefined) return undefined;
  const position = parseOffset(offset);
  if (!position) throw new InvalidInputError("offset", `invalid offset ${JSON.stringify(offset)}`);
  return position;
}

/** Whether the world holds more of the round than the reader has seen (chunks, or its close). */
async function moreInWorld(workflowRunId: string, round: number, seen: number): Promise<boolean> {
  const info = await getWorld().getStreamInfo(roundStreamName(workflowRunId, round), workflowRunId).catch(() => undefined);
  return info !== undefined && (info.done || info.tailIndex + 1 > seen);
}

type RoundEnd =
  | { kind: "terminal"; reason: TerminalReason }
  | { kind: "closed" }
  | { kind: "run-ended"; execution: ExecutionRow }
  | { kind: "superseded" }
  | { kind: "abandoned" };

/**
 * Reads one round's namespace from an event index: yields its events with offsets `<round>.<index>`
 * (see {@link eventIndex}), skipping chunks of step attempts that another attempt replaced (see
 * {@link AttemptFilter}), and answers how the round ended. A live reader whose chunks a newer attempt
 * contradicts stops with `superseded` (it cannot take them back); a reconnect then replays the surviving
 * attempt only.
 */
async function* readRound(
  options: DurableReaderOptions,
  round: number,
  fromIndex: number,
): AsyncGenerator<StreamEvent, RoundEnd> {
  const { executions } = options;
  const pollMs = options.pollMs ?? STATUS_POLL_MS;
  // The row the reader was opened with: a step it does not mention yet is looked up again when its first
  // chunk arrives, so a later round read with the same row still learns of retries.
  const attempts = new AttemptFilter(latestAttempts(options.execution.metadata));
  // A client resuming mid-round holds what it read before: the round is read from its start so the filter
  // knows which attempt the client followed (a crash retry repeats it; the client must not get it twice).
  const prefix: TaggedChunk[] | undefined = fromIndex > 0 ? [] : undefined;
  const readable = getRun(options.execution.workflowRunId!).getReadable<RoundEnvelope>({
    namespace: roundNamespace(round),
    startIndex: 0,
  });
  const reader = readable.getReader();
  let worldIndex = 0;
  let resumed = prefix === undefined;
  let quietPolls = 0;
  let pending = reader.read();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        pending,
        new Promise<typeof TICK>((resolve) => {
          timer = setTimeout(() => resolve(TICK), pollMs);
        }),
      ]);
      clearTimeout(timer);
      if (next === TICK) {
        // A generator runs return() only at its next yield, which an idle round may not reach for hours.
        if (options.signal?.aborted) return { kind: "abandoned" };
        const current = await executions.get(options.execution.id);
        if (current.status === "cancelled") return { kind: "run-ended", execution: current };
        if (isTerminal(current.status)) {
          // The step that ends a run lands every chunk of its round before it records the end (and closes
          // the round right after): what the world holds beyond this reader is late here, not lost.
          const late = await moreInWorld(options.execution.workflowRunId!, round, worldIndex);
          if (++quietPolls >= (late ? QUIET_POLLS_WHEN_LATE : QUIET_POLLS_AFTER_END)) return { kind: "run-ended", execution: current };
        }
        continue;
      }
      quietPolls = 0;
      if (next.done) return { kind: "closed" };
      pending = reader.read();
      const envelope = next.value;
      const burst = worldIndex++;
      if (!attempts.knows(envelope.step)) attempts.refresh(latestAttempts((await executions.get(options.execution.id)).metadata));
      const tagged = unpackEnvelope(envelope);
      for (let position = 0; position < tagged.length; position++) {
        const index = eventIndex(burst, position);
        if (index < fromIndex) {
          prefix?.push(tagged[position]!);
          // Resumed right after the round's own terminal event: the round ends there, with nothing after it.
          const endedWith = index === fromIndex - 1 ? terminalReasonOf(tagged[position]!.chunk) : undefined;
          if (endedWith) return { kind: "terminal", reason: endedWith };
          continue;
        }
        if (!resumed) {
          attempts.resumeAfter(prefix!);
          resumed = true;
        }
        const verdict = attempts.verdict(tagged[position]!);
        if (verdict === "superseded") return { kind: "superseded" };
        if (verdict === "skip") continue;
        const { chunk } = tagged[position]!;
        yield { offset: encodeOffset({ round, index }), chunk };
        const reason = terminalReasonOf(chunk);
        if (reason) return { kind: "terminal", reason };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

const terminalEvent = (round: number, index: number, reason: TerminalReason): StreamEvent => ({
  offset: encodeOffset({ round, index }),
  chunk: createTerminalChunk(reason) as UIMessageChunk,
});

/** Why a stream ends when its run ended without closing the round (a cancel, or a new turn). */
function reasonOfExecution(execution: ExecutionRow): TerminalReason {
  const { status } = execution;
  if (status === "cancelled" && execution.metadata.cancelReason === "superseded") return "superseded";
  if (status === "completed" || status === "failed" || status === "cancelled" || status === "suspended") return status;
  return "expired";
}

/**
 * Why a round ended that closed with no terminal event of its own: the world closes a cancelled run's
 * streams (a new turn superseded it, or a stop), which the execution names; otherwise it completed.
 */
async function reasonOfClosedRound(options: DurableReaderOptions): Promise<TerminalReason> {
  const execution = await options.executions.get(options.execution.id);
  return isTerminal(execution.status) ? reasonOfExecution(execution) : "completed";
}

/**
 * The stream of one round (what a chat response or the resume route serves): ends with the round's own
 * terminal event, or a synthesised one when the run ended without closing the round.
 */
export async function* readCurrentRound(
  options: DurableReaderOptions,
  round: number,
  after?: Position,
): AsyncGenerator<StreamEvent> {
  const fromIndex = after && after.round === round ? after.index + 1 : 0;
  const rounds = readRound(options, round, fromIndex);
  let lastIndex = fromIndex - 1;
  for (;;) {
    const next = await rounds.next();
    if (next.done) {
      const end = next.value;
      if (end.kind === "terminal" || end.kind === "abandoned") return;
      const reason =
        end.kind === "superseded"
          ? "superseded"
          : end.kind === "run-ended"
            ? reasonOfExecution(end.execution)
            : await reasonOfClosedRound(options);
      yield terminalEvent(round, lastIndex + 1, reason);
      return;
    }
    lastIndex = parseOffset(next.value.offset)!.index;
    yield next.value;
  }
}

/**
 * The whole run across rounds `r0 … rN`, in order, live until the run ends. The `suspended` end of an
 * intermediate round is not an end of the run: the reader waits for the next round instead — unless
 * `endAtSuspensionFrom` is set: from that round on, a suspension ends the stream (a chat turn ends when
 * it waits for a person).
 */
export async function* readWholeRun(
  options: DurableReaderOptions,
  after?: Position,
  endAtSuspensionFrom = Number.POSITIVE_INFINITY,
): AsyncGenerator<StreamEvent> {
  let round = after?.round ?? 0;
  let fromIndex = after ? after.index + 1 : 0;
  for (;;) {
    const rounds = readRound(options, round, fromIndex);
    let lastIndex = fromIndex - 1;
    let end: RoundEnd;
    for (;;) {
      const next = await rounds.next();
      if (next.done) {
        end = next.value;
        break;
      }
      lastIndex = parseOffset(next.value.offset)!.index;
      if (terminalReasonOf(next.value.chunk) === "suspended" && round < endAtSuspensionFrom) continue;
      yield next.value;
    }
    if (end.kind === "abandoned") return;
    if (end.kind === "terminal" && (end.reason !== "suspended" || round >= endAtSuspensionFrom)) return;
    if (end.kind === "superseded") {
      yield terminalEvent(round, lastIndex + 1, "superseded");
      return;
    }
    if (end.kind === "run-ended") {
      yield terminalEvent(round, lastIndex + 1, reasonOfExecution(end.execution));
      return;
    }
    // The round ended waiting for a person: follow the run into its next round at once (reading a round
    // not written yet waits for its first chunk, and ends if the run ends instead).
    round += 1;
    fromIndex = 0;
  }
}
