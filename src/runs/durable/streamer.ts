import type { getWorld } from "workflow/runtime";

/** The stream half of a Workflow SDK world, which Tether keeps itself on either world. */
export type Streamer = Pick<ReturnType<typeof getWorld>, StreamerMethod>;
type StreamerMethod =
  | "writeToStream"
  | "writeToStreamMulti"
  | "closeStream"
  | "readFromStream"
  | "listStreamsByRunId"
  | "getStreamChunks"
  | "getStreamInfo";
