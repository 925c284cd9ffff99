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

const MAX_ADOPT_ATTEMPTS = 10;

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

  // The turn is running but this page is not attached (it was not streaming yet when the page resumed):
  // attach again. A run continued from another tab is not resumed: the server's resume carries only the
  // round after the approval, which the AI SDK cannot apply to a fresh message; it is adopted below.
  useEffect(() => {
    if (!idle || status === "error" || !execution || execution.status !== "running") return;
    if (stoppedExecutions.current.has(execution.id)) return;
    if (messages[messages.length - 1]?.role === "user") void chat.resumeStream();
  }, [idle, status, execution, messages, chat]);

  // A turn ended while the page was not attached: show what the server persisted. While the page still
  // shows a stale state, retry for a few seconds in case the conversation is written after the status.
  const [adoptAttempt, setAdoptAttempt] = useState(0);
  useEffect(() => {
    if (!idle || !execution || execution.status === "running") return;
    const version = `${execution.id}:${execution.status}:${execution.updatedAt}:${adoptAttempt}`;
    if (adoptedVersions.current.has(version)) return;
    adoptedVersions.current.add(version);
    let retry: number | undefined;
    void findConversation(conversationId)
      .then((conversation) => {
        const settled = chat.status === "ready" || chat.status === "error";
        if (conversation && settled && serverIsAhead(chat.messages, conversation.messages)) {
          chat.clearError();
          setMessages(conversation.messages);
          return;
        }
        const stale =
          chat.status === "error" ||
          chat.messages[chat.messages.length - 1]?.role === "user" ||
          (isFinished(execution.status) && awaitsApproval(chat.messages));
        if (stale && adoptAttempt < MAX_ADOPT_ATTEMPTS) retry = window.setTimeout(() => setAdoptAttempt((count) => count + 1), 1000);
      })
      .catch(() => undefined);
    return () => window.clearTimeout(retry);
  }, [idle, execution, conversationId, chat, setMessages, adoptAttempt]);

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
