import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBrowser, saveScreenshot, type TestBrowser } from "./support/browser";
import { assistantTextParts, sendChatMessage } from "./support/pages";
import { startTether, type E2eTether } from "./support/tether-server";

const API_KEY = "e2e-admin-key";

describe("API key setting", () => {
  let tether: E2eTether;
  let browser: TestBrowser;

  beforeAll(async () => {
    [tether, browser] = await Promise.all([startTether({ TETHER_API_KEYS: API_KEY }), openBrowser()]);
  });

  afterAll(async () => {
    await browser?.close();
    await tether?.dispose();
  });

  it("sends the stored key with API calls, the chat and the execution stream", async () => {
    const page = await browser.newPage();
    await page.goto(`${tether.baseUrl}/#/agents`);
    await page.getByRole("alert").filter({ hasText: "Unauthorized" }).waitFor();

    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("link", { name: /^Assistant/ }).waitFor();

    await page.reload();
    await page.getByRole("link", { name: "Chat with Assistant" }).click();
    await page.waitForURL(/[?&]c=/);
    await sendChatMessage(page, "hello there");
    await expect.poll(() => assistantTextParts(page), { timeout: 20_000 }).toEqual(["You said: hello there"]);

    await page.getByRole("group", { name: "Current execution" }).getByRole("link").click();
    await page.getByRole("status", { name: "Stream status" }).getByText("ended").waitFor({ timeout: 20_000 });
    await page.getByText("You said: hello there").waitFor();
    await saveScreenshot(page, "api-key-execution");
  });
});
