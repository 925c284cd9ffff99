import { hrefs } from "../../routing/routes";
import type { ToolServer } from "../../tether-api/tool-servers";

export function ToolServerList({ servers, selectedId }: { servers: ToolServer[]; selectedId?: string }) {
  if (servers.length === 0) return <p className="hint">No tool servers yet.</p>;
  return (
    <ul className="agent-list">
      {servers.map((server) => {
        const selected = server.id === selectedId;
        return (
          <li key={server.id} className={selected ? "agent-list__item agent-list__item--selected" : "agent-list__item"}>
            <a href={hrefs.toolServer(server.id)} aria-current={selected ? "page" : undefined}>
              <span className="agent-list__name">{server.name}</span>
              <span className="agent-list__meta">
                <code>{server.id}</code> ·{" "}
                {server.toolsError !== undefined ? (
                  <span className="badge badge--error">unreachable</span>
                ) : (
                  `${server.tools.length} ${server.tools.length === 1 ? "tool" : "tools"}`
                )}
              </span>
            </a>
          </li>
        );
      })}
    </ul>
  );
}
