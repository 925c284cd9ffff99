import { useToolServers } from "../../hooks/use-tool-servers";
import { navigate } from "../../routing/navigation";
import { hrefs } from "../../routing/routes";
import { ErrorBanner } from "../common/ErrorBanner";
import { ToolServerDetail } from "./ToolServerDetail";
import { ToolServerForm } from "./ToolServerForm";
import { ToolServerList } from "./ToolServerList";

export function ToolServersPage({ serverId, creating }: { serverId?: string; creating?: boolean }) {
  const { toolServers, error, upsert, remove } = useToolServers();
  const selected = toolServers?.find((server) => server.id === serverId);

  return (
    <div className="split">
      <section className="split__side" aria-labelledby="tool-servers-heading">
        <div className="section-header">
          <h1 id="tool-servers-heading">Tool servers</h1>
          <a className="button button--primary" href={hrefs.newToolServer()}>
            New tool server
          </a>
        </div>
        <ErrorBanner message={error} />
        {toolServers ? (
          <ToolServerList servers={toolServers} selectedId={serverId} />
        ) : (
          !error && <p className="hint">Loading… (each server is asked for its tools)</p>
        )}
      </section>
      <section className="split__main">
        {creating && (
          <ToolServerForm
            onCreated={(server) => {
              upsert(server);
              navigate(hrefs.toolServer(server.id));
            }}
          />
        )}
        {!creating && selected && (
          <ToolServerDetail
            key={selected.id}
            server={selected}
            onChanged={upsert}
            onDeleted={(id) => {
              remove(id);
              navigate(hrefs.toolServers());
            }}
          />
        )}
        {!creating && serverId && toolServers && !selected && <ErrorBanner message={`Tool server “${serverId}” was not found.`} />}
        {!creating && !serverId && toolServers && (
          <p className="card hint">
            A tool server offers tools over the Model Context Protocol. Add one, then pick its tools in an agent's form.
          </p>
        )}
      </section>
    </div>
  );
}
