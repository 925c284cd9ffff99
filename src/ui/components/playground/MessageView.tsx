import { isToolOrDynamicToolUIPart, type UIMessage } from "ai";
import { ToolPartView } from "./ToolPartView";

interface Props {
  message: UIMessage;
  onDecide(approvalId: string, approved: boolean): void;
  deciding: boolean;
}

export function MessageView({ message, onDecide, deciding }: Props) {
  const assistant = message.role === "assistant";
  return (
    <article className={assistant ? "message message--assistant" : "message message--user"} aria-label={assistant ? "Assistant message" : "Your message"}>
      <div className="message__author" aria-hidden="true">
        {assistant ? "Assistant" : "You"}
      </div>
      {message.parts.map((part, index) => {
        if (part.type === "text") {
          return (
            <p key={index} className="message-text">
              {part.text}
            </p>
          );
        }
        if (part.type === "reasoning") {
          return (
            <p key={index} className="message-reasoning">
              {part.text}
            </p>
          );
        }
        if (isToolOrDynamicToolUIPart(part)) {
          return <ToolPartView key={part.toolCallId} part={part} onDecide={onDecide} deciding={deciding} />;
        }
        return null;
      })}
    </article>
  );
}
