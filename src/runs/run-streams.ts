import { GoneError, ConflictError } from "../errors";
import { readClassicFromChunk, readFromChunk, type ClassicStream } from "../streams";
import type { ExecutionRow } from "../../drizzle/schema";
import { offsetBefore, type ForwardingHop, type PeerStream } from "./classic-peers";
import { canSee, type Principal } from "./principal";
import type { OpenedStream, RunContext } from "./run-context";

/**
 * Where a resumed turn starts: after an event's offset (`Last-Event-ID`, `?offset=`), or at a chunk index of
 * the turn's stream (WorkflowChatTransport's `startIndex`: chunks counted from the turn's first; negative:
 * the last |n|).
 */
export type ResumePosition = { offset: string } | { chunkIndex: number };

/** A classic turn's stream from where the client resumes it. */
function readClassicTurn(stream: ClassicStream, from?: ResumePosition): Pick<OpenedStream, "events" | "tailIndex"> {
  if (from && "chunkIndex" in from) return readClassicFromChunk(stream, from.chunkIndex);
  return { events: stream.read(from?.offset) };
}

/** Opening a run's stream (the executions API) or a conversation's current turn (the resume route). */
export function runStreams(context: RunContext) {
  const { repositories, buffers, durable } = context;

  /** Another process's classic run, when the request may go there (`hop`): where to, or its end if it cannot. */
  function classicElsewhere(
    execution: ExecutionRow,
    lastOffset: string | undefined,
    hop: ForwardingHop | undefined,
  ): PeerStream | Promise<OpenedStream> | undefined {
    const { peers } = context;
    if (!hop || !peers?.runsElsewhere(execution)) return undefined;
    return peers.open(execution, lastOffset, hop.forwarded);
  }

  /**
   * The whole run's stream from an offset; GoneError once a classic buffer has expired. With a `hop`,
   * another process's classic run answers where to forward the request.
   */
  function openRunStream(principal: Principal, executionId: string, after?: string): Promise<OpenedStream>;
  function openRunStream(
    principal: Principal,
    executionId: string,
    after: string | undefined,
    hop: ForwardingHop,
  ): Promise<OpenedStream | PeerStream>;
  async function openRunStream(
    principal: Principal,
    executionId: string,
    after?: string,
    hop?: ForwardingHop,
  ): Promise<OpenedStream | PeerStream> {
    const inMemory = buffers.get(executionId);
    // The buffer keeps a copy of its run's (immutable) owner and conversation, so a classic run of this
    // process is answered from memory, with no database round trip before the first byte.
    if (inMemory?.ownerId !== undefined && inMemory.conversationId !== undefined && canSee(principal, inMemory.ownerId)) {
      const execution = { id: executionId, conversationId: inMemory.conversationId, mode: "classic" as const };
      return { execution, events: inMemory.read(after) };
    }
    const execution = await context.visibleExecution(principal, executionId);
    if (execution.mode === "durable") {
      await context.requireDurable();
      if (!execution.workflowRunId) throw new ConflictError(`execution ${execution.id} has not started yet`);
      return { execution, events: durable.openRun(execution, after) };
    }
    const buffer = buffers.get(execution.id);
    const elsewhere = buffer ? undefined : classicElsewhere(execution, after, hop);
    if (elsewhere) return elsewhere;
    if (!buffer) throw new GoneError(`the stream of execution ${execution.id} has expired`);
    return { execution, events: buffer.read(after) };
  }

  /**
   * The turn streaming now in a conversation (from `from`, else its start), or undefined when none is.
   * With a `hop`, another process's classic turn answers where to forward the request.
   */
  async function openConversationStream(
    principal: Principal,
    conversationId: string,
    from?: ResumePosition,
    hop?: ForwardingHop,
  ): Promise<OpenedStream | PeerStream | undefined> {
    const current = buffers.currentForConversation(conversationId);
    if (current?.status === "streaming" && current.ownerId !== undefined && canSee(principal, current.ownerId)) {
      // The conversation's turn is a classic run streaming in this process (a newer turn would have ended it).
      const execution = { id: current.executionId, conversationId, mode: "classic" as const };
      return { execution, ...readClassicTurn(current, from) };
    }
    // The buffer of a classic turn that has ended here names the conversation's owner: no lookup for that
    // (a resume after the end then waits on one query, not two).
    if (current?.ownerId === undefined || !canSee(principal, current.ownerId)) {
      await context.visibleConversation(principal, conversationId);
    }
    const latest = await repositories.executions.latestForConversation(conversationId);
    if (!latest) return undefined;
    // A turn that has ended is served only to a client that names where it was cut off (API v1.1);
    // without an offset the AI SDK expects 204 for "nothing to resume".
    const ended = latest.status !== "running";
    if (ended && from === undefined) return undefined;
    if (latest.mode === "durable") {
      await context.requireDurable();
      if (!latest.workflowRunId) return undefined;
      if (from && "chunkIndex" in from) {
        // Counted on the whole turn as this reader yields it (r0, r1 … with superseded attempts left out).
        return { execution: latest, ...(await readFromChunk(durable.openTurn(latest), from.chunkIndex, { live: !ended })) };
      }
      return { execution: latest, events: durable.openTurn(latest, from?.offset) };
    }
    const buffer = buffers.get(latest.id);
    const elsewhere = buffer ? undefined : classicElsewhere(latest, offsetBefore(from), hop);
    if (elsewhere) return elsewhere;
    if (ended && !buffer) throw new GoneError(`the stream of execution ${latest.id} has expired`);
    if (!buffer || (!ended && buffer.status !== "streaming")) return undefined;
    return { execution: latest, ...readClassicTurn(buffer, from) };
  }

  return { openRunStream, openConversationStream };
}
