import type { Execution } from "../../tether-api/types";
import type { VisibleStatus } from "../../chat/visible-status";
import { hrefs } from "../../routing/routes";
import { StatusBadge } from "../common/StatusBadge";

export function TurnStatusBar({ status, execution }: { status: VisibleStatus; execution: Execution | null }) {
  return (
    <div className="turn-status">
      <div role="status" aria-label="Chat status" className="turn-status__chat">
        <span className="hint">Status</span> <StatusBadge status={status} />
      </div>
      <div className="turn-status__execution" role="group" aria-label="Current execution">
        {execution ? (
          <>
            <span className="hint">Execution</span> <a href={hrefs.execution(execution.id)}>{execution.id}</a>{" "}
            <StatusBadge status={execution.mode} /> <StatusBadge status={execution.status} />
          </>
        ) : (
          <span className="hint">No execution yet</span>
        )}
      </div>
    </div>
  );
}
