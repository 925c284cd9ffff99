import type { Page } from "playwright-core";

export interface ExecutionView {
  id: string;
  mode: string;
  status: string;
  conversationId: string;
  pendingApprovals: Array<{ toolCallId: string; toolName: string }>;
}

/** The playground's assistant answers, as text. */
export function assistantTexts(page: Page): Promise<string[]> {
  return page.getByRole("region", { name: "Conversation" }).getByRole("article", { name: "Assistant message" }).allInnerTexts();
}

/** The text parts of the assistant answers only (no author label, no tool cards). */
export function assistantTextParts(page: Page): Promise<string[]> {
  return page
    .getByRole("region", { name: "Conversation" })
    .getByRole("article", { name: "Assistant message" })
    .locator(".message-text")
    .allTextContents();
}

export async function chatStatus(page: Page): Promise<string> {
  return (await page.getByRole("status", { name: "Chat status" }).innerText()).replace(/^Status\s*/, "").trim();
}

/** The conversation id the playground keeps in its URL. */
export function conversationIdOf(page: Page): string | undefined {
  const match = /[?&]c=([^&]+)/.exec(new URL(page.url()).hash);
  return match ? decodeURIComponent(match[1]!) : undefined;
}

export async function sendChatMessage(page: Page, text: string): Promise<void> {
  await page.getByLabel("Message").fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

export function countTo(n: number): string {
  return Array.from({ length: n }, (_, index) => String(index + 1)).join(" ");
}
