import { ApiError, apiJson } from "./client";
import type { Conversation } from "./types";

/** The persisted conversation, or null when it does not exist yet (a fresh conversation id). */
export async function findConversation(id: string, signal?: AbortSignal): Promise<Conversation | null> {
  try {
    return await apiJson<Conversation>(`/api/conversations/${encodeURIComponent(id)}`, { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Stops the conversation's running turn on the server (a closed connection never does). */
export function stopConversation(id: string) {
  return apiJson<{ executionId: string; status: string } | undefined>(`/api/chat/${encodeURIComponent(id)}/stop`, { method: "POST" });
}
