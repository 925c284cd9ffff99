export interface SseEvent {
  id?: string;
  data: string;
}

/** Reads an SSE body event by event as it arrives (comments such as `: ping` are skipped). */
export async function* readSseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let heldBack = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      let text = heldBack + decoder.decode(value, { stream: true });
      // a "\r" at the end may be the first half of a "\r\n" split across reads
      heldBack = text.endsWith("\r") ? "\r" : "";
      if (heldBack) text = text.slice(0, -1);
      buffer += text.replace(/\r\n?/g, "\n");
      let boundary = buffer.indexOf("\n\n");
      while (boundary !== -1) {
        const event = parseBlock(buffer.slice(0, boundary));
        buffer = buffer.slice(boundary + 2);
        if (event) yield event;
        boundary = buffer.indexOf("\n\n");
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "id") id = value;
    else if (field === "data") data.push(value);
  }
  return data.length > 0 ? { id, data: data.join("\n") } : undefined;
}
