import { MockLanguageModelV3, simulateReadableStream } from "ai/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentRow } from "../../drizzle/schema";
import { createCredentialStore } from "../agents/credentials";
import { demoFailureMessage } from "../agents/demo-model";
import { createLogger } from "../logger";
import { outcomeOf, streamAgentTurn, type TurnServices } from "./agent-turn";
import { createModelWorkers, type ModelWorkers } from "./model-workers/pool";

const logger = createLogger({ level: "silent" });
const agent = (model: string) => ({ id: "agent-1", name: "A", model, instructions: "", tools: [] }) as unknown as AgentRow;

const scripted = () =>
  new MockLanguageModelV3({
    doStream: async () => ({
      stream: simulateReadableStream({
        chunks: [
          { type: "text-start", id: "t" },
          { type: "text-delta", id: "t", delta: "provided" },
          { type: "text-end", id: "t" },
          { type: "finish", finishReason: { unified: "stop", raw: undefined }, usage: { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } } },
        ],
      }),
    }),
  });

describe("a turn's model stream", () => {
  let workers: ModelWorkers;
  let turnsSentToWorkers = 0;
  let services: TurnServices;
  beforeAll(() => {
    workers = createModelWorkers({ threads: 1, logger })!;
    const counting: ModelWorkers = {
      ...workers,
      streamTurn: (...args) => {
        turnsSentToWorkers += 1;
        return workers.streamTurn(...args);
      },
    };
    services = {
      repositories: {} as never,
      models: {
        demoTokenDelayMs: 0,
        openai: {},
        credentials: createCredentialStore(new Map()),
        provided: (modelId) => (modelId === "scripted" ? scripted() : undefined),
      },
      maxSteps: 5,
      modelRetries: { retries: 0, delayMs: 10 },
      now: () => new Date(),
      redact: (text) => text.replaceAll("demo", "[redacted]"),
      modelWorkers: counting,
    };
  });
  afterAll(() => workers?.close());

  async function run(model: string, prompt: string) {
    const before = turnsSentToWorkers;
    const turn = streamAgentTurn({
      agent: agent(model),
      executionId: "exec-1",
      history: [{ id: "u1", role: "user", parts: [{ type: "text", text: prompt }] }],
      services,
      logger,
      maxRetries: 0,
    });
    let text = "";
    for await (const chunk of turn.chunks) if (chunk.type === "text-delta") text += chunk.delta;
    return { text, summary: turn.summary, inWorker: turnsSentToWorkers > before };
  }

  it("streams a built-in model in a model worker, with the whole message after", async () => {
    const { text, summary, inWorker } = await run("demo", "count to 5");
    expect(inWorker).toBe(true);
    expect(text).toBe("1 2 3 4 5");
    expect(outcomeOf(summary)).toBe("completed");
    expect(summary.responseMessage?.parts).toContainEqual(expect.objectContaining({ type: "text", text: "1 2 3 4 5" }));
  });

  it("streams a model the embedding program provides in this thread, where it exists", async () => {
    const { text, inWorker } = await run("scripted", "anything");
    expect(inWorker).toBe(false);
    expect(text).toBe("provided");
  });

  it("records a worker's model failure here, redacted here", async () => {
    const { summary, inWorker } = await run("demo", "fail");
    expect(inWorker).toBe(true);
    expect(outcomeOf(summary)).toBe("failed");
    expect(summary.failure).toBe(demoFailureMessage.replaceAll("demo", "[redacted]"));
  });
});
