import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBrowser, saveScreenshot, type TestBrowser } from "./support/browser";
import { assistantTextParts, chatStatus, conversationIdOf, type ExecutionView, sendChatMessage } from "./support/pages";
import { startTether, type E2eTether } from "./support/tether-server";

describe("Stop", () => {
  let tether: E2eTether;
  let browser: TestBrowser;

  beforeAll(async () => {
    [tether, browser] = await Promise.all([startTether(), openBrowser()]);
    await tether.api("/api/agents", { body: { id: "slow-classic", name: "Slow classic", model: "demo:25" } });
    await tether.api("/api/agents", { body: { id: "slow-durable", name: "Slow durable", model: "demo:25", executionMode: "durable" } });
  });

  afterAll(async () => {
    await browser?.close();
    await tether?.dispose();
  });

  for (const agentId of ["slow-classic", "slow-durable"]) {
    it(`stops a ${agentId.replace("slow-", "")} run mid-answer: the execution ends cancelled`, async () => {
      const page = await browser.newPage();
      await page.goto(`${tether.baseUrl}/#/playground/${agentId}`);
      await page.waitForURL(/[?&]c=/);
      const conversationId = conversationIdOf(page)!;

      await sendChatMessage(page, "count to 400");
      await expect.poll(async () => (await assistantTextParts(page)).join("").length, { timeout: 20_000 }).toBeGreaterThan(20);
      await page.getByRole("button", { name: "Stop" }).click();

      const latest = async () =>
        (await tether.api<{ executions: ExecutionView[] }>(`/api/executions?conversationId=${conversationId}&limit=1`)).executions[0];
      await expect.poll(async () => (await latest())?.status, { timeout: 20_000 }).toBe("cancelled");
      await page.getByRole("group", { name: "Current execution" }).getByText("cancelled").waitFor();
      await expect.poll(() => chatStatus(page)).toBe("ready");

      const shown = (await assistantTextParts(page)).join("");
      expect(shown.length).toBeGreaterThan(0);
      expect(shown).not.toContain("400");
      await saveScreenshot(page, `stop-${agentId}`);
    });
  }

  it("cancels a running execution from its detail page", async () => {
    const page = await browser.newPage();
    await page.goto(`${tether.baseUrl}/#/playground/slow-durable`);
    await page.getByRole("button", { name: "New conversation" }).click();
    await page.waitForURL(/[?&]c=/);
    await sendChatMessage(page, "count to 400");
    const executionLink = page.getByRole("group", { name: "Current execution" }).getByRole("link");
    await expect.poll(() => executionLink.innerText()).toMatch(/^ex_/);
    const executionId = await executionLink.innerText();
    await executionLink.click();

    await page.getByRole("region", { name: "Status history" }).getByText("running").waitFor();
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("region", { name: "Status history" }).getByText("cancelled").waitFor({ timeout: 20_000 });
    const execution = await tether.api<ExecutionView>(`/api/executions/${executionId}`);
    expect(execution.status).toBe("cancelled");
    expect(await page.getByRole("button", { name: "Cancel" }).isDisabled()).toBe(true);
    await saveScreenshot(page, "execution-cancelled");
  });
});
