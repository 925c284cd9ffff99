import { useId, useState } from "react";
import { describeError } from "../../tether-api/client";
import type { ServerTool, ToolApproval } from "../../tether-api/tool-servers";
import { FieldError } from "../common/FieldError";
import { annotationBadges } from "./annotation-badges";

const APPROVAL_LABELS: Record<ToolApproval, string> = {
  auto: "auto (ask unless read-only)",
  always: "always ask",
  never: "never ask",
};

interface Props {
  tool: ServerTool;
  /** Saves the tool's approval policy; resolves once the server's answer is shown. */
  onApprovalChange(approval: ToolApproval): Promise<void>;
}

export function ServerToolItem({ tool, onApprovalChange }: Props) {
  const selectId = useId();
  const errorId = useId();
  const nameId = useId();
  const [saveState, setSaveState] = useState("");
  const [error, setError] = useState<string>();
  const badges = annotationBadges(tool.annotations);
  const title = typeof tool.annotations.title === "string" ? tool.annotations.title : undefined;

  const change = async (approval: ToolApproval) => {
    setSaveState("Saving…");
    setError(undefined);
    try {
      await onApprovalChange(approval);
      setSaveState("Saved");
    } catch (failure) {
      setSaveState("");
      setError(describeError(failure));
    }
  };

  return (
    <li className="server-tool" aria-labelledby={nameId}>
      <div className="server-tool__header">
        <code id={nameId} className="server-tool__name">
          {tool.name}
        </code>
        {title && <span>{title}</span>}
        <span className={tool.needsApproval ? "badge badge--approval" : "badge badge--ready"}>
          {tool.needsApproval ? "needs approval" : "runs without approval"}
        </span>
      </div>
      {tool.description && <p className="server-tool__description">{tool.description}</p>}
      {badges.length > 0 ? (
        <ul className="annotation-list" aria-label={`Annotations of ${tool.name}`}>
          {badges.map((badge) => (
            <li key={badge.hint} className={`badge badge--hint-${badge.tone}`} title={badge.hint}>
              {badge.label}
            </li>
          ))}
        </ul>
      ) : (
        <p className="hint">No annotations.</p>
      )}
      <div className="field__inline">
        <label htmlFor={selectId}>
          Approval<span className="visually-hidden"> for {tool.name}</span>
        </label>
        <select
          id={selectId}
          value={tool.approval}
          aria-describedby={error ? errorId : undefined}
          aria-invalid={error ? true : undefined}
          onChange={(event) => void change(event.target.value as ToolApproval)}
        >
          {(Object.keys(APPROVAL_LABELS) as ToolApproval[]).map((approval) => (
            <option key={approval} value={approval}>
              {APPROVAL_LABELS[approval]}
            </option>
          ))}
        </select>
        <span className="save-state" role="status">
          {saveState}
        </span>
      </div>
      <FieldError id={errorId} message={error} />
    </li>
  );
}
