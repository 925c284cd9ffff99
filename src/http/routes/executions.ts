import { createRoute, z } from "@hono/zod-openapi";
import {
  ApprovalDecisionSchema,
  errorResponses,
  ExecutionListQuerySchema,
  ExecutionSchema,
  Id,
  json,
  OffsetQuerySchema,
  SSE_RESPONSE,
  StepTimelineEntrySchema,
} from "../schemas";
import { forwardToPeer, wasForwarded } from "../peer-proxy";
import { createRouter, type AppServices } from "../router";
import { requestedOffset, sseResponse, streamOptions } from "../sse";
import { executionView } from "../views";

const ExecutionParams = z.object({ executionId: Id.openapi({ param: { name: "executionId", in: "path" } }) });

export function executionRoutes(services: AppServices) {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/executions",
      tags: ["Executions"],
      request: { query: ExecutionListQuerySchema },
      responses: {
        200: json(z.object({ executions: z.array(ExecutionSchema), nextCursor: z.string().nullable() }), "Newest first"),
        ...errorResponses(400, 401),
      },
    }),
    async (c) => {
      const page = await services.runs.listExecutions(c.get("principal"), c.req.valid("query"));
      return c.json({ executions: page.executions.map(executionView), nextCursor: page.nextCursor }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/executions/{executionId}",
      tags: ["Executions"],
      request: { params: ExecutionParams },
      responses: { 200: json(ExecutionSchema, "The execution"), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const execution = await services.runs.getExecution(c.get("principal"), c.req.valid("param").executionId);
      return c.json(executionView(execution), 200);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/executions/{executionId}/steps",
      tags: ["Executions"],
      summary: "A durable run's steps, each attempt with how it ended (a classic run has none)",
      request: { params: ExecutionParams },
      responses: { 200: json(z.object({ steps: z.array(StepTimelineEntrySchema) }), "Steps in order"), ...errorResponses(400, 401, 404, 503) },
    }),
    async (c) => {
      const steps = await services.runs.getExecutionSteps(c.get("principal"), c.req.valid("param").executionId);
      return c.json({ steps }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/executions/{executionId}/stream",
      tags: ["Executions"],
      summary: "The whole run's stream, live until it ends",
      request: { params: ExecutionParams, query: OffsetQuerySchema },
      responses: { 200: SSE_RESPONSE, ...errorResponses(400, 401, 404, 410, 503) },
    }),
    async (c) => {
      const offset = requestedOffset(c, c.req.valid("query"));
      services.admission.admitStream();
      const opened = await services.runs.openRunStream(
        c.get("principal"),
        c.req.valid("param").executionId,
        offset,
        { forwarded: wasForwarded(c) },
      );
      if ("peer" in opened) return (await forwardToPeer(c, opened, services)) as never;
      return sseResponse(opened, streamOptions(services)) as never;
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/api/executions/{executionId}/approvals/{toolCallId}",
      tags: ["Executions"],
      summary: "Approve or deny a tool call",
      request: {
        params: ExecutionParams.extend({
          toolCallId: z
            .string()
            .min(1)
            .max(200)
            .refine((id) => !/[\u0000-\u001f]/.test(id) && id.isWellFormed(), { message: "not a tool call id" })
            .openapi({ param: { name: "toolCallId", in: "path" } }),
        }),
        body: { required: true, content: { "application/json": { schema: ApprovalDecisionSchema } } },
      },
      responses: {
        200: json(z.object({ toolCallId: z.string(), status: z.enum(["approved", "denied"]) }), "Decision recorded"),
        ...errorResponses(400, 401, 404, 409),
      },
    }),
    async (c) => {
      const { executionId, toolCallId } = c.req.valid("param");
      const decision = await services.runs.decideApproval(c.get("principal"), {
        executionId,
        toolCallId,
        ...c.req.valid("json"),
      }, c.get("logger"));
      return c.json({ toolCallId: decision.toolCallId, status: decision.status as "approved" | "denied" }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/api/executions/{executionId}/cancel",
      tags: ["Executions"],
      request: { params: ExecutionParams },
      responses: { 200: json(ExecutionSchema, "Cancelled"), ...errorResponses(400, 401, 404, 409) },
    }),
    async (c) => {
      const principal = c.get("principal");
      const cancelled = await services.runs.cancelRun(principal, c.req.valid("param").executionId);
      return c.json(executionView(await services.runs.getExecution(principal, cancelled.id)), 200);
    },
  );

  return router;
}
