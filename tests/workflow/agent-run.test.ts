import { randomUUID } from "node:crypto";
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3StreamPart } from "@ai-sdk/provider";
import { APICallError } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { waitForHook, waitForSleep } from "@workflow/vitest";
import { getRun, resumeHook, start } from "workflow/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentRun } from "../../workflows/agent-run/index";
import { createCredentialStore } from "../../src/agents/credentials";
import { createRepositories, type Repositories } from "../../src/db/repositories";
import { createLogger } from "../../src/logger";
import { approvalToken } from "../../src/runs/durable/rounds";
import { provideStepServices } from "../../src/runs/durable/step-services";
import { readStepTimeline } from "../../src/runs/durable/step-timeline";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { eventually, userMessage } from "../support/tether";
import { tryMoveStatus } from "../../src/runs/execution-status";

const HOUR = 3_600_000;
const email = (to: string) => `use send_email with {"to":"${to}","subject":"s","body":"b"}`;

/** A scripted model that asks for one approval after another, then answers. */
function approvalAfterApprovalModel(): LanguageModelV3 {
  const finish = (unified: "stop" | "tool-calls"): LanguageModelV3StreamPart => ({
    type: "finish",
    finishReason: { unified, raw: undefined },
    usage: {
      inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: 1, text: 1, reasoning: 0 },
    },
  });
  const stream = (parts: LanguageModelV3StreamPart[]) =>
    new ReadableStream<LanguageModelV3StreamPart>({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        controller.close();
      },
    });
  return new MockLanguageModelV3({
    doStream: async (options: LanguageModelV3CallOptions) => {
      const results = options.prompt.flatMap((message) =>
        message.role === "tool" ? message.content.filter((part) => part.type === "tool-result") : [],
      );
      const call = (to: string): LanguageModelV3StreamPart => ({
        type: "tool-call",
        toolCallId: `call_${randomUUID()}`,
        toolName: "send_email",
        input: JSON.stringify({ to, subject: "s", body: "b" }),
      });
      if (results.length === 0) return { stream: stream([{ type: "stream-start", warnings: [] }, call("first@example.com"), finish("tool-calls")]) };
      if (results.length === 1) return { stream: stream([{ type: "stream-start", warnings: [] }, call("second@example.com"), finish("tool-calls")]) };
      return {
        stream: stream([
          { type: "stream-start", warnings: [] },
          { type: "text-start", id: "t" },
          { type: "text-delta", id: "t", delta: "both sent" },
          { type: "text-end", id: "t" },
          finish("stop"),
        ]),
      };
    },
  });
}

/** Model calls made so far, per scripted model id (each attempt of a model round makes one). */
const modelCalls = new Map<string, number>();

/**
 * A provider that answers HTTP `status` (before streaming) on its first `failures` calls, then answers
 * "recovered". 503 is what a briefly overloaded provider says (retryable), 401 a bad API key (permanent).
 */
function failingProviderModel(modelId: string, failures: number, status: number): LanguageModelV3 {
  return new MockLanguageModelV3({
    doStream: async () => {
      const calls = (modelCalls.get(modelId) ?? 0) + 1;
      modelCalls.set(modelId, calls);
      if (calls <= failures) {
        throw new APICallError({
          message: `provider answered ${status} (call ${calls})`,
          url: "https://provider.invalid/v1/chat",
          requestBodyValues: {},
          statusCode: status,
        });
      }
      return {
        stream: new ReadableStream<LanguageModelV3StreamPart>({
          start(controller) {
            controller.enqueue({ type: "stream-start", warnings: [] });
            controller.enqueue({ type: "text-start", id: "t" });
            controller.enqueue({ type: "text-delta", id: "t", delta: "recovered" });
            controller.enqueue({ type: "text-end", id: "t" });
            controller.enqueue({
              type: "finish",
              finishReason: { unified: "stop", raw: undefined },
              usage: {
                inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
                outputTokens: { total: 1, text: 1, reasoning: 0 },
              },
            });
            controller.close();
          },
        }),
      };
    },
  });
}

/** `scripted:fail-<n>-<status>`: see {@link failingProviderModel}. */
function scriptedFailingModel(modelId: string): LanguageModelV3 | undefined {
  const match = /^scripted:fail-(\d+)-(\d{3})$/.exec(modelId);
  return match ? failingProviderModel(modelId, Number(match[1]), Number(match[2])) : undefined;
}

describe("the agentRun workflow, in-process", () => {
  let database: TestDatabase;
  let repositories: Repositories;
  /** Called after approval requests are stored: lets a test decide before the workflow starts waiting. */
  let afterApprovalRequests: ((executionId: string, toolCallIds: string[]) => Promise<void>) | undefined;

  beforeAll(async () => {
    database = await createTestDatabase("pglite");
    const stored = createRepositories(database.handle.db);
    repositories = {
      ...stored,
      approvals: {
        ...stored.approvals,
        async request(executionId, requests) {
          await stored.approvals.request(executionId, requests);
          await afterApprovalRequests?.(executionId, requests.map((request) => request.toolCallId));
        },
      },
    };
    provideStepServices({
      repositories,
      // Approval requests land in the model round's transaction: the hook runs once it has committed.
      transaction: async (work) => {
        const requested: Array<[string, string[]]> = [];
        const result = await database.handle.db.transaction((tx) => {
          const inTransaction = createRepositories(tx);
          return work({
            ...inTransaction,
            approvals: {
              ...inTransaction.approvals,
              async request(executionId, requests) {
                await inTransaction.approvals.request(executionId, requests);
                requested.push([executionId, requests.map((request) => request.toolCallId)]);
              },
            },
          });
        });
        for (const [executionId, toolCallIds] of requested) await afterApprovalRequests?.(executionId, toolCallIds);
        return result;
      },
      locks: database.handle.locks,
      models: {
        demoTokenDelayMs: 0,
        openai: {},
        credentials: createCredentialStore(new Map()),
        provided: (modelId) =>
          modelId === "scripted:approval-after-approval" ? approvalAfterApprovalModel() : scriptedFailingModel(modelId),
      },
      maxSteps: 10,
      modelRetries: { retries: 2, delayMs: 10 },
      logger: createLogger({ level: "silent" }),
      now: () => new Date(),
      redact: (text) => text,
      toolServers: { credentials: createCredentialStore(new Map()), timeoutMs: 5_000, redact: (text) => text },
    });
  });
  afterAll(async () => {
    provideStepServices(undefined);
    await database.dispose();
  });

  async function startRun(prompt: string, options: { model?: string; approvalTimeoutMs?: number } = {}) {
    const id = randomUUID();
    await repositories.agents.create({ id: `agent-${id}`, name: "a", model: options.model ?? "demo", tools: ["get_time", "send_email"] });
    await repositories.conversations.ensure({ id: `conv-${id}`, ownerId: "u", agentId: `agent-${id}`, title: "" });
    await repositories.messages.upsert(`conv-${id}`, userMessage(prompt));
    const execution = await repositories.executions.create({
      mode: "durable",
      agentId: `agent-${id}`,
      conversationId: `conv-${id}`,
      ownerId: "u",
      metadata: { round: 0 },
    });
    const run = await start(agentRun, [{ executionId: execution.id, approvalTimeoutMs: options.approvalTimeoutMs ?? HOUR }]);
    await repositories.executions.setWorkflowRunId(execution.id, run.runId);
    return { run, executionId: execution.id, conversationId: `conv-${id}` };
  }

  const status = (executionId: string, expected: string) =>
    eventually(async () => {
      const execution = await repositories.executions.get(executionId);
      expect(execution.status).toBe(expected);
      return execution;
    }, 20_000);

  const pending = async (executionId: string) =>
    (await repositories.approvals.pendingFor([executionId])).map((approval) => approval.toolCallId);

  async function decide(executionId: string, toolCallId: string, approved: boolean, reason?: string) {
    await repositories.approvals.decide({ executionId, toolCallId, approved, reason, decidedBy: "tester" });
    await resumeHook(approvalToken(executionId, toolCallId), { toolCallId });
  }

  const lastText = async (conversationId: string) => {
    const last = (await repositories.messages.list(conversationId)).at(-1)!;
    return last.parts.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("");
  };
  const sent = async (toolCallId: string) =>
    (await repositories.outbox.list()).filter((row) => row.toolCallId === toolCallId);

  it("runs an approved tool once and completes", async () => {
    const { run, executionId, conversationId } = await startRun(email("ok@example.com"));
    await status(executionId, "suspended");
    const [toolCallId] = await pending(executionId);
    await waitForHook(run, { token: approvalToken(executionId, toolCallId!) });
    await decide(executionId, toolCallId!, true);
    const done = await status(executionId, "completed");
    expect(done.metadata.round).toBe(1);
    const [row] = await sent(toolCallId!);
    expect(await sent(toolCallId!)).toHaveLength(1);
    expect(await lastText(conversationId)).toBe(`send_email returned {"messageId":"${row!.messageId}"}`);
  });

  it("reports a denial to the model and never runs the tool", async () => {
    const { run, executionId, conversationId } = await startRun(email("no@example.com"));
    await status(executionId, "suspended");
    const [toolCallId] = await pending(executionId);
    await waitForHook(run, { token: approvalToken(executionId, toolCallId!) });
    await decide(executionId, toolCallId!, false, "no thanks");
    await status(executionId, "completed");
    expect(await sent(toolCallId!)).toHaveLength(0);
    expect(await lastText(conversationId)).toBe("send_email was denied: no thanks");
  });

  it("records an expired denial when the approval wait times out", async () => {
    const { run, executionId, conversationId } = await startRun(email("late@example.com"));
    await status(executionId, "suspended");
    const [toolCallId] = await pending(executionId);
    const sleepId = await waitForSleep(run);
    await getRun(run.runId).wakeUp({ correlationIds: [sleepId] });
    await status(executionId, "completed");
    const approval = await repositories.approvals.find(executionId, toolCallId!);
    expect(approval).toMatchObject({ status: "expired", reason: "approval timed out" });
    expect(await sent(toolCallId!)).toHaveLength(0);
    expect(await lastText(conversationId)).toBe("send_email was denied: approval timed out");
  });

  it("collects every approval of a round before going on", async () => {
    const { run, executionId } = await startRun(`${email("a@example.com")} and ${email("b@example.com")}`);
    await status(executionId, "suspended");
    const [first, second] = await pending(executionId);
    expect(second).toBeDefined();
    await waitForHook(run, { token: approvalToken(executionId, first!) });
    await decide(executionId, first!, true);
    // Still waiting on the second one: its hook is pending and nothing moved on.
    await waitForHook(run, { token: approvalToken(executionId, second!) });
    expect((await repositories.executions.get(executionId)).status).toBe("suspended");
    await decide(executionId, second!, true);
    await status(executionId, "completed");
    expect(await sent(first!)).toHaveLength(1);
    expect(await sent(second!)).toHaveLength(1);
  });

  it("starts a new round when a tool needs approval after an earlier approval", async () => {
    const { run, executionId, conversationId } = await startRun("send two emails", { model: "scripted:approval-after-approval" });
    await status(executionId, "suspended");
    const [first] = await pending(executionId);
    await waitForHook(run, { token: approvalToken(executionId, first!) });
    await decide(executionId, first!, true);
    const second = await eventually(async () => {
      const [id] = await pending(executionId);
      expect(id).toBeDefined();
      expect(id).not.toBe(first);
      return id!;
    });
    expect((await status(executionId, "suspended")).metadata.round).toBe(1);
    await waitForHook(run, { token: approvalToken(executionId, second) });
    await decide(executionId, second, true);
    const done = await status(executionId, "completed");
    expect(done.metadata.round).toBe(2);
    expect(await sent(first!)).toHaveLength(1);
    expect(await sent(second)).toHaveLength(1);
    expect(await lastText(conversationId)).toBe("both sent");
  });

  it("picks up a decision recorded before the wait began, with no wake-up at all", async () => {
    afterApprovalRequests = async (executionId, toolCallIds) => {
      for (const toolCallId of toolCallIds) {
        await repositories.approvals.decide({ executionId, toolCallId, approved: true, decidedBy: "early" });
      }
    };
    try {
      const { executionId } = await startRun(email("early@example.com"));
      const done = await status(executionId, "completed");
      const [approval] = await repositories.approvals.listForExecution(done.id);
      expect(approval).toMatchObject({ status: "approved", decidedBy: "early" });
      expect(await sent(approval!.toolCallId)).toHaveLength(1);
    } finally {
      afterApprovalRequests = undefined;
    }
  });

  it("stops when the execution was cancelled while it waited, without running the tool", async () => {
    const { run, executionId } = await startRun(email("cancel@example.com"));
    await status(executionId, "suspended");
    const [toolCallId] = await pending(executionId);
    await waitForHook(run, { token: approvalToken(executionId, toolCallId!) });
    await tryMoveStatus(repositories.executions, executionId, { status: "cancelled" }, ["running", "suspended"]);
    await decide(executionId, toolCallId!, true);
    await eventually(async () => expect(await getRun(run.runId).status).toBe("completed"), 20_000);
    expect((await repositories.executions.get(executionId)).status).toBe("cancelled");
    expect(await sent(toolCallId!)).toHaveLength(0);
  });

  it("cancels a running run through the Workflow SDK", async () => {
    const { run, executionId } = await startRun("count to 100000", { model: "demo:5" });
    await eventually(async () => expect(await getRun(run.runId).status).toBe("running"));
    await tryMoveStatus(repositories.executions, executionId, { status: "cancelled" }, ["running", "suspended"]);
    await getRun(run.runId).cancel();
    await eventually(async () => expect(await getRun(run.runId).status).toBe("cancelled"));
    expect((await repositories.executions.get(executionId)).status).toBe("cancelled");
  });

  it("records a model failure as failed, with the error", async () => {
    const { executionId } = await startRun("fail");
    const failed = await status(executionId, "failed");
    expect(failed.error).toContain("demo model failure");
  });

  const modelRoundAttempts = async (runId: string) => {
    const steps = await readStepTimeline(runId);
    return steps.filter((step) => step.name === "runModelRound").flatMap((step) => step.attempts);
  };

  it("retries a model that fails transiently and completes, each attempt in the step timeline", async () => {
    const { run, executionId, conversationId } = await startRun("hi", { model: "scripted:fail-2-503" });
    await status(executionId, "completed");
    expect(await lastText(conversationId)).toBe("recovered");
    const attempts = await modelRoundAttempts(run.runId);
    expect(attempts.map((attempt) => attempt.outcome)).toEqual(["error", "error", "completed"]);
    expect(attempts[0]!.error).toContain("provider answered 503 (call 1)");
    expect(attempts.every((attempt) => attempt.endedAt !== undefined)).toBe(true);
  });

  it("fails at once, with the cause, on a permanent provider error", async () => {
    const { run, executionId } = await startRun("hi", { model: "scripted:fail-9-401" });
    const failed = await status(executionId, "failed");
    expect(failed.error).toContain("provider answered 401");
    expect((await modelRoundAttempts(run.runId)).map((attempt) => attempt.outcome)).toEqual(["completed"]);
    expect(modelCalls.get("scripted:fail-9-401")).toBe(1);
  });

  it("fails with the real cause once the retry budget is spent", async () => {
    const { run, executionId } = await startRun("hi", { model: "scripted:fail-99-503" });
    const failed = await status(executionId, "failed");
    // TETHER_MODEL_RETRIES of this suite is 2: three calls, the last one's cause recorded.
    expect(modelCalls.get("scripted:fail-99-503")).toBe(3);
    expect(failed.error).toContain("provider answered 503 (call 3)");
    expect(failed.error).toContain("failed 3 times");
    expect((await modelRoundAttempts(run.runId)).map((attempt) => attempt.outcome)).toEqual(["error", "error", "completed"]);
  });
});
