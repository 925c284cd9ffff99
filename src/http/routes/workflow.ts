import type { MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { HookNotFoundError } from "workflow/errors";
import { resumeWebhook } from "workflow/api";
import type { AppEnv } from "../context";
import { errorResponse } from "../errors";
import type { AppServices } from "../router";

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

/** The peer's address as the socket saw it (never a forwarded header); undefined without a socket. */
function remoteAddress(env: unknown): string | undefined {
  const bindings = env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return bindings?.incoming?.socket?.remoteAddress;
}

/**
 * The Workflow SDK's `flow` and `step` endpoints run workflow code on request and carry no auth of their
 * own: only this machine (the world's queue) may call them.
 */
function loopbackOnly(): MiddlewareHandler<AppEnv> {
  return async function loopbackOnlyMiddleware(c, next) {
    const address = remoteAddress(c.env);
    if (!address || !LOOPBACK.test(address)) {
      return errorResponse(c, "forbidden", "this endpoint accepts loopback callers only");
    }
    await next();
  };
}

/** `/.well-known/workflow/v1/*`: the endpoints the Workflow SDK's queue and webhooks call. */
export function workflowRoutes(services: AppServices) {
  const router = new Hono<AppEnv>();
  const handler = (kind: "flow" | "step") =>
    async function workflowEndpoint(c: Parameters<MiddlewareHandler<AppEnv>>[0]) {
      const handlers = services.workflowHandlers();
      if (!handlers) return errorResponse(c, "unavailable", "the workflow runtime has not started");
      return handlers[kind](c.req.raw);
    };
  router.use("/.well-known/workflow/v1/flow", loopbackOnly());
  router.use("/.well-known/workflow/v1/step", loopbackOnly());
  router.on(["POST", "GET", "HEAD"], "/.well-known/workflow/v1/flow", handler("flow"));
  router.on(["POST", "HEAD"], "/.well-known/workflow/v1/step", handler("step"));
  router.all("/.well-known/workflow/v1/webhook/:token", async (c) => {
    try {
      return await resumeWebhook(c.req.param("token"), c.req.raw);
    } catch (error) {
      if (HookNotFoundError.is(error)) return errorResponse(c, "not_found", "unknown webhook token");
      throw error;
    }
  });
  return router;
}
