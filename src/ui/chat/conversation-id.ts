const storageKey = (agentId: string) => `tether.conversation.${agentId}`;

export function newConversationId(): string {
  return `conv_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
}

/** The conversation this browser last used with the agent, so a plain playground link resumes it. */
export function rememberedConversationId(agentId: string): string | undefined {
  try {
    return localStorage.getItem(storageKey(agentId)) ?? undefined;
  } catch {
    return undefined;
  }
}

export function rememberConversationId(agentId: string, conversationId: string): void {
  try {
    localStorage.setItem(storageKey(agentId), conversationId);
  } catch {
    // storage unavailable (private mode): the id still lives in the URL
  }
}
