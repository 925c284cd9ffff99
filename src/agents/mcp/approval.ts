import type { ToolApproval } from "../../../drizzle/schema";
import type { McpToolAnnotations } from "@ai-sdk/mcp";

/**
 * Whether a call of the tool waits for a person: `always` and `never` say so; `auto` (the default) asks
 * unless the server marks the tool read-only. Annotations are hints from the server, so only the
 * explicit `readOnlyHint: true` lets a call through unasked.
 */
export function needsApproval(approval: ToolApproval, annotations: McpToolAnnotations | undefined): boolean {
  if (approval === "always") return true;
  if (approval === "never") return false;
  return annotations?.readOnlyHint !== true;
}

/** The policy configured for a tool (`auto` when none is). */
export function approvalOf(approvals: Readonly<Record<string, ToolApproval>>, toolName: string): ToolApproval {
  return Object.hasOwn(approvals, toolName) ? approvals[toolName]! : "auto";
}
