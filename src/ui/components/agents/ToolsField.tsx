import { useId } from "react";
import { TOOL_NAMES } from "../../tether-api/types";
import { FieldError } from "./FieldError";

const DESCRIPTIONS: Record<(typeof TOOL_NAMES)[number], string> = {
  get_time: "current time, no approval",
  send_email: "sends an email, needs approval",
};

export function ToolsField({ value, onChange, error }: { value: string[]; onChange(tools: string[]): void; error?: string }) {
  const errorId = useId();
  const toggle = (tool: string, checked: boolean) =>
    onChange(checked ? [...value.filter((name) => name !== tool), tool] : value.filter((name) => name !== tool));
  return (
    <fieldset className="field" aria-describedby={error ? errorId : undefined}>
      <legend>Tools</legend>
      {TOOL_NAMES.map((tool) => (
        <label key={tool} className="checkbox">
          <input type="checkbox" checked={value.includes(tool)} onChange={(event) => toggle(tool, event.target.checked)} />
          <code>{tool}</code> <span className="hint">{DESCRIPTIONS[tool]}</span>
        </label>
      ))}
      <FieldError id={errorId} message={error} />
    </fieldset>
  );
}
