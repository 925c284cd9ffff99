import { getToolName, isToolUIPart, type UIMessage } from "ai";
import type { RecordedServerTools } from "../../agents/mcp";
import type { ToolCallOutcome } from "../../db/repositories/tool-calls";

type Part = UIMessage["parts"][number];

/** One MCP tool call the workflow makes in a step of its own. */
export interface ServerCall {
  toolCallId: string;
  /** The model's name of the tool (`<serverId>__<toolName>`). */
  toolName: string;
}
type ToolPart = Extract<Part, { toolCallId: string }>;

/**
 * The MCP tool calls a durable model round left for the workflow: the model called a recorded tool,
 * which has no `execute` there, and no person has to approve it (those wait as approval requests).
 */
export function pendingServerCalls(message: UIMessage | undefined, recorded: RecordedServerTools | undefined): ServerCall[] {
  if (!message || !recorded) return [];
  const names = new Set(recorded.tools.map((tool) => tool.name));
  return message.parts.flatMap((part) => {
    if (!isToolUIPart(part) || part.state !== "input-available") return [];
    const toolName = getToolName(part);
    return names.has(toolName) ? [{ toolCallId: part.toolCallId, toolName }] : [];
  });
}

/** The tool part of one call in a message. */
export function toolPartOf(message: UIMessage, toolCallId: string): ToolPart | undefined {
  return message.parts.find((part): part is ToolPart => isToolUIPart(part) && part.toolCallId === toolCallId);
}

/** The message with one call's outcome in its tool part (an approval on the part is kept). */
export function withToolOutcome(message: UIMessage, toolCallId: string, outcome: ToolCallOutcome): UIMessage {
  const result =
    outcome.status === "succeeded"
      ? { state: "output-available", output: outcome.output }
      : { state: "output-error", errorText: outcome.errorText };
  return {
    ...message,
    parts: message.parts.map((part) =>
      isToolUIPart(part) && part.toolCallId === toolCallId ? ({ ...part, ...result } as Part) : part,
    ),
  };
}
