import { isToolOrDynamicToolUIPart, type UIMessage } from "ai";

export function lastAssistantMessage(messages: UIMessage[]): UIMessage | undefined {
  const last = messages[messages.length - 1];
  return last?.role === "assistant" ? last : undefined;
}

/** True while the last answer holds a tool call nobody has decided on yet. */
export function awaitsApproval(messages: UIMessage[]): boolean {
  const last = lastAssistantMessage(messages);
  return !!last?.parts.some((part) => isToolOrDynamicToolUIPart(part) && part.state === "approval-requested");
}

function weight(message: UIMessage | undefined): number {
  if (!message) return 0;
  const textLength = message.parts.reduce((sum, part) => sum + (part.type === "text" ? part.text.length : 0), 0);
  const settledTools = message.parts.filter(
    (part) => isToolOrDynamicToolUIPart(part) && part.state !== "approval-requested" && part.state !== "input-available",
  ).length;
  return message.parts.length * 100_000 + settledTools * 10_000 + textLength;
}

/**
 * Whether the persisted conversation holds more than the page shows: a turn that ended while the page was
 * not attached (finished before the resume, or continued after an approval from another tab).
 */
export function serverIsAhead(local: UIMessage[], persisted: UIMessage[]): boolean {
  if (persisted.length !== local.length) return persisted.length > local.length;
  const serverLast = persisted[persisted.length - 1];
  const localLast = local[local.length - 1];
  if (serverLast?.id !== localLast?.id) return false;
  return weight(serverLast) > weight(localLast);
}
