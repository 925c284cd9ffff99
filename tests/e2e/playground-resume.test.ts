import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { horizontalOverflow, openBrowser, saveScreenshot, type TestBrowser } from "./support/browser";
import { assistantTextParts, chatStatus, conversationIdOf, countTo, sendChatMessage } from "./support/pages";
import { startTether, type E2eTether } from "./support/tether-server";

describe("playground", () => {
  let tether: E2eTether;
  let browser: TestBrowser;

  beforeAll(async () => {
    [tether, browser] = await Promise.all([startTether(), openBrowser()]);
    await tether.api("/api/agents", { body: { id: "counter", name: "Counter", model: "demo:25" } });
  });

  afterAll(async () => {
    await browser?.close();
    await tether?.dispose();
  });

  it("resumes an answer after a reload mid-stream and shows it exactly once", async () => {
    const page = await browser.newPage();
    await page.goto(`${tether.baseUrl}/#/playground/counter`);
    await page.waitForURL(/[?&]c=/);
    const conversationId = conversationIdOf(page)!;

    await sendChatMessage(page, "count to 400");
    await expect.poll(() => chatStatus(page)).toBe("streaming");
    await expect.poll(async () => (await assistantTextParts(page)).join("").length, { timeout: 15_000 }).toBeGreaterThan(60);

    await page.reload();
    expect(conversationIdOf(page)).toBe(conversationId);
    // the persisted question comes back, then the turn streaming now is replayed and followed
    await page.getByRole("article", { name: "Your message" }).filter({ hasText: "count to 400" }).waitFor();
    await expect.poll(() => chatStatus(page)).toBe("resumed");

    const expected = countTo(400);
    await expect.poll(() => assistantTextParts(page), { timeout: 30_000 }).toEqual([expected]);
    await expect.poll(() => chatStatus(page)).toBe("ready");
    await page.getByRole("group", { name: "Current execution" }).getByText("completed").waitFor();
    expect(await assistantTextParts(page)).toEqual([expected]);
    expect(await page.getByRole("article", { name: "Assistant message" }).count()).toBe(1);

    // a second reload shows the persisted answer, still once
    await page.reload();
    await expect.poll(() => assistantTextParts(page)).toEqual([expected]);
    await saveScreenshot(page, "playground-resumed-1280");

    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await saveScreenshot(page, "playground-390", { fullPage: false });
  });
});
