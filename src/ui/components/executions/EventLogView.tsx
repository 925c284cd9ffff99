import type { EventLog } from "../../executions/event-log";
import type { StreamPhase } from "../../hooks/use-execution-stream";
import { ErrorBanner } from "../common/ErrorBanner";
import { JsonBlock } from "../common/JsonBlock";
import { StatusBadge } from "../common/StatusBadge";

const PHASE_LABELS: Record<StreamPhase, string> = {
  connecting: "connecting",
  live: "live",
  reconnecting: "reconnecting",
  ended: "ended",
  expired: "expired (classic streams are kept for a while only)",
  failed: "unavailable",
};

export function EventLogView({ log, phase, error }: { log: EventLog; phase: StreamPhase; error: string | null }) {
  return (
    <section className="card" aria-labelledby="stream-heading">
      <div className="card__header">
        <h2 id="stream-heading">Stream</h2>
        <span role="status" aria-label="Stream status">
          <StatusBadge status={phase} label={PHASE_LABELS[phase]} />
        </span>
      </div>
      <ErrorBanner message={error} />
      {log.items.length === 0 && phase !== "expired" && <p className="hint">No events yet.</p>}
      <div className="event-log">
        {log.items.map((item) => {
          switch (item.kind) {
            case "round":
              return (
                <p key={item.key} className="event-log__round">
                  round {item.round} (continued after a decision)
                </p>
              );
            case "text":
              return (
                <p key={item.key} className="message-text">
                  {item.text}
                </p>
              );
            case "reasoning":
              return (
                <p key={item.key} className="message-reasoning">
                  {item.text}
                </p>
              );
            case "tool":
              return (
                <div key={item.key} className="tool-call" role="group" aria-label={`Tool call ${item.toolName}`}>
                  <div className="tool-call__header">
                    <code>{item.toolName}</code> <StatusBadge status={item.state.replace(/\s+/g, "-")} label={item.state} />
                  </div>
                  {item.input !== undefined && <JsonBlock value={item.input} label={`${item.toolName} input`} />}
                  {item.output !== undefined && (
                    <>
                      <span className="hint">Result</span>
                      <JsonBlock value={item.output} label={`${item.toolName} result`} />
                    </>
                  )}
                  {item.errorText && <p className="field-error">{item.errorText}</p>}
                </div>
              );
            case "error":
              return (
                <p key={item.key} className="field-error">
                  Error: {item.text}
                </p>
              );
            case "terminal":
              return (
                <p key={item.key} className="event-log__terminal">
                  stream ended: <StatusBadge status={item.reason} />
                </p>
              );
          }
        })}
      </div>
    </section>
  );
}
