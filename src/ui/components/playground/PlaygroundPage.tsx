import type { UIMessage } from "ai";
import { useEffect, useState } from "react";
import { getAgent } from "../../tether-api/agents";
import { describeError } from "../../tether-api/client";
import { findConversation } from "../../tether-api/conversations";
import type { Agent } from "../../tether-api/types";
import { newConversationId, rememberConversationId, rememberedConversationId } from "../../chat/conversation-id";
import { useApiKey } from "../../hooks/use-api-key";
import { navigate, replaceRoute } from "../../routing/navigation";
import { hrefs } from "../../routing/routes";
import { ErrorBanner } from "../common/ErrorBanner";
import { StatusBadge } from "../common/StatusBadge";
import { ChatSession } from "./ChatSession";

interface LoadedConversation {
  id: string;
  messages: UIMessage[];
  exists: boolean;
}

export function PlaygroundPage({ agentId, conversationId }: { agentId: string; conversationId?: string }) {
  const apiKey = useApiKey();
  const [agent, setAgent] = useState<Agent | null>(null);
  const [conversation, setConversation] = useState<LoadedConversation | null>(null);
  const [error, setError] = useState<string | null>(null);

  // The conversation id lives in the URL (so a reload resumes it) and in localStorage (so a plain
  // playground link does).
  useEffect(() => {
    if (conversationId) rememberConversationId(agentId, conversationId);
    else replaceRoute(hrefs.playground(agentId, rememberedConversationId(agentId) ?? newConversationId()));
  }, [agentId, conversationId]);

  useEffect(() => {
    const controller = new AbortController();
    getAgent(agentId)
      .then((found) => !controller.signal.aborted && setAgent(found))
      .catch((failure) => !controller.signal.aborted && setError(describeError(failure)));
    return () => controller.abort();
  }, [agentId, apiKey]);

  useEffect(() => {
    if (!conversationId) return;
    const controller = new AbortController();
    setConversation(null);
    findConversation(conversationId, controller.signal)
      .then((found) => {
        if (controller.signal.aborted) return;
        setConversation({ id: conversationId, messages: found?.messages ?? [], exists: !!found });
        setError(null);
      })
      .catch((failure) => !controller.signal.aborted && setError(describeError(failure)));
    return () => controller.abort();
  }, [conversationId, apiKey]);

  const startNew = () => navigate(hrefs.playground(agentId, newConversationId()));

  return (
    <div className="playground">
      <div className="section-header">
        <div>
          <h1>{agent ? agent.name : agentId}</h1>
          <p className="hint">
            {agent && (
              <>
                <StatusBadge status={agent.executionMode} /> <code>{agent.model}</code> ·{" "}
              </>
            )}
            conversation <code>{conversationId ?? "…"}</code>
          </p>
        </div>
        <div className="button-row">
          <a className="button button--quiet" href={hrefs.agent(agentId)}>
            Edit agent
          </a>
          <button type="button" className="button" onClick={startNew}>
            New conversation
          </button>
        </div>
      </div>
      <ErrorBanner message={error} />
      {conversation && conversation.id === conversationId ? (
        <ChatSession
          key={conversation.id}
          agentId={agentId}
          conversationId={conversation.id}
          initialMessages={conversation.messages}
          resume={conversation.exists}
        />
      ) : (
        !error && <p className="hint">Loading conversation…</p>
      )}
    </div>
  );
}
