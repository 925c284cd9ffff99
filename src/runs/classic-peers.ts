import type { ExecutionRow } from "../../drizzle/schema";
import { DomainError, GoneError, NotFoundError } from "../errors";
import { CLASSIC_ROUND, encodeOffset, terminalEventOnly, type TerminalReason } from "../streams";
import { INTERRUPTED_ERROR } from "./interrupted-runs";
import type { OpenedStream } from "./run-context";
import type { ResumePosition } from "./run-streams";

/** How long a resume waits for a run whose process holds its lock but does not answer (it may be stopping). */
const UNREACHABLE_OWNER_WAIT_MS = 3_000;
const RECHECK_MS = 200;

/**
 * A classic run that another process runs (or ran): its buffer is there, so the HTTP layer forwards the
 * request to `peer.url` once.
 */
export interface PeerStream {
  peer: { url: string; executionId: string };
  /**
   * The answer when that process cannot be reached: the run's end as stored (its events went with it).
   * `lastOffset`: the last event already relayed to the client, if any.
   */
  whenUnreachable(lastOffset?: string): Promise<OpenedStream>;
}

/** How a stream request reached this process. */
export interface ForwardingHop {
  /** Another process forwarded it here: it is answered here, never forwarded again. */
  forwarded: boolean;
}

export interface ClassicPeerSettings {
  /** This process's name (`metadata.process` of the classic runs it starts). */
  processId: string;
  /** Where the other processes reach this one; undefined until it listens. */
  ownUrl(): string | undefined;
  /** The run as stored now, marked failed first when its process is gone (see interrupted-runs.ts). */
  settle(executionId: string): Promise<ExecutionRow | undefined>;
}

/** The reason the terminal event of a run that ended with this status carries; undefined while it runs. */
function terminalReasonOfStatus(execution: ExecutionRow): TerminalReason | undefined {
  if (execution.status === "running") return undefined;
  if (execution.status === "cancelled" && execution.metadata.cancelReason === "superseded") return "superseded";
  return execution.status;
}

/** The offset of the event a client had before `position` (the one it resumes after), if it names one. */
export function offsetBefore(position: ResumePosition | undefined): string | undefined {
  if (position === undefined) return undefined;
  if ("offset" in position) return position.offset;
  return position.chunkIndex > 0 ? encodeOffset({ round: CLASSIC_ROUND, index: position.chunkIndex - 1 }) : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Classic runs of other processes, on PostgreSQL with several processes: a run's buffer lives in the process
 * that runs it, so a resume that lands elsewhere is forwarded there, and when that process is gone the
 * reader gets the run's end at once instead of waiting for the next sweep.
 */
export function createClassicPeers(settings: ClassicPeerSettings) {
  /**
   * The run as it ended, its terminal event at the reader's position; 503 while its live process does not
   * answer. A reader that got nothing relayed yet (`fresh`) of a run that had ended before its process went
   * gets 410, as for an expired buffer: the rest of its events existed and are gone, and a lone terminal
   * event would let the client think it had them (the conversation holds the full message).
   */
  async function endAsStored(executionId: string, lastOffset: string | undefined, fresh: boolean): Promise<OpenedStream> {
    const deadline = Date.now() + UNREACHABLE_OWNER_WAIT_MS;
    for (;;) {
      const execution = await settings.settle(executionId);
      if (!execution) throw new NotFoundError("execution", executionId);
      const reason = terminalReasonOfStatus(execution);
      if (reason && fresh && execution.error !== INTERRUPTED_ERROR) {
        throw new GoneError(`the stream of execution ${executionId} went with the server process that ran it; the conversation holds its messages`);
      }
      if (reason) {
        const offset = lastOffset ?? encodeOffset({ round: CLASSIC_ROUND, index: 0 });
        return { execution, events: terminalEventOnly(reason, offset) };
      }
      if (Date.now() >= deadline) {
        throw new DomainError("unavailable", `the server process running execution ${executionId} does not answer; try again shortly`);
      }
      await sleep(RECHECK_MS);
    }
  }

  return {
    /** What this process stamps on a classic run it starts, beside `metadata.process`. */
    stamp(): { processUrl?: string } {
      const url = settings.ownUrl();
      return url === undefined ? {} : { processUrl: url };
    },

    /** Whether the classic run is (or was) another process's, so that its buffer is there if anywhere. */
    runsElsewhere(execution: ExecutionRow): boolean {
      const owner = execution.metadata.process;
      return execution.mode === "classic" && typeof owner === "string" && owner !== settings.processId;
    },

    /**
     * Where a reader of another process's run goes: forwarded to that process, unless this request already
     * made its one hop (or the run's address is unknown), in which case it gets the run's end as stored.
     */
    open(execution: ExecutionRow, lastOffset: string | undefined, forwarded: boolean): PeerStream | Promise<OpenedStream> {
      if (forwarded || !execution.processUrl || execution.processUrl === settings.ownUrl()) {
        return endAsStored(execution.id, lastOffset, true);
      }
      return {
        peer: { url: execution.processUrl, executionId: execution.id },
        whenUnreachable: (relayed) => endAsStored(execution.id, relayed ?? lastOffset, relayed === undefined),
      };
    },
  };
}

export type ClassicPeers = ReturnType<typeof createClassicPeers>;
