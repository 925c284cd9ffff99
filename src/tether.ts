import { setMaxListeners } from "node:events";
import { createApp } from "./app";
import { createCredentialStore } from "./agents/credentials";
import type { Config } from "./config";
import type { DatabaseHandle } from "./db/client";
import { createRepositories } from "./db/repositories";
import type { Logger } from "./logger";
import { provideStepServices } from "./runs/durable/step-services";
import { createClassicPeers } from "./runs/classic-peers";
import { createInterruptedRunSweeper } from "./runs/interrupted-runs";
import { createRedactor } from "./redact";
import { startWorkflowRuntime, type WorkflowHandlers, type WorkflowRuntime } from "./runs/durable/runtime";
import { createAdmission } from "./runs/admission";
import { createModelWorkers } from "./runs/model-workers/pool";
import { createRunService } from "./runs/service";
import { getStreamBufferRegistry, type ClassicStreamStore, type StreamBufferRegistry } from "./streams";

/** How long a request that needs durable execution waits for the workflow runtime to start. */
const DURABLE_START_WAIT_MS = 10_000;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** The agent every fresh installation starts with. */
export const SEEDED_AGENT = {
  id: "assistant",
  name: "Assistant",
  instructions: "You are a helpful assistant.",
  model: "demo",
  tools: ["get_time", "send_email"],
  executionMode: "classic" as const,
};

export interface TetherOptions<Store extends ClassicStreamStore = StreamBufferRegistry> {
  config: Config;
  database: DatabaseHandle;
  logger: Logger;
  /** A private buffer registry (tests, benchmarks); the process-wide one otherwise. */
  buffers?: Store;
  keepAliveMs?: number;
  /** The process will start durable execution: until it has, `/health` says it is starting. */
  startsWorkflows?: boolean;
}

/** Wires the service together on an open, migrated database: repositories, runs, streams, HTTP app. */
export async function createTether<Store extends ClassicStreamStore = StreamBufferRegistry>(
  options: TetherOptions<Store>,
) {
  const { config, database, logger } = options;
  const repositories = createRepositories(database.db, { singleProcess: database.kind === "pglite" });
  const credentials = createCredentialStore(config.credentials);
  const redact = createRedactor(config.secrets);
  // Store is only narrower than the registry when the caller passed its own store.
  const buffers = (options.buffers ?? getStreamBufferRegistry()) as Store;
  buffers.configure(config.streams);

  if (await repositories.agents.seed(SEEDED_AGENT)) logger.info({ agentId: SEEDED_AGENT.id }, "seeded agent");
  const interruptedRuns = createInterruptedRunSweeper({
    executions: repositories.executions,
    locks: database.locks,
    logger,
    singleProcess: database.kind === "pglite",
  });
  await interruptedRuns.start();

  // Several processes may share PostgreSQL: a classic run's buffer lives in the process that runs it, and the
  // others forward its stream requests there (once it listens and knows its URL).
  let internalUrl: string | undefined;
  const peers =
    database.kind === "postgres"
      ? createClassicPeers({ processId: interruptedRuns.processId, ownUrl: () => internalUrl, settle: interruptedRuns.settle })
      : undefined;

  const models = { demoTokenDelayMs: config.demoTokenDelayMs, openai: config.openai, credentials };
  const toolServers = { credentials, timeoutMs: config.toolTimeoutMs, redact, logger };
  let workflows: WorkflowRuntime | undefined;
  // Served from the moment the world is set: the Postgres world's queue delivers while it starts.
  let workflowHandlers: WorkflowHandlers | undefined;
  // Settles when startWorkflows() has started the runtime; requests that need it wait this long at most.
  let workflowsStarted = deferred();
  const shutdownController = new AbortController();
  // Every open stream response listens for shutdown: hundreds of listeners are expected, not a leak.
  setMaxListeners(0, shutdownController.signal);
  // Turns are counted by the runner the service owns, so the count is read through the service.
  let activeTurns = () => 0;
  const modelWorkers = createModelWorkers({ threads: config.modelWorkers, logger });
  const admission = createAdmission(config.admission, {
    activeTurns: () => activeTurns(),
    modelWorkerUtilization: modelWorkers?.utilizationMeter(),
    streamBytes: () => {
      const { liveBytes, maxBytesTotal } = buffers.liveBytes();
      return { bytes: liveBytes, limit: maxBytesTotal };
    },
  });
  const runs = createRunService({
    repositories,
    buffers,
    models,
    maxSteps: config.maxSteps,
    modelRetries: config.modelRetries,
    approvalTimeoutMs: config.approvalTimeoutMs,
    logger,
    redact,
    processId: interruptedRuns.processId,
    peers,
    toolServers,
    modelWorkers,
    durableReady: async () => {
      if (workflows) return true;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, DURABLE_START_WAIT_MS)));
      await Promise.race([workflowsStarted.promise, timedOut]);
      clearTimeout(timer);
      return workflows !== undefined;
    },
  });
  activeTurns = () => runs.activeTurns();
  const app = createApp({
    services: {
      runs,
      admission,
      repositories,
      health: { db: database.kind, world: database.kind === "postgres" ? "postgres" : "local" },
      starting: () => (options.startsWorkflows && !workflows ? ["workflows"] : []),
      keepAliveMs: options.keepAliveMs,
      limits: config.limits,
      shutdownSignal: shutdownController.signal,
      workflowHandlers: () => workflowHandlers,
      toolServers,
    },
    logger,
    limits: config.limits,
    auth: config.auth,
  });

  return {
    app,
    runs,
    repositories,
    buffers,
    /**
     * Starts the Workflow SDK runtime (durable mode). With the Postgres world, call it once the server
     * listens: its queue delivers to this server's workflow endpoints at `baseUrl`.
     */
    async startWorkflows(options: { baseUrl?: string } = {}) {
      provideStepServices({
        repositories,
        transaction: (work) => database.db.transaction((tx) => work(createRepositories(tx))),
        locks: database.locks,
        models,
        maxSteps: config.maxSteps,
        modelRetries: config.modelRetries,
        logger,
        now: () => new Date(),
        redact,
        toolServers,
        modelWorkers,
      });
      workflows = await startWorkflowRuntime({
        database: config.database,
        dataDir: config.dataDir,
        baseUrl: options.baseUrl,
        logger,
        concurrency: config.durableConcurrency,
        onHandlers: (handlers) => (workflowHandlers = handlers),
      });
      workflowsStarted.resolve();
      return workflows;
    },
    /**
     * Where the other server processes reach this one (once it listens): stamped on the classic runs it
     * starts from now on, so that they forward resumes of those runs here.
     */
    advertiseAt(url: string) {
      internalUrl = url;
    },
    /** Stops classic runs (recorded as cancelled) and ends every stream reader with a terminal event. */
    async shutdown() {
      await runs.stopAll();
      await interruptedRuns.stop();
      buffers.shutdown();
      // Classic readers now hold their terminal event; let them deliver it before the rest are cut.
      const deadline = Date.now() + 2_000;
      while (buffers.stats().readers > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      shutdownController.abort();
      // Durable runs are not stopped: the next start of the world picks them up.
      await workflows?.close();
      workflows = undefined;
      workflowHandlers = undefined;
      workflowsStarted = deferred();
      provideStepServices(undefined);
      admission.stop();
      await modelWorkers?.close();
    },
  };
}

export type Tether<Store extends ClassicStreamStore = StreamBufferRegistry> = Awaited<
  ReturnType<typeof createTether<Store>>
>;
