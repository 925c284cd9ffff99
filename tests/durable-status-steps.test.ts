import { start } from "workflow/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_RUN_WORKFLOW_ID } from "../src/runs/durable/runtime";
import type { AgentRunInput } from "../src/runs/durable/workflow-input";
import { databaseKinds } from "./support/database";
import { executionReader, settled as settledAs } from "./support/executions";
import { readSse, startTestTether, userMessage, type TestTether } from "./support/tether";

const EMAIL = 'use send_email with {"to":"a@example.com","subject":"Hi","body":"From a durable run"}';

/**
 * A durable turn's model round records the run's statuses itself, so a plain turn is one step; a run
 * started before that (its input lacks `statusInRound`) still runs the status steps it started with,
 * because every step it finishes replays its event log against the current code.
 */
describe.each(databaseKinds())("durable status steps on %s", (kind) => {
  let harness: TestTether;

  beforeAll(async () => {
    harness = await startTestTether(kind, { TETHER_APPROVAL_TIMEOUT: "60s" }, { workflows: true });
    await harness.request("/api/agents", {
      json: { id: "durable", name: "durable", model: "demo", tools: ["send_email"], executionMode: "durable" },
    });
  });
  afterAll(() => harness.dispose());

  const settled = (id: string, status: "suspended" | "completed") => settledAs(executionReader((pathname) => harness.request(pathname)), id, status);
  const stepNames = async (id: string) => {
    const { steps } = (await (await harness.request(`/api/executions/${id}/steps`)).json()) as { steps: Array<{ name: string }> };
    return steps.map((step) => step.name);
  };
  const approve = async (id: string) => {
    const pending = (await settled(id, "suspended")).metadata.pendingToolCallIds as string[];
    expect(pending).toHaveLength(1);
    const response = await harness.request(`/api/executions/${id}/approvals/${pending[0]}`, { json: { approved: true } });
    expect(response.status).toBeLessThan(300);
    await response.body?.cancel();
  };

  it("runs a plain turn as one step that records the run id and the terminal status", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "status-plain", agentId: "durable", messages: [userMessage("count to 5")] },
    });
    const executionId = response.headers.get("x-execution-id")!;
    expect((await readSse(response)).at(-1)!.data).toBe("[DONE]");
    expect(await settled(executionId, "completed")).toMatchObject({ workflowRunId: expect.stringMatching(/^wrun_/) });
    expect(await stepNames(executionId)).toEqual(["runModelRound"]);
  });

  it("suspends from the model round itself, and completes after the approval without status steps", async () => {
    const response = await harness.request("/api/chat", {
      json: { id: "status-approval", agentId: "durable", messages: [userMessage(EMAIL)] },
    });
    const executionId = response.headers.get("x-execution-id")!;
    await readSse(response);
    await approve(executionId);
    await settled(executionId, "completed");
    expect(await stepNames(executionId)).toEqual(["runModelRound", "readDecided", "runApprovedTools", "runModelRound"]);
  });

  it("runs a run started with the earlier input through its status steps, approval included", async () => {
    const { repositories } = harness.tether;
    const conversationId = "status-earlier";
    await repositories.conversations.ensure({ id: conversationId, ownerId: "local", agentId: "durable", title: "earlier" });
    await repositories.messages.upsert(conversationId, { id: "u_earlier", role: "user", parts: [{ type: "text", text: EMAIL }] });
    const row = await repositories.executions.create({
      mode: "durable",
      agentId: "durable",
      conversationId,
      ownerId: "local",
      metadata: { round: 0 },
    });
    const earlierInput: AgentRunInput = { executionId: row.id, approvalTimeoutMs: 60_000 };
    await start({ workflowId: AGENT_RUN_WORKFLOW_ID }, [earlierInput]);
    await approve(row.id);
    const done = await settled(row.id, "completed");
    expect(done.workflowRunId).toMatch(/^wrun_/);
    expect(await stepNames(row.id)).toEqual([
      "recordStatus",
      "runModelRound",
      "recordStatus",
      "readDecided",
      "runApprovedTools",
      "runModelRound",
      "recordStatus",
    ]);
  });
});
