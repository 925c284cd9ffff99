import type { ToolChoice } from "./tool-choices";

interface Props {
  choice: ToolChoice;
  checked: boolean;
  onToggle(reference: string, checked: boolean): void;
  disabled?: boolean;
  /** The name is prose ("All tools of …"), not a tool name in code type. */
  plainName?: boolean;
}

export function ToolCheckbox({ choice, checked, onToggle, disabled, plainName }: Props) {
  return (
    <label className="checkbox">
      <input
        type="checkbox"
        checked={checked}
        disabled={disabled}
        onChange={(event) => onToggle(choice.reference, event.target.checked)}
      />
      {plainName ? <span>{choice.name}</span> : <code>{choice.name}</code>} <span className="hint">{choice.description}</span>
    </label>
  );
}
