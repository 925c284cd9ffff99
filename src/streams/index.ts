export { CLASSIC_ROUND, StreamBuffer, type StreamBufferOptions } from "./buffer";
export {
  StreamBufferRegistry,
  getStreamBufferRegistry,
  type StreamBufferRegistryOptions,
  type StreamBufferStats,
} from "./registry";
export { readClassicFromChunk, readFromChunk, type ChunkIndexedEvents } from "./chunk-index";
export {
  InvalidOffsetError,
  OffsetGoneError,
  StreamExistsError,
  StreamFinishedError,
  StreamRegistryShutDownError,
} from "./errors";
export { comparePositions, encodeOffset, parseOffset, type Position } from "./offset";
export { StreamReader } from "./reader";
export {
  SSE_DONE,
  SSE_PING,
  UI_MESSAGE_STREAM_HEADERS,
  formatSseEvent,
  toSseByteStream,
  type SseByteStreamOptions,
} from "./sse";
export { createTerminalChunk, terminalEventOnly, terminalReasonOf, type TerminalChunk } from "./terminal-chunk";
export {
  TERMINAL_REASONS,
  type ClassicStream,
  type ClassicStreamStore,
  type StreamEvent,
  type StreamStatus,
  type TerminalReason,
} from "./types";
