import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { horizontalOverflow, openBrowser, saveScreenshot, type TestBrowser } from "./support/browser";
import { assistantTextParts, chatStatus, type ExecutionView, sendChatMessage } from "./support/pages";
import { startTether, type E2eTether } from "./support/tether-server";

describe("tool approval from a second tab", () => {
  let tether: E2eTether;
  let browser: TestBrowser;

  beforeAll(async () => {
    // 300 ms per token: the playground polls while the round after the approval is still streaming
    [tether, browser] = await Promise.all([startTether(), openBrowser()]);
    await tether.api("/api/agents", {
      body: { id: "mailer", name: "Mailer", model: "demo:300", tools: ["send_email"], executionMode: "durable" },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await tether?.dispose();
  });

  it("shows the approval in the playground, approves it on the executions page, and the playground gets the result", async () => {
    const chat = await browser.newPage();
    await chat.goto(`${tether.baseUrl}/#/playground/mailer`);
    await chat.waitForURL(/[?&]c=/);
    await sendChatMessage(chat, 'use send_email with {"to":"a@example.com","subject":"Hi","body":"Hello"}');

    const approval = chat.getByRole("group", { name: "Approval for send_email" });
    await approval.getByRole("button", { name: "Approve" }).waitFor();
    await expect.poll(() => chatStatus(chat)).toBe("waiting for approval");
    const executionLink = chat.getByRole("group", { name: "Current execution" }).getByRole("link");
    await expect.poll(() => executionLink.innerText()).toMatch(/^ex_/);
    const executionId = await executionLink.innerText();
    const pending = await tether.api<ExecutionView>(`/api/executions/${executionId}`);
    expect(pending.mode).toBe("durable");
    const toolCallId = pending.pendingApprovals[0]!.toolCallId;

    const admin = await browser.newPage();
    await admin.goto(`${tether.baseUrl}/#/executions`);
    await admin.getByRole("link", { name: executionId }).click();
    await admin.getByRole("group", { name: "Approval for send_email" }).getByRole("button", { name: "Approve" }).click();

    await expect.poll(() => assistantTextParts(chat), { timeout: 30_000 }).toEqual([
      expect.stringMatching(/^send_email returned \{"messageId":"[^"]+"\}$/),
    ]);
    await chat.getByLabel("send_email result").waitFor();
    expect(await approval.count()).toBe(0);
    await expect.poll(() => chatStatus(chat)).toBe("ready");
    expect(await chat.getByRole("alert").allInnerTexts()).toEqual([]);

    await admin.getByRole("status", { name: "Stream status" }).getByText("ended").waitFor({ timeout: 20_000 });
    await admin.getByText(/send_email returned/).waitFor();
    await admin.getByRole("region", { name: "Status history" }).getByText("completed").waitFor();

    const outbox = await tether.api<{ messages: Array<{ toolCallId: string; executionId: string; to: string }> }>("/api/outbox");
    const sent = outbox.messages.filter((message) => message.toolCallId === toolCallId);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ executionId, to: "a@example.com" });
    const finished = await tether.api<ExecutionView>(`/api/executions/${executionId}`);
    expect(finished.status).toBe("completed");

    await saveScreenshot(chat, "approval-playground");
    await saveScreenshot(admin, "approval-execution-detail");

    // the live list, narrow
    await admin.setViewportSize({ width: 390, height: 844 });
    await admin.getByRole("link", { name: "← All executions" }).click();
    await admin.getByLabel("Mode").selectOption("durable");
    await admin.getByRole("list", { name: "Executions" }).getByRole("link", { name: executionId }).waitFor();
    expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await horizontalOverflow(admin)).toBeLessThanOrEqual(0);
    await saveScreenshot(admin, "executions-390");
  });

  it("denies a tool call inline in the playground: the denial shows and the turn finishes", async () => {
    const chat = await browser.newPage();
    await chat.goto(`${tether.baseUrl}/#/playground/mailer`);
    await chat.getByRole("button", { name: "New conversation" }).click();
    await chat.waitForURL(/[?&]c=/);
    await sendChatMessage(chat, 'use send_email with {"to":"b@example.com","subject":"No","body":"Nope"}');

    await chat.getByRole("group", { name: "Approval for send_email" }).getByRole("button", { name: "Deny" }).click();
    await chat.getByText("Denied").first().waitFor({ timeout: 20_000 });
    const executionLink = chat.getByRole("group", { name: "Current execution" });
    await executionLink.getByText("completed").waitFor({ timeout: 20_000 });
    await expect.poll(() => chatStatus(chat)).toBe("ready");

    const outbox = await tether.api<{ messages: Array<{ to: string }> }>("/api/outbox");
    expect(outbox.messages.filter((message) => message.to === "b@example.com")).toHaveLength(0);
    await saveScreenshot(chat, "approval-denied-inline");
  });
});
