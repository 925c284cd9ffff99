import { useState } from "react";
import { describeError } from "../../tether-api/client";
import { decideApproval } from "../../tether-api/executions";
import type { PendingApproval } from "../../tether-api/types";
import { ErrorBanner } from "../common/ErrorBanner";
import { JsonBlock } from "../common/JsonBlock";
import { Timestamp } from "../common/Timestamp";

interface Props {
  executionId: string;
  approvals: PendingApproval[];
  onDecided(): void;
}

export function PendingApprovals({ executionId, approvals, onDecided }: Props) {
  const [busyCall, setBusyCall] = useState<string | null>(null);
  const [decided, setDecided] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  const decide = async (toolCallId: string, approved: boolean) => {
    setBusyCall(toolCallId);
    setError(null);
    try {
      const result = await decideApproval(executionId, toolCallId, approved);
      setDecided((current) => ({ ...current, [toolCallId]: result.status }));
      onDecided();
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusyCall(null);
    }
  };

  if (approvals.length === 0) return null;
  return (
    <section className="card" aria-labelledby="approvals-heading">
      <h2 id="approvals-heading">Pending approvals</h2>
      <ErrorBanner message={error} />
      <ul className="approval-list">
        {approvals.map((approval) => (
          <li key={approval.toolCallId} className="approval" role="group" aria-label={`Approval for ${approval.toolName}`}>
            <div>
              <code>{approval.toolName}</code> <span className="hint">requested <Timestamp iso={approval.requestedAt} /></span>
            </div>
            <JsonBlock value={approval.input} label={`${approval.toolName} input`} />
            {decided[approval.toolCallId] ? (
              <p role="status">Decision recorded: {decided[approval.toolCallId]}</p>
            ) : (
              <div className="button-row">
                <button
                  type="button"
                  className="button button--primary"
                  disabled={busyCall !== null}
                  onClick={() => void decide(approval.toolCallId, true)}
                >
                  Approve
                </button>
                <button
                  type="button"
                  className="button button--danger"
                  disabled={busyCall !== null}
                  onClick={() => void decide(approval.toolCallId, false)}
                >
                  Deny
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
