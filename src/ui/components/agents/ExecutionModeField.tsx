import { useId } from "react";
import type { ExecutionMode } from "../../tether-api/types";
import { FieldError } from "../common/FieldError";

const EXPLANATIONS: Record<ExecutionMode, string> = {
  classic: "runs inside the server process; a dropped connection picks the answer up again from an in-memory stream.",
  durable: "runs as a workflow that survives crashes and restarts, and can wait hours for a tool approval.",
};

interface Props {
  value: ExecutionMode;
  onChange(mode: ExecutionMode): void;
  error?: string;
  /** What happened to the last change (e.g. "Saved"); announced politely. */
  saveState?: string;
  disabled?: boolean;
}

export function ExecutionModeField({ value, onChange, error, saveState, disabled }: Props) {
  const selectId = useId();
  const helpId = useId();
  const errorId = useId();
  return (
    <div className="field">
      <label htmlFor={selectId}>Execution mode</label>
      <div className="field__inline">
        <select
          id={selectId}
          value={value}
          disabled={disabled}
          aria-describedby={error ? `${helpId} ${errorId}` : helpId}
          aria-invalid={error ? true : undefined}
          onChange={(event) => onChange(event.target.value as ExecutionMode)}
        >
          <option value="classic">classic</option>
          <option value="durable">durable</option>
        </select>
        <span className="save-state" role="status">
          {saveState}
        </span>
      </div>
      <ul id={helpId} className="mode-help">
        {(Object.keys(EXPLANATIONS) as ExecutionMode[]).map((mode) => (
          <li key={mode} className={mode === value ? "mode-help__item mode-help__item--selected" : "mode-help__item"}>
            <strong>{mode}</strong> — {EXPLANATIONS[mode]}
          </li>
        ))}
      </ul>
      <FieldError id={errorId} message={error} />
    </div>
  );
}
