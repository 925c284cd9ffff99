import type { UIMessageChunk } from "ai";

const TOOL_RESULT_CHUNKS = new Set(["tool-output-available", "tool-output-error", "tool-output-denied", "tool-approval-response"]);
const PREAMBLE_CHUNKS = new Set(["start", "start-step", "message-metadata"]);

/**
 * A resumed stream that opens with the result of a tool call it never announced is the round after an
 * approval, without the round that asked for it: the AI SDK replays a resume into a fresh message and
 * fails on it ("No tool invocation found"). Such a stream is dropped (answered like a 204), and the page
 * shows the persisted answer once the run ends. Any other stream is handed on unchanged.
 */
export async function dropOrphanContinuation(stream: ReadableStream<UIMessageChunk>): Promise<ReadableStream<UIMessageChunk> | null> {
  const reader = stream.getReader();
  const buffered: UIMessageChunk[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered.push(value);
    if (PREAMBLE_CHUNKS.has(value.type)) continue;
    if (TOOL_RESULT_CHUNKS.has(value.type)) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    break;
  }
  return new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of buffered) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
