import { useId, useState, type FormEvent, type KeyboardEvent } from "react";

interface Props {
  canSend: boolean;
  canStop: boolean;
  onSend(text: string): void;
  onStop(): void;
}

export function ChatComposer({ canSend, canStop, onSend, onStop }: Props) {
  const [text, setText] = useState("");
  const inputId = useId();

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const message = text.trim();
    if (!message || !canSend) return;
    onSend(message);
    setText("");
  };

  // Enter sends, Shift+Enter adds a line.
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor={inputId} className="visually-hidden">
        Message
      </label>
      <textarea
        id={inputId}
        rows={2}
        value={text}
        placeholder="Message the agent (Enter to send)"
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="composer__actions">
        <button type="submit" className="button button--primary" disabled={!canSend || !text.trim()}>
          Send
        </button>
        <button type="button" className="button button--danger" disabled={!canStop} onClick={onStop}>
          Stop
        </button>
      </div>
    </form>
  );
}
