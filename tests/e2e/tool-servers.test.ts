import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/server-process";
import { startTestMcpServer, type TestMcpServer } from "../support/mcp-server";
import { horizontalOverflow, openBrowser, saveScreenshot, type TestBrowser } from "./support/browser";
import { startTether, type E2eTether } from "./support/tether-server";

const TOKEN = "e2e-mcp-token-5f1c";
const SERVER_ID = "testtools";
const SERVER_NAME = "Test tools";

interface ToolServerView {
  id: string;
  headers: Record<string, unknown>;
  tools: Array<{ name: string; approval: string; needsApproval: boolean }>;
  toolsError?: string;
}

const toolItem = (page: Page, toolName: string) =>
  page.getByRole("list", { name: `Tools of ${SERVER_NAME}` }).getByRole("listitem", { name: toolName, exact: true });
const annotationsOf = (page: Page, toolName: string) =>
  page.getByRole("list", { name: `Annotations of ${toolName}` }).getByRole("listitem").allInnerTexts();

describe("tool servers screen", () => {
  let mcp: TestMcpServer;
  let tether: E2eTether;
  let browser: TestBrowser;

  /** Opens the add form and fills it; `credential` goes into a first header (Authorization, "Bearer " prefix by default). */
  async function openAddForm(page: Page, fields: { id?: string; name: string; url: string; credential?: string }) {
    await page.goto(`${tether.baseUrl}/#/tool-servers/new`);
    const form = page.getByRole("form", { name: "New tool server" });
    if (fields.id) await form.getByLabel("Server id").fill(fields.id);
    await form.getByLabel("Name", { exact: true }).fill(fields.name);
    await form.getByLabel("URL").fill(fields.url);
    if (fields.credential) {
      await form.getByRole("button", { name: "Add header" }).click();
      const header = form.getByRole("group", { name: "Header 1" });
      expect(await header.getByLabel("Header name").inputValue()).toBe("Authorization");
      expect(await header.getByLabel("Prefix").inputValue()).toBe("Bearer ");
      await header.getByLabel("Credential name").fill(fields.credential);
    }
    return form;
  }

  beforeAll(async () => {
    mcp = await startTestMcpServer({ token: TOKEN });
    // the token reaches Tether only as a service-level credential, never through the UI
    tether = await startTether({ TETHER_CREDENTIAL_TEST_TOKEN: TOKEN });
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await tether?.dispose();
    await mcp?.stop();
  });

  it("registers a server with a credential header and lists its tools with their annotations", async () => {
    const page = await browser.newPage();
    const form = await openAddForm(page, { id: SERVER_ID, name: SERVER_NAME, url: mcp.url, credential: "TEST_TOKEN" });
    await form.getByRole("button", { name: "Add tool server" }).click();
    await page.waitForURL(new RegExp(`#/tool-servers/${SERVER_ID}$`));

    const tools = page.getByRole("list", { name: `Tools of ${SERVER_NAME}` });
    await tools.waitFor();
    expect(await tools.locator(".server-tool__name").allInnerTexts()).toEqual(["lookup", "record", "explode", "hang"]);
    expect(await toolItem(page, "lookup").innerText()).toContain("Looks a word up.");
    expect(await annotationsOf(page, "lookup")).toEqual(["read-only"]);
    expect(await annotationsOf(page, "record")).toEqual(["writes", "not destructive"]);
    expect(await toolItem(page, "lookup").innerText()).toContain("runs without approval");
    expect(await toolItem(page, "record").innerText()).toContain("needs approval");

    // the header shows which credential it reads, and the token itself is nowhere on the page
    const details = await page.getByRole("region", { name: SERVER_NAME }).innerText();
    expect(details).toContain("TEST_TOKEN");
    expect(await page.content()).not.toContain(TOKEN);
    expect(mcp.rejected).toEqual([]);

    const saved = await tether.api<ToolServerView>(`/api/tool-servers/${SERVER_ID}`);
    expect(saved.headers).toEqual({ Authorization: { credential: "TEST_TOKEN", prefix: "Bearer " } });
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tool servers" }).getAttribute("aria-current")).toBe(
      "page",
    );
    await saveScreenshot(page, "tool-server-detail");
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  });

  it("saves a tool's approval and shows what it now needs", async () => {
    const page = await browser.newPage();
    await page.goto(`${tether.baseUrl}/#/tool-servers/${SERVER_ID}`);
    const lookup = toolItem(page, "lookup");
    const approval = lookup.getByLabel("Approval for lookup");
    expect(await approval.inputValue()).toBe("auto");
    await approval.selectOption("always");
    await lookup.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    expect(await lookup.innerText()).toContain("needs approval");

    const saved = await tether.api<ToolServerView>(`/api/tool-servers/${SERVER_ID}`);
    expect(saved.tools.find((tool) => tool.name === "lookup")).toMatchObject({ approval: "always", needsApproval: true });
    // the other tools keep their default
    expect(saved.tools.find((tool) => tool.name === "record")).toMatchObject({ approval: "auto", needsApproval: true });

    await page.reload();
    await expect.poll(() => toolItem(page, "lookup").getByLabel("Approval for lookup").inputValue()).toBe("always");
  });

  it("lets the agent form pick one tool of the server, then all of them", async () => {
    const page = await browser.newPage();
    await page.goto(`${tether.baseUrl}/#/agents/new`);
    await page.getByLabel("Agent id").fill("mcp-agent");
    await page.getByLabel("Name").fill("MCP agent");
    const group = page.getByRole("group", { name: new RegExp(`^${SERVER_NAME}`) });
    await group.getByRole("checkbox", { name: /^record/ }).check();
    await page.getByRole("button", { name: "Create agent" }).click();
    await page.waitForURL(/#\/agents\/mcp-agent$/);

    const created = await tether.api<{ tools: string[] }>("/api/agents/mcp-agent");
    expect(created.tools.sort()).toEqual(["get_time", `${SERVER_ID}:record`]);

    // "all tools" covers each one: they show ticked and cannot be changed one by one
    const all = page.getByRole("group", { name: new RegExp(`^${SERVER_NAME}`) }).getByRole("checkbox", { name: `All tools of ${SERVER_NAME}` });
    await all.check();
    const lookup = page.getByRole("group", { name: new RegExp(`^${SERVER_NAME}`) }).getByRole("checkbox", { name: /^lookup/ });
    expect(await lookup.isChecked()).toBe(true);
    expect(await lookup.isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();

    const updated = await tether.api<{ tools: string[] }>("/api/agents/mcp-agent");
    expect(updated.tools.sort()).toEqual(["get_time", `${SERVER_ID}:*`, `${SERVER_ID}:record`]);
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await saveScreenshot(page, "agent-form-server-tools");
  });

  it("shows the API's errors inline: an unreachable URL (422) and an unknown credential (400)", async () => {
    const page = await browser.newPage();
    const downUrl = `http://127.0.0.1:${await freePort()}/mcp`;
    const form = await openAddForm(page, { name: "Down", url: downUrl });
    await form.getByRole("button", { name: "Add tool server" }).click();
    const url = page.getByLabel("URL");
    const urlField = page.locator(".field", { has: url });
    await urlField.getByRole("alert").filter({ hasText: "cannot be reached" }).waitFor();
    expect(await url.getAttribute("aria-invalid")).toBe("true");
    expect(new URL(page.url()).hash).toBe("#/tool-servers/new");

    const secondPage = await browser.newPage();
    const missing = await openAddForm(secondPage, { name: "No credential", url: mcp.url, credential: "NOPE" });
    await missing.getByRole("button", { name: "Add tool server" }).click();
    const headers = missing.getByRole("group", { name: "Headers" });
    await headers.getByRole("alert").filter({ hasText: "TETHER_CREDENTIAL_NOPE" }).waitFor();

    const { toolServers } = await tether.api<{ toolServers: ToolServerView[] }>("/api/tool-servers");
    expect(toolServers.map((server) => server.id)).toEqual([SERVER_ID]);
    await saveScreenshot(secondPage, "tool-server-errors");
  });

  it("registers a server with a literal header value, shows it masked, and deletes it", async () => {
    const page = await browser.newPage();
    page.on("dialog", (dialog) => void dialog.accept());
    const form = await openAddForm(page, { id: "spare", name: "Spare", url: mcp.url });
    await form.getByRole("button", { name: "Add header" }).click();
    const header = form.getByRole("group", { name: "Header 1" });
    await header.getByLabel("Value from").selectOption("value");
    await header.getByLabel("Prefix").waitFor({ state: "detached" });
    await header.getByLabel("Value", { exact: true }).fill(`Bearer ${TOKEN}`);
    await form.getByRole("button", { name: "Add tool server" }).click();
    await page.waitForURL(/#\/tool-servers\/spare$/);

    const details = page.getByRole("region", { name: "Spare" });
    expect(await details.innerText()).toContain("Authorization: ***");
    expect(await details.innerText()).not.toContain(TOKEN);
    const saved = await tether.api<ToolServerView>("/api/tool-servers/spare");
    expect(saved.headers).toEqual({ Authorization: { value: "***" } });
    expect(saved.tools.length).toBe(4);

    await details.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(/#\/tool-servers$/);
    expect(await page.getByRole("link", { name: /^Spare/ }).count()).toBe(0);
    const { toolServers } = await tether.api<{ toolServers: ToolServerView[] }>("/api/tool-servers");
    expect(toolServers.map((server) => server.id)).toEqual([SERVER_ID]);
  });

  it("shows why the tools cannot be listed when the server is down", async () => {
    await mcp.stop();
    const page = await browser.newPage();
    await page.goto(`${tether.baseUrl}/#/tool-servers/${SERVER_ID}`);
    await page.getByRole("alert").filter({ hasText: "Could not list the tools" }).waitFor();
    expect(await page.getByRole("list", { name: `Tools of ${SERVER_NAME}` }).count()).toBe(0);
    expect(await page.getByRole("link", { name: new RegExp(`^${SERVER_NAME}`) }).innerText()).toContain("unreachable");
  });
});
