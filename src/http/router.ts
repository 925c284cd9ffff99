import { OpenAPIHono } from "@hono/zod-openapi";
import type { ToolServerSettings } from "../agents/mcp";
import type { Repositories } from "../db/repositories";
import type { Admission } from "../runs/admission";
import type { WorkflowHandlers } from "../runs/durable/runtime";
import type { RunService } from "../runs/service";
import type { AppEnv } from "./context";
import { validationErrorResponse } from "./errors";

/** What route handlers may use. */
export interface AppServices {
  runs: RunService;
  repositories: Repositories;
  health: { db: "pglite" | "postgres"; world: "local" | "postgres" };
  /** The parts still starting (`/health` answers 503 until none is). */
  starting: () => string[];
  keepAliveMs?: number;
  /** Refuses new turns and streams when this process is at a limit. */
  admission: Admission;
  /** Aborted when the server shuts down: every open stream then ends with `data: [DONE]`. */
  shutdownSignal?: AbortSignal;
  limits: { messages: number; messageBytes: number };
  /** The compiled workflow endpoints, once the workflow runtime has started. */
  workflowHandlers: () => WorkflowHandlers | undefined;
  /** How the tool server routes reach MCP servers (credentials, timeout). */
  toolServers: ToolServerSettings;
}

/** A sub-app whose request validation failures answer with the shared 400 error body. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return validationErrorResponse(c, result.error, result.target);
    },
  });
}
