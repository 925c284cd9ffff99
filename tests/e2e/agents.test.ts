import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { horizontalOverflow, openBrowser, saveScreenshot, type TestBrowser } from "./support/browser";
import { startTether, type E2eTether } from "./support/tether-server";

describe("agents screen", () => {
  let tether: E2eTether;
  let browser: TestBrowser;

  beforeAll(async () => {
    [tether, browser] = await Promise.all([startTether(), openBrowser()]);
  });

  afterAll(async () => {
    await browser?.close();
    await tether?.dispose();
  });

  it("switches the seeded agent to durable through the Execution mode control, and it stays durable", async () => {
    const page = await browser.newPage();
    await page.goto(`${tether.baseUrl}/#/agents`);
    await page.getByRole("link", { name: /^Assistant/ }).click();

    const mode = page.getByLabel("Execution mode");
    expect(await mode.inputValue()).toBe("classic");
    await mode.selectOption("durable");
    await page.getByRole("status").filter({ hasText: "Saved: durable" }).waitFor();

    await page.reload();
    await expect.poll(() => page.getByLabel("Execution mode").inputValue()).toBe("durable");
    const agent = await tether.api<{ executionMode: string }>("/api/agents/assistant");
    expect(agent.executionMode).toBe("durable");
    await saveScreenshot(page, "agents-durable-1280");
  });

  it("shows an API error under the field it names", async () => {
    const page = await browser.newPage();
    await page.goto(`${tether.baseUrl}/#/agents/assistant`);
    const model = page.getByLabel("Model");
    await model.fill("no-such-model");
    await page.getByRole("button", { name: "Save" }).click();

    const error = page.getByRole("alert").filter({ hasText: 'use "demo"' });
    await error.waitFor();
    expect(await model.getAttribute("aria-invalid")).toBe("true");
    // the message sits in the model field, not at the top of the form
    expect(await page.locator(".field", { has: model }).getByRole("alert").count()).toBe(1);
    const agent = await tether.api<{ model: string }>("/api/agents/assistant");
    expect(agent.model).toBe("demo");
  });

  it("creates an agent and fits a 390 px wide screen with the navigation collapsed", async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${tether.baseUrl}/#/agents/new`);
    await page.getByLabel("Agent id").fill("narrow-agent");
    await page.getByLabel("Name").fill("Narrow agent");
    await page.getByLabel("send_email").check();
    await page.getByRole("button", { name: "Create agent" }).click();
    await page.waitForURL(/#\/agents\/narrow-agent$/);

    const created = await tether.api<{ tools: string[] }>("/api/agents/narrow-agent");
    expect(created.tools.sort()).toEqual(["get_time", "send_email"]);

    const nav = page.getByRole("navigation", { name: "Main" });
    expect(await nav.isVisible()).toBe(false);
    await page.getByRole("button", { name: "Menu" }).click();
    await nav.getByRole("link", { name: "Executions" }).waitFor();
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await saveScreenshot(page, "agents-390");
  });
});
