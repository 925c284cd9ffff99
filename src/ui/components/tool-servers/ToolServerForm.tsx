import { useState, type FormEvent } from "react";
import { createToolServer, type ToolServer, type ToolServerTransport } from "../../tether-api/tool-servers";
import { ErrorBanner } from "../common/ErrorBanner";
import { formErrorsFrom, NO_ERRORS, type FormErrors } from "../common/form-errors";
import { SelectField } from "../common/SelectField";
import { TextField } from "../common/TextField";
import { headersInput, type HeaderDraft } from "./header-drafts";
import { HeadersField } from "./HeadersField";

const FIELDS = ["id", "name", "url", "transport", "headers"] as const;
const TRANSPORTS: ReadonlyArray<{ value: ToolServerTransport; label: string }> = [
  { value: "http", label: "Streamable HTTP" },
  { value: "sse", label: "SSE (legacy)" },
];

/** Registers a tool server; Tether connects to it first, so a wrong URL or header is reported here. */
export function ToolServerForm({ onCreated }: { onCreated(server: ToolServer): void }) {
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [transport, setTransport] = useState<ToolServerTransport>("http");
  const [headers, setHeaders] = useState<HeaderDraft[]>([]);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const headerBody = headersInput(headers);
      const server = await createToolServer({
        ...(id.trim() ? { id: id.trim() } : {}),
        name,
        url: url.trim(),
        transport,
        ...(headerBody ? { headers: headerBody } : {}),
      });
      onCreated(server);
    } catch (error) {
      setErrors(formErrorsFrom(error, FIELDS));
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={submit} aria-label="New tool server" noValidate>
      <div className="card__header">
        <h2>New tool server</h2>
      </div>
      <ErrorBanner message={errors.form} />
      <TextField
        label="Server id"
        value={id}
        onChange={setId}
        error={errors.fields.id}
        hint="Optional; agents name its tools as <id>:<tool>. Letters and digits, words joined by - or _."
      />
      <TextField label="Name" value={name} onChange={setName} error={errors.fields.name} required />
      <TextField
        label="URL"
        type="url"
        value={url}
        onChange={setUrl}
        error={errors.fields.url}
        placeholder="http://127.0.0.1:3001/mcp"
        required
      />
      <SelectField label="Transport" value={transport} options={TRANSPORTS} onChange={setTransport} error={errors.fields.transport} />
      <HeadersField value={headers} onChange={setHeaders} error={errors.fields.headers} />
      <div className="button-row">
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? "Connecting…" : "Add tool server"}
        </button>
      </div>
    </form>
  );
}
