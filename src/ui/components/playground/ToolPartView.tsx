import { getToolOrDynamicToolName, type DynamicToolUIPart, type ToolUIPart } from "ai";
import { JsonBlock } from "../common/JsonBlock";
import { StatusBadge } from "../common/StatusBadge";

const STATE_LABELS: Record<string, string> = {
  "input-streaming": "preparing call",
  "input-available": "running",
  "approval-requested": "needs approval",
  "approval-responded": "decision sent",
  "output-available": "done",
  "output-error": "error",
  "output-denied": "denied",
};

interface Props {
  part: ToolUIPart | DynamicToolUIPart;
  onDecide(approvalId: string, approved: boolean): void;
  deciding: boolean;
}

export function ToolPartView({ part, onDecide, deciding }: Props) {
  const name = getToolOrDynamicToolName(part);
  return (
    <div className="tool-call" aria-label={`Tool call ${name}`} role="group">
      <div className="tool-call__header">
        <code>{name}</code>
        <StatusBadge status={part.state} label={STATE_LABELS[part.state] ?? part.state} />
      </div>
      {part.input !== undefined && <JsonBlock value={part.input} label={`${name} input`} />}
      {part.state === "approval-requested" && (
        <div className="approval" role="group" aria-label={`Approval for ${name}`}>
          <span>Run this tool?</span>
          <div className="button-row">
            <button type="button" className="button button--primary" disabled={deciding} onClick={() => onDecide(part.approval.id, true)}>
              Approve
            </button>
            <button type="button" className="button button--danger" disabled={deciding} onClick={() => onDecide(part.approval.id, false)}>
              Deny
            </button>
          </div>
        </div>
      )}
      {part.state === "approval-responded" && <p className="hint">{part.approval.approved ? "Approved; running…" : "Denied; continuing…"}</p>}
      {part.state === "output-available" && (
        <div className="tool-call__result">
          <span className="hint">Result</span>
          <JsonBlock value={part.output} label={`${name} result`} />
        </div>
      )}
      {part.state === "output-error" && <p className="field-error">Tool error: {part.errorText}</p>}
      {part.state === "output-denied" && (
        <p className="tool-call__denied">Denied{part.approval.reason ? `: ${part.approval.reason}` : ""}. The tool did not run.</p>
      )}
    </div>
  );
}
