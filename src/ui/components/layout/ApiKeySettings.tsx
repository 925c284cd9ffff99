import { useId, useState, type FormEvent } from "react";
import { saveApiKey } from "../../tether-api/api-key";
import { useApiKey } from "../../hooks/use-api-key";

/** Optional bearer token for servers with TETHER_API_KEYS or JWT auth; kept in this browser only. */
export function ApiKeySettings() {
  const apiKey = useApiKey();
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState(apiKey);
  const panelId = useId();
  const inputId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    saveApiKey(draft);
    setOpen(false);
  };

  return (
    <div className="settings">
      <button
        type="button"
        className="button button--quiet"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => {
          setDraft(apiKey);
          setOpen((value) => !value);
        }}
      >
        Settings{apiKey ? " (key set)" : ""}
      </button>
      {open && (
        <form id={panelId} className="settings__panel" onSubmit={submit}>
          <label htmlFor={inputId}>API key</label>
          <input
            id={inputId}
            type="password"
            autoComplete="off"
            value={draft}
            placeholder="optional bearer token"
            onChange={(event) => setDraft(event.target.value)}
          />
          <p className="hint">Sent as “Authorization: Bearer …” with every request. Stored in this browser.</p>
          <div className="button-row">
            <button type="submit" className="button">
              Save
            </button>
            <button
              type="button"
              className="button button--quiet"
              onClick={() => {
                saveApiKey("");
                setDraft("");
                setOpen(false);
              }}
            >
              Clear
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
