import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { horizontalOverflow, openBrowser, saveScreenshot, type TestBrowser } from "./support/browser";
import { chatStatus, type ExecutionView, sendChatMessage } from "./support/pages";
import { startTether, type E2eTether } from "./support/tether-server";

const stepsCard = (page: Page) => page.getByRole("region", { name: "Steps" });
const stepsSummary = (page: Page) => page.getByLabel("Steps summary");
/** The outcome badges of every attempt of the steps named `name`. */
const attemptOutcomes = (page: Page, name: string) =>
  stepsCard(page).getByRole("list", { name: `${name} attempts` }).locator(".badge").allInnerTexts();

/** Runs one chat turn in the playground and answers the id of its execution. */
async function runTurn(page: Page, baseUrl: string, agentId: string, text: string): Promise<string> {
  await page.goto(`${baseUrl}/#/playground/${agentId}`);
  // the playground reopens the agent's last conversation; each turn here gets its own
  await page.getByRole("button", { name: "New conversation" }).click();
  await page.waitForURL(/[?&]c=/);
  await sendChatMessage(page, text);
  const executionLink = page.getByRole("group", { name: "Current execution" }).getByRole("link");
  await expect.poll(() => executionLink.innerText()).toMatch(/^ex_/);
  await expect.poll(() => chatStatus(page), { timeout: 20_000 }).toBe("ready");
  return executionLink.innerText();
}

describe("the Steps card of the execution page", () => {
  let tether: E2eTether;
  let browser: TestBrowser;

  beforeAll(async () => {
    // one after the other: if the browser fails to launch, afterAll still has the server to stop
    tether = await startTether();
    browser = await openBrowser();
    await tether.api("/api/agents", { body: { id: "durable-counter", name: "Durable counter", model: "demo:0", executionMode: "durable" } });
    await tether.api("/api/agents", { body: { id: "classic-counter", name: "Classic counter", model: "demo:0" } });
    await tether.api("/api/agents", { body: { id: "slow-durable", name: "Slow durable", model: "demo:15", executionMode: "durable" } });
  });

  afterAll(async () => {
    await browser?.close();
    await tether?.dispose();
  });

  it("lists a durable run's steps with their completed attempts", async () => {
    const page = await browser.newPage();
    const executionId = await runTurn(page, tether.baseUrl, "durable-counter", "count to 5");
    await page.goto(`${tether.baseUrl}/#/executions/${executionId}`);

    await expect.poll(() => attemptOutcomes(page, "runModelRound"), { timeout: 20_000 }).toEqual(["completed"]);
    // A plain turn is its model round alone: the round records the run's statuses itself.
    expect(await attemptOutcomes(page, "recordStatus")).toEqual([]);
    await expect.poll(() => stepsSummary(page).innerText()).toBe("1 step · no retries");
    const firstStep = stepsCard(page).getByRole("group", { name: /runModelRound/ }).first();
    expect(await firstStep.innerText()).toContain("1 attempt");
    await saveScreenshot(page, "steps-durable");
  });

  it("shows no Steps card for a classic run", async () => {
    const page = await browser.newPage();
    const executionId = await runTurn(page, tether.baseUrl, "classic-counter", "count to 5");
    await page.goto(`${tether.baseUrl}/#/executions/${executionId}`);
    await page.getByRole("region", { name: "Summary" }).getByText("classic", { exact: true }).waitFor();
    await page.getByRole("region", { name: "Status history" }).getByText("completed").waitFor();
    expect(await stepsCard(page).count()).toBe(0);
  });

  it("marks the attempt a kill -9 cut short, live, while the page stays open", async () => {
    const page = await browser.newPage();
    await page.goto(`${tether.baseUrl}/#/playground/slow-durable`);
    await page.waitForURL(/[?&]c=/);
    await sendChatMessage(page, "count to 300");
    const executionLink = page.getByRole("group", { name: "Current execution" }).getByRole("link");
    await expect.poll(() => executionLink.innerText()).toMatch(/^ex_/);
    const executionId = await executionLink.innerText();
    await page.goto(`${tether.baseUrl}/#/executions/${executionId}`);
    await expect.poll(() => attemptOutcomes(page, "runModelRound"), { timeout: 20_000 }).toEqual(["running"]);
    expect(await stepsCard(page).getByText("running").count()).toBeGreaterThan(0);

    await tether.crashAndRestart();

    // the page keeps polling through the outage and shows the recovery once the new server runs the step again
    await expect
      .poll(() => attemptOutcomes(page, "runModelRound"), { timeout: 60_000 })
      .toEqual(["process died — retried", "completed"]);
    await expect.poll(() => stepsSummary(page).innerText()).toMatch(/ · 1 recovered after a crash$/);
    const execution = await tether.api<ExecutionView>(`/api/executions/${executionId}`);
    expect(execution.status).toBe("completed");
    const recovered = stepsCard(page).getByRole("group", { name: /runModelRound/ });
    expect(await recovered.innerText()).toContain("2 attempts");
    expect(await recovered.getAttribute("class")).toContain("step--recovered");
    await page.getByRole("region", { name: "Status history" }).getByText("completed").waitFor();
    await saveScreenshot(page, "steps-crash-recovered");

    await page.setViewportSize({ width: 390, height: 844 });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await saveScreenshot(page, "steps-crash-recovered-390");
  });

  it("shows an attempt's error and counts the step as retried", async () => {
    const page = await browser.newPage();
    const executionId = await runTurn(page, tether.baseUrl, "durable-counter", "count to 3");
    // No command of the demo model makes a step throw and retry, so this answer is the server's, doctored.
    await page.route(`**/api/executions/${executionId}/steps`, async (route) => {
      const answer = (await (await route.fetch()).json()) as { steps: Array<{ name: string; attempts: Array<Record<string, unknown>> }> };
      const round = answer.steps.find((step) => step.name === "runModelRound")!;
      const done = round.attempts[0]!;
      round.attempts = [
        { attempt: 1, startedAt: done.startedAt, endedAt: done.startedAt, outcome: "error", error: "ECONNRESET: socket hang up" },
        { ...done, attempt: 2 },
      ];
      await route.fulfill({ json: answer });
    });
    await page.goto(`${tether.baseUrl}/#/executions/${executionId}`);

    await expect.poll(() => attemptOutcomes(page, "runModelRound"), { timeout: 20_000 }).toEqual(["error — retried", "completed"]);
    await stepsCard(page).getByText("ECONNRESET: socket hang up").waitFor();
    await expect.poll(() => stepsSummary(page).innerText()).toMatch(/ · 1 retried after errors$/);
  });
});
