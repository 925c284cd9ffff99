import { useId } from "react";
import { FieldError } from "../common/FieldError";
import { SelectField } from "../common/SelectField";
import { TextField } from "../common/TextField";
import { newHeaderDraft, type HeaderDraft } from "./header-drafts";

const SOURCES: ReadonlyArray<{ value: HeaderDraft["source"]; label: string }> = [
  { value: "credential", label: "a credential on the server" },
  { value: "value", label: "a value typed here" },
];

interface Props {
  value: HeaderDraft[];
  onChange(headers: HeaderDraft[]): void;
  error?: string;
}

/** The headers sent to the tool server; credentials are named here and resolved by Tether at call time. */
export function HeadersField({ value, onChange, error }: Props) {
  const errorId = useId();
  const update = (key: number, change: Partial<HeaderDraft>) =>
    onChange(value.map((header) => (header.key === key ? { ...header, ...change } : header)));
  return (
    <fieldset className="field header-rows" aria-describedby={error ? errorId : undefined}>
      <legend>Headers</legend>
      <p className="hint">
        A credential is read from <code>TETHER_CREDENTIAL_&lt;NAME&gt;</code> in the Tether server's environment each time the
        server is asked; no value comes back from the API.
      </p>
      {value.map((header, index) => {
        const title = `Header ${index + 1}`;
        return (
          <fieldset key={header.key} className="header-row">
            <legend>{title}</legend>
            <div className="header-row__fields">
              <TextField label="Header name" value={header.name} onChange={(name) => update(header.key, { name })} />
              <SelectField
                label="Value from"
                value={header.source}
                options={SOURCES}
                onChange={(source) => update(header.key, { source })}
              />
              {header.source === "credential" ? (
                <>
                  <TextField
                    label="Credential name"
                    value={header.credential}
                    onChange={(credential) => update(header.key, { credential })}
                    hint="NOTES_TOKEN reads TETHER_CREDENTIAL_NOTES_TOKEN."
                  />
                  <TextField
                    label="Prefix"
                    value={header.prefix}
                    onChange={(prefix) => update(header.key, { prefix })}
                    hint={'Sent before the credential, e.g. "Bearer " (with its space); optional.'}
                  />
                </>
              ) : (
                <TextField
                  label="Value"
                  type="password"
                  value={header.value}
                  onChange={(text) => update(header.key, { value: text })}
                  hint="Stored by Tether and shown back as ***."
                />
              )}
            </div>
            <button
              type="button"
              className="button button--quiet"
              onClick={() => onChange(value.filter((other) => other.key !== header.key))}
            >
              Remove {title.toLowerCase()}
            </button>
          </fieldset>
        );
      })}
      <div>
        <button type="button" className="button" onClick={() => onChange([...value, newHeaderDraft(value)])}>
          Add header
        </button>
      </div>
      <FieldError id={errorId} message={error} />
    </fieldset>
  );
}
