import { useState, type FormEvent } from "react";
import { createAgent, deleteAgent, updateAgent } from "../../tether-api/agents";
import type { Agent, ExecutionMode } from "../../tether-api/types";
import { hrefs } from "../../routing/routes";
import { ErrorBanner } from "../common/ErrorBanner";
import { changedFields, createInput, draftOf, EMPTY_DRAFT, type AgentDraft } from "./agent-draft";
import { ExecutionModeField } from "./ExecutionModeField";
import { formErrorsFrom, NO_ERRORS, type FormErrors } from "../common/form-errors";
import { TextField } from "../common/TextField";
import { ToolsField } from "./ToolsField";

const FIELDS = ["id", "name", "instructions", "model", "tools", "executionMode"] as const;
const MODEL_SUGGESTIONS = ["demo", "demo:25", "openai:gpt-4o-mini"];

interface Props {
  /** The agent to edit; none to create one. */
  agent?: Agent;
  onSaved(agent: Agent): void;
  onDeleted(id: string): void;
}

export function AgentForm({ agent, onSaved, onDeleted }: Props) {
  const [saved, setSaved] = useState<Agent | undefined>(agent);
  const [draft, setDraft] = useState<AgentDraft>(agent ? draftOf(agent) : EMPTY_DRAFT);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState("");
  const [modeState, setModeState] = useState("");

  const edit = <K extends keyof AgentDraft>(key: K, value: AgentDraft[K]) => {
    setDraft((current) => ({ ...current, [key]: value }));
    setNotice("");
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const result = saved ? await updateAgent(saved.id, changedFields(saved, draft)) : await createAgent(createInput(draft));
      setSaved(result);
      setDraft(draftOf(result));
      setNotice(saved ? "Saved." : "Created.");
      onSaved(result);
    } catch (error) {
      setErrors(formErrorsFrom(error, FIELDS));
    } finally {
      setBusy(false);
    }
  };

  // The mode of an existing agent is saved as soon as it changes: it decides how the next run executes.
  const changeMode = async (mode: ExecutionMode) => {
    edit("executionMode", mode);
    if (!saved) return;
    setModeState("Saving…");
    setErrors(NO_ERRORS);
    try {
      const result = await updateAgent(saved.id, { executionMode: mode });
      setSaved(result);
      setModeState(`Saved: ${result.executionMode}`);
      onSaved(result);
    } catch (error) {
      setModeState("");
      edit("executionMode", saved.executionMode);
      setErrors(formErrorsFrom(error, FIELDS));
    }
  };

  const remove = async () => {
    if (!saved || !window.confirm(`Delete agent “${saved.name}”?`)) return;
    setBusy(true);
    try {
      await deleteAgent(saved.id);
      onDeleted(saved.id);
    } catch (error) {
      setErrors(formErrorsFrom(error, FIELDS));
      setBusy(false);
    }
  };

  return (
    <form className="card agent-form" onSubmit={submit} aria-label={saved ? `Edit agent ${saved.name}` : "New agent"} noValidate>
      <div className="card__header">
        <h2>{saved ? saved.name : "New agent"}</h2>
        {saved && (
          <a className="button" href={hrefs.playground(saved.id)}>
            Open playground
          </a>
        )}
      </div>
      <ErrorBanner message={errors.form} />
      {!saved && (
        <TextField
          label="Agent id"
          value={draft.id}
          onChange={(value) => edit("id", value)}
          error={errors.fields.id}
          hint="Optional; the server picks one when empty."
        />
      )}
      {saved && (
        <p className="hint">
          Id <code>{saved.id}</code>
        </p>
      )}
      <TextField label="Name" value={draft.name} onChange={(value) => edit("name", value)} error={errors.fields.name} required />
      <TextField
        label="Instructions"
        value={draft.instructions}
        onChange={(value) => edit("instructions", value)}
        error={errors.fields.instructions}
        multiline
      />
      <TextField
        label="Model"
        value={draft.model}
        onChange={(value) => edit("model", value)}
        error={errors.fields.model}
        hint={'"demo", "demo:<ms per token>" or "openai:<model>"'}
        list="model-suggestions"
      />
      <datalist id="model-suggestions">
        {MODEL_SUGGESTIONS.map((model) => (
          <option key={model} value={model} />
        ))}
      </datalist>
      <ToolsField value={draft.tools} onChange={(tools) => edit("tools", tools)} error={errors.fields.tools} />
      <ExecutionModeField
        value={draft.executionMode}
        onChange={(mode) => void changeMode(mode)}
        error={errors.fields.executionMode}
        saveState={modeState}
      />
      <div className="button-row">
        <button type="submit" className="button button--primary" disabled={busy}>
          {saved ? "Save" : "Create agent"}
        </button>
        {saved && (
          <button type="button" className="button button--danger" disabled={busy} onClick={() => void remove()}>
            Delete
          </button>
        )}
        <span role="status" className="save-state">
          {notice}
        </span>
      </div>
    </form>
  );
}
