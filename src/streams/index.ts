export {
  StreamBuffer,
  StreamBufferRegistry,
  getStreamBufferRegistry,
  type StreamBufferOptions,
  type StreamBufferRegistryOptions,
  type StreamBufferStats,
  type StreamStatus,
} from "./buffer.js";
export {
  InvalidOffsetError,
  OffsetGoneError,
  StreamExistsError,
  StreamFinishedError,
  StreamRegistryShutDownError,
} from "./errors.js";
export { comparePositions, encodeOffset, parseOffset, type Position } from "./offset.js";
export { StreamReader } from "./reader.js";
export { SSE_DONE, SSE_PING, formatSseEvent, toSseByteStream, type SseByteStreamOptions } from "./sse.js";
export { createTerminalChunk, terminalReasonOf, type TerminalChunk } from "./terminal-chunk.js";
export { TERMINAL_REASONS, type StreamEvent, type TerminalReason } from "./types.js";
