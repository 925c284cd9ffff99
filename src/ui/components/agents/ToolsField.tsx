import { useId } from "react";
import { useToolServers } from "../../hooks/use-tool-servers";
import { FieldError } from "../common/FieldError";
import { ToolCheckbox } from "./ToolCheckbox";
import { BUILT_IN_CHOICES, serverToolGroups, unaccountedTools } from "./tool-choices";

interface Props {
  value: string[];
  onChange(tools: string[]): void;
  error?: string;
}

/** The agent's tools: the built-in ones and those of every registered tool server. */
export function ToolsField({ value, onChange, error }: Props) {
  const errorId = useId();
  const { toolServers, error: serversError } = useToolServers();
  const toggle = (tool: string, checked: boolean) =>
    onChange(checked ? [...value.filter((name) => name !== tool), tool] : value.filter((name) => name !== tool));
  const groups = toolServers ? serverToolGroups(toolServers, value) : [];
  // until the servers are known, their entries cannot be placed; shown once listing answered or failed
  const others = toolServers || serversError ? unaccountedTools(toolServers ?? [], value) : [];

  return (
    <fieldset className="field tools-field" aria-describedby={error ? errorId : undefined}>
      <legend>Tools</legend>
      <fieldset className="tool-group">
        <legend>Built-in</legend>
        {BUILT_IN_CHOICES.map((choice) => (
          <ToolCheckbox key={choice.reference} choice={choice} checked={value.includes(choice.reference)} onToggle={toggle} />
        ))}
      </fieldset>
      {!toolServers && !serversError && <p className="hint">Loading tool servers…</p>}
      {serversError && <p className="hint">Tool servers could not be listed: {serversError}</p>}
      {groups.map(({ server, allReference, choices }) => {
        const all = value.includes(allReference);
        return (
          <fieldset key={server.id} className="tool-group">
            <legend>
              {server.name} <code className="hint">{server.id}</code>
            </legend>
            <ToolCheckbox
              choice={{ reference: allReference, name: `All tools of ${server.name}`, description: "including tools it adds later" }}
              plainName
              checked={all}
              onToggle={toggle}
            />
            {server.toolsError !== undefined && <p className="hint">Its tools cannot be listed now: {server.toolsError}</p>}
            {choices.map((choice) => (
              // "all tools" covers each of them: shown ticked, and kept as chosen for when "all" is unticked
              <ToolCheckbox
                key={choice.reference}
                choice={choice}
                checked={all || value.includes(choice.reference)}
                disabled={all}
                onToggle={toggle}
              />
            ))}
          </fieldset>
        );
      })}
      {others.length > 0 && (
        <fieldset className="tool-group">
          <legend>Other entries</legend>
          {others.map((reference) => (
            <ToolCheckbox
              key={reference}
              choice={{ reference, name: reference, description: "no tool server shown here offers it" }}
              checked
              onToggle={toggle}
            />
          ))}
        </fieldset>
      )}
      <FieldError id={errorId} message={error} />
    </fieldset>
  );
}
