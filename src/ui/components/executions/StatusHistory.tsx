import type { ObservedStatus } from "../../hooks/use-execution";
import { StatusBadge } from "../common/StatusBadge";
import { Timestamp } from "../common/Timestamp";

export function StatusHistory({ history }: { history: ObservedStatus[] }) {
  return (
    <section className="card" aria-labelledby="history-heading">
      <h2 id="history-heading">Status history</h2>
      <p className="hint">As observed by this page.</p>
      <ol className="status-history">
        {history.map((entry) => (
          <li key={`${entry.status}-${entry.at}`}>
            <Timestamp iso={entry.at} /> <StatusBadge status={entry.status} />
          </li>
        ))}
      </ol>
    </section>
  );
}
