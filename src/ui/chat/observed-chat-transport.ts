import { DefaultChatTransport, type HttpChatTransportInitOptions, type UIMessage } from "ai";

/** What the transport is doing: "reconnecting" is the resume request, "resumed" a stream it re-attached to. */
export type ConnectionPhase = "idle" | "sending" | "reconnecting" | "resumed";

/**
 * The AI SDK's DefaultChatTransport, reporting its requests so the page can say "reconnecting"/"resumed"
 * (useChat's status alone cannot tell a resumed stream from a new one).
 */
export class ObservedChatTransport extends DefaultChatTransport<UIMessage> {
  constructor(
    options: HttpChatTransportInitOptions<UIMessage>,
    private readonly onPhase: (phase: ConnectionPhase) => void,
  ) {
    super(options);
  }

  override async sendMessages(options: Parameters<DefaultChatTransport<UIMessage>["sendMessages"]>[0]) {
    this.onPhase("sending");
    return super.sendMessages(options);
  }

  override async reconnectToStream(options: Parameters<DefaultChatTransport<UIMessage>["reconnectToStream"]>[0]) {
    this.onPhase("reconnecting");
    try {
      // The server replays the whole turn (every round since its start), which the AI SDK rebuilds.
      const stream = await super.reconnectToStream(options);
      this.onPhase(stream ? "resumed" : "idle");
      return stream;
    } catch (error) {
      this.onPhase("idle");
      throw error;
    }
  }
}
