import type { UIMessage } from "ai";
import { useEffect, useRef } from "react";
import { MessageView } from "./MessageView";

interface Props {
  messages: UIMessage[];
  onDecide(approvalId: string, approved: boolean): void;
  deciding: boolean;
}

export function MessageList({ messages, onDecide, deciding }: Props) {
  const end = useRef<HTMLDivElement>(null);
  const lastLength = messages.length;
  useEffect(() => {
    end.current?.scrollIntoView({ block: "nearest" });
  }, [lastLength]);

  return (
    <section className="message-list" aria-label="Conversation">
      {messages.length === 0 && <p className="hint">No messages yet. Try “count to 20”, “use get_time” or “use send_email with {"{…}"}”.</p>}
      {messages.map((message) => (
        <MessageView key={message.id} message={message} onDecide={onDecide} deciding={deciding} />
      ))}
      <div ref={end} />
    </section>
  );
}
