import { Chat, useChat } from "@ai-sdk/react";
import { lastAssistantMessageIsCompleteWithApprovalResponses, type UIMessage } from "ai";
import { useEffect, useRef, useState } from "react";
import { authHeaders } from "../../tether-api/api-key";
import { describeError } from "../../tether-api/client";
import { findConversation, stopConversation } from "../../tether-api/conversations";
import { isFinished } from "../../tether-api/types";
import { awaitsApproval, serverIsAhead } from "../../chat/message-parts";
import { ObservedChatTransport, type ConnectionPhase } from "../../chat/observed-chat-transport";
import { visibleStatus } from "../../chat/visible-status";
import { useLatestExecution } from "../../hooks/use-latest-execution";
import { ErrorBanner } from "../common/ErrorBanner";
import { ChatComposer } from "./ChatComposer";
import { MessageList } from "./MessageList";
import { TurnStatusBar } from "./TurnStatusBar";

interface Props {
  agentId: string;
  conversationId: string;
  /** The persisted history, shown before the running turn (if any) is resumed. */
  initialMessages: UIMessage[];
  /** Whether the conversation exists on the server (a fresh id has nothing to resume). */
  resume: boolean;
}

export function ChatSession({ agentId, conversationId, initialMessages, resume }: Props) {
  const [connection, setConnection] = useState<ConnectionPhase>("idle");
  // A Chat instance rather than useChat's options form: that form wraps the transport and hides
  // DefaultChatTransport's `resumeStreamIsReplay`, and the server's resume is a replay from the turn's start.
  const [chat] = useState(
    () =>
      new Chat<UIMessage>({
        id: conversationId,
        messages: initialMessages,
        transport: new ObservedChatTransport({ api: "/api/chat", body: { agentId }, headers: authHeaders }, setConnection),
        sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
      }),
  );
  const { messages, status, error, sendMessage, stop, addToolApprovalResponse, setMessages, clearError } = useChat({ chat, resume });
  const [actionError, setActionError] = useState<string | null>(null);
  const [deciding, setDeciding] = useState(false);
  const stoppedExecutions = useRef(new Set<string>());
  const adoptedVersions = useRef(new Set<string>());

  const busy = status === "submitted" || status === "streaming";
  const idle = !busy && connection !== "reconnecting";
  const { execution, refresh } = useLatestExecution(conversationId, busy);
  const awaitingApproval = awaitsApproval(messages);
  const runOpen = !!execution && !isFinished(execution.status);

  // The run went on without this page (approved in another tab, or it was not streaming yet when the
  // page resumed): attach to it again.
  useEffect(() => {
    if (!idle || !execution || execution.status !== "running" || execution.pendingApprovals.length > 0) return;
    if (stoppedExecutions.current.has(execution.id)) return;
    const answerMissing = messages[messages.length - 1]?.role === "user";
    if (awaitingApproval || answerMissing) void chat.resumeStream();
  }, [idle, execution, awaitingApproval, messages, chat]);

  // A turn ended while the page was not attached: show what the server persisted.
  useEffect(() => {
    if (!idle || !execution || execution.status === "running") return;
    const version = `${execution.id}:${execution.status}:${execution.updatedAt}`;
    if (adoptedVersions.current.has(version)) return;
    adoptedVersions.current.add(version);
    void findConversation(conversationId)
      .then((conversation) => {
        if (conversation && chat.status === "ready" && serverIsAhead(chat.messages, conversation.messages)) {
          setMessages(conversation.messages);
        }
      })
      .catch(() => undefined);
  }, [idle, execution, conversationId, chat, setMessages]);

  const send = (text: string) => {
    setActionError(null);
    clearError();
    void sendMessage({ text });
  };

  const stopTurn = async () => {
    setActionError(null);
    try {
      const stopped = await stopConversation(conversationId);
      if (stopped) stoppedExecutions.current.add(stopped.executionId);
    } catch (failure) {
      setActionError(describeError(failure));
    }
    await stop();
    void refresh().catch(() => undefined);
  };

  const decide = async (approvalId: string, approved: boolean) => {
    setDeciding(true);
    try {
      await addToolApprovalResponse({ id: approvalId, approved });
    } finally {
      setDeciding(false);
    }
  };

  const shownStatus = visibleStatus({ status, connection, awaitingApproval, execution });

  return (
    <div className="chat">
      <TurnStatusBar status={shownStatus} execution={execution} />
      <ErrorBanner message={error ? describeError(error) : actionError} />
      <MessageList messages={messages} onDecide={(id, approved) => void decide(id, approved)} deciding={deciding} />
      <ChatComposer
        canSend={!busy && connection !== "reconnecting"}
        canStop={busy || runOpen}
        onSend={send}
        onStop={() => void stopTurn()}
      />
    </div>
  );
}
