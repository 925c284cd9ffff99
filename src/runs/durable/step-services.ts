import type { RetryBudget } from "../agent-turn";
import type { ToolServerSettings } from "../../agents/mcp";
import type { ModelSettings } from "../../agents/models";
import type { NamedLocks } from "../../db/locks";
import type { Repositories } from "../../db/repositories";
import type { Logger } from "../../logger";
import type { ModelWorkers } from "../model-workers/pool";

/**
 * What workflow steps use: the process's repositories, model settings (credentials included) and logger.
 * Steps run from a separately built bundle with its own copy of every module, so the services are shared
 * through one well-known key on globalThis rather than a module-level variable. Workflow payloads and
 * step results therefore carry ids only.
 */
export interface StepServices {
  repositories: Repositories;
  /** Runs `work` in one database transaction, with repositories bound to it. */
  transaction: <T>(work: (repositories: Repositories) => Promise<T>) => Promise<T>;
  /** Locks shared by every server process on the database (one step attempt at a time). */
  locks: NamedLocks;
  models: ModelSettings;
  maxSteps: number;
  modelRetries: RetryBudget;
  logger: Logger;
  now: () => Date;
  redact: (text: string) => string;
  /** How steps reach MCP tool servers (credentials resolved by reference, in the step). */
  toolServers: ToolServerSettings;
  /** Threads for the model's stream of a model round. */
  modelWorkers?: ModelWorkers;
}

const KEY = Symbol.for("tether.step-services");
type Holder = { [KEY]?: StepServices };

export function provideStepServices(services: StepServices | undefined): void {
  (globalThis as Holder)[KEY] = services;
}

export function stepServices(): StepServices {
  const services = (globalThis as Holder)[KEY];
  if (!services) throw new Error("step services are not provided: the server has not started its workflow runtime");
  return services;
}
