import { useState } from "react";
import { describeError } from "../../tether-api/client";
import {
  deleteToolServer,
  getToolServer,
  serverToolReference,
  updateToolServer,
  type ToolApproval,
  type ToolServer,
} from "../../tether-api/tool-servers";
import { ErrorBanner } from "../common/ErrorBanner";
import { HeaderSummary } from "./HeaderSummary";
import { ServerToolItem } from "./ServerToolItem";

interface Props {
  server: ToolServer;
  /** The server as the API last answered it (after a change or a reload). */
  onChanged(server: ToolServer): void;
  onDeleted(id: string): void;
}

export function ToolServerDetail({ server, onChanged, onDeleted }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const run = async (task: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await task();
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  const reload = () => run(async () => onChanged(await getToolServer(server.id)));
  const remove = () => {
    if (!window.confirm(`Delete tool server “${server.name}”?`)) return;
    void run(async () => {
      await deleteToolServer(server.id);
      onDeleted(server.id);
    });
  };
  const changeApproval = async (toolName: string, approval: ToolApproval) =>
    onChanged(await updateToolServer(server.id, { approvals: { [toolName]: approval } }));

  return (
    <section className="card" aria-labelledby="tool-server-heading">
      <div className="card__header">
        <h2 id="tool-server-heading">{server.name}</h2>
        <div className="button-row">
          <button type="button" className="button" disabled={busy} onClick={() => void reload()}>
            Reload tools
          </button>
          <button type="button" className="button button--danger" disabled={busy} onClick={remove}>
            Delete
          </button>
        </div>
      </div>
      <ErrorBanner message={error} />
      <dl className="summary">
        <dt>Id</dt>
        <dd>
          <code>{server.id}</code>
        </dd>
        <dt>URL</dt>
        <dd>
          <code>{server.url}</code>
        </dd>
        <dt>Transport</dt>
        <dd>{server.transport === "sse" ? "SSE (legacy)" : "Streamable HTTP"}</dd>
        <dt>Headers</dt>
        <dd>
          <HeaderSummary headers={server.headers} />
        </dd>
      </dl>
      <h3 className="tool-server__tools-heading">Tools</h3>
      {server.toolsError !== undefined && (
        <p className="error-banner" role="alert">
          Could not list the tools: {server.toolsError}
        </p>
      )}
      {server.tools.length > 0 && (
        <>
          <p className="hint">
            Agents pick these as <code>{serverToolReference(server.id, "<tool>")}</code>, or all of them as{" "}
            <code>{serverToolReference(server.id)}</code>.
          </p>
          <ul className="server-tool-list" aria-label={`Tools of ${server.name}`}>
            {server.tools.map((tool) => (
              <ServerToolItem key={tool.name} tool={tool} onApprovalChange={(approval) => changeApproval(tool.name, approval)} />
            ))}
          </ul>
        </>
      )}
      {server.tools.length === 0 && server.toolsError === undefined && <p className="hint">This server offers no tools.</p>}
    </section>
  );
}
