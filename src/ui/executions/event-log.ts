/** A UI message stream chunk as the execution stream carries it (only the fields the log reads). */
export interface StreamChunk {
  type: string;
  id?: string;
  delta?: string;
  toolCallId?: string;
  toolName?: string;
  input?: unknown;
  output?: unknown;
  errorText?: string;
  finishReason?: string;
  data?: unknown;
}

export type ToolState = "calling" | "awaiting approval" | "done" | "error" | "denied";

export type LogItem =
  | { kind: "round"; key: string; round: string }
  | { kind: "text"; key: string; text: string }
  | { kind: "reasoning"; key: string; text: string }
  | { kind: "tool"; key: string; toolName: string; input?: unknown; state: ToolState; output?: unknown; errorText?: string }
  | { kind: "error"; key: string; text: string }
  | { kind: "terminal"; key: string; reason: string };

export interface EventLog {
  items: LogItem[];
  round: string;
}

export const EMPTY_LOG: EventLog = { items: [], round: "" };

/** Offsets are `<round>.<index>`: a durable run writes one round per namespace (r0, r1 after an approval…). */
function roundOf(offset: string | undefined, fallback: string): string {
  return offset?.split(".")[0] ?? fallback;
}

function upsert(items: LogItem[], key: string, create: () => LogItem, update: (item: LogItem) => LogItem): LogItem[] {
  const index = items.findIndex((item) => item.key === key);
  if (index === -1) return [...items, create()];
  const next = items.slice();
  next[index] = update(items[index]!);
  return next;
}

function updateTool(items: LogItem[], chunk: StreamChunk, change: Partial<Extract<LogItem, { kind: "tool" }>>): LogItem[] {
  const key = `tool:${chunk.toolCallId}`;
  return upsert(
    items,
    key,
    () => ({ kind: "tool", key, toolName: chunk.toolName ?? "tool", state: "calling", ...change }),
    (item) => (item.kind === "tool" ? { ...item, ...change } : item),
  );
}

/** Folds one stream event into the log shown on the execution page. */
export function applyChunk(log: EventLog, offset: string | undefined, chunk: StreamChunk): EventLog {
  const round = roundOf(offset, log.round);
  let items = log.items;
  if (round !== log.round && chunk.type === "start" && log.round !== "") {
    items = [...items, { kind: "round", key: `round:${round}`, round }];
  }
  switch (chunk.type) {
    case "text-delta":
    case "reasoning-delta": {
      const kind = chunk.type === "text-delta" ? "text" : "reasoning";
      const key = `${kind}:${round}:${chunk.id}`;
      const delta = chunk.delta ?? "";
      items = upsert(
        items,
        key,
        () => ({ kind, key, text: delta }),
        (item) => (item.kind === kind ? { ...item, text: item.text + delta } : item),
      );
      break;
    }
    case "tool-input-start":
      items = updateTool(items, chunk, { toolName: chunk.toolName ?? "tool" });
      break;
    case "tool-input-available":
      items = updateTool(items, chunk, { toolName: chunk.toolName ?? "tool", input: chunk.input });
      break;
    case "tool-approval-request":
      items = updateTool(items, chunk, { state: "awaiting approval" });
      break;
    case "tool-output-available":
      items = updateTool(items, chunk, { state: "done", output: chunk.output });
      break;
    case "tool-output-error":
    case "tool-input-error":
      items = updateTool(items, chunk, { state: "error", errorText: chunk.errorText });
      break;
    case "tool-output-denied":
      items = updateTool(items, chunk, { state: "denied" });
      break;
    case "error":
      items = [...items, { kind: "error", key: `error:${offset ?? items.length}`, text: chunk.errorText ?? "error" }];
      break;
    case "data-terminal": {
      const reason = (chunk.data as { reason?: string } | undefined)?.reason ?? "ended";
      items = [...items, { kind: "terminal", key: `terminal:${offset ?? items.length}`, reason }];
      break;
    }
    default:
      break;
  }
  return { items, round };
}
