import type { ToolAnnotations } from "../../tether-api/tool-servers";

export interface AnnotationBadge {
  /** The hint as the server sent it, e.g. `readOnlyHint: true`. */
  hint: string;
  label: string;
  /** The badge's colour class: `safe` hints green, `risky` ones red, the rest neutral. */
  tone: "safe" | "risky" | "neutral";
}

const HINTS = [
  { key: "readOnlyHint", whenTrue: ["read-only", "safe"], whenFalse: ["writes", "neutral"] },
  { key: "idempotentHint", whenTrue: ["idempotent", "safe"], whenFalse: ["not idempotent", "neutral"] },
  { key: "destructiveHint", whenTrue: ["destructive", "risky"], whenFalse: ["not destructive", "neutral"] },
  { key: "openWorldHint", whenTrue: ["open world", "neutral"], whenFalse: ["closed world", "neutral"] },
] as const;

/** One badge per boolean hint the server set; a hint it left out gets none (MCP's defaults are not assumed). */
export function annotationBadges(annotations: ToolAnnotations): AnnotationBadge[] {
  return HINTS.flatMap(({ key, whenTrue, whenFalse }) => {
    const value = annotations[key];
    if (typeof value !== "boolean") return [];
    const [label, tone] = value ? whenTrue : whenFalse;
    return [{ hint: `${key}: ${value}`, label, tone }];
  });
}
