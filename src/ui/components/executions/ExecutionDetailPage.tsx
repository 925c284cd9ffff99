import { useState } from "react";
import { describeError } from "../../tether-api/client";
import { cancelExecution } from "../../tether-api/executions";
import { isFinished } from "../../tether-api/types";
import { useExecution } from "../../hooks/use-execution";
import { useExecutionStream } from "../../hooks/use-execution-stream";
import { useExecutionSteps } from "../../hooks/use-execution-steps";
import { hrefs } from "../../routing/routes";
import { ErrorBanner } from "../common/ErrorBanner";
import { JsonBlock } from "../common/JsonBlock";
import { StatusBadge } from "../common/StatusBadge";
import { Timestamp } from "../common/Timestamp";
import { EventLogView } from "./EventLogView";
import { ExecutionSteps } from "./ExecutionSteps";
import { PendingApprovals } from "./PendingApprovals";
import { StatusHistory } from "./StatusHistory";

export function ExecutionDetailPage({ executionId }: { executionId: string }) {
  const { execution, history, error, refresh } = useExecution(executionId);
  const stream = useExecutionStream(executionId, () => void refresh());
  const steps = useExecutionSteps(execution);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);

  const cancel = async () => {
    setCancelling(true);
    setCancelError(null);
    try {
      await cancelExecution(executionId);
    } catch (failure) {
      setCancelError(describeError(failure));
    } finally {
      setCancelling(false);
      void refresh();
    }
  };

  return (
    <div className="execution-detail">
      <p>
        <a href={hrefs.executions()}>← All executions</a>
      </p>
      <div className="section-header">
        <h1 className="break-anywhere">Execution {executionId}</h1>
        <button
          type="button"
          className="button button--danger"
          disabled={!execution || isFinished(execution.status) || cancelling}
          onClick={() => void cancel()}
        >
          Cancel
        </button>
      </div>
      <ErrorBanner message={error ?? cancelError} />
      {execution && (
        <section className="card" aria-label="Summary">
          <dl className="summary">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={execution.status} />
            </dd>
            <dt>Mode</dt>
            <dd>
              <StatusBadge status={execution.mode} />
            </dd>
            <dt>Agent</dt>
            <dd>
              <a href={hrefs.agent(execution.agentId)}>{execution.agentId}</a>
            </dd>
            <dt>Conversation</dt>
            <dd className="break-anywhere">
              <a href={hrefs.playground(execution.agentId, execution.conversationId)}>{execution.conversationId}</a>
            </dd>
            <dt>Started</dt>
            <dd>
              <Timestamp iso={execution.createdAt} />
            </dd>
            {execution.completedAt && (
              <>
                <dt>Finished</dt>
                <dd>
                  <Timestamp iso={execution.completedAt} />
                </dd>
              </>
            )}
            {execution.workflowRunId && (
              <>
                <dt>Workflow run</dt>
                <dd className="break-anywhere">
                  <code>{execution.workflowRunId}</code>
                </dd>
              </>
            )}
          </dl>
          {execution.error !== undefined && execution.error !== null && <JsonBlock value={execution.error} label="Error" />}
        </section>
      )}
      {execution && <PendingApprovals executionId={execution.id} approvals={execution.pendingApprovals} onDecided={() => void refresh()} />}
      {/* classic runs have no durable steps, so they get no card */}
      {execution?.mode === "durable" && <ExecutionSteps steps={steps.steps} error={steps.error} />}
      <div className="detail-grid">
        <EventLogView log={stream.log} phase={stream.phase} error={stream.error} />
        <StatusHistory history={history} />
      </div>
    </div>
  );
}
