import { createRoute, z } from "@hono/zod-openapi";
import type { UIMessage } from "ai";
import { createChatRequestSchema, errorResponses, Id, json, OffsetQuerySchema, SSE_RESPONSE } from "../schemas";
import { createRouter, type AppServices } from "../router";
import { requestedOffset, sseResponse, streamOptions } from "../sse";

const ConversationParams = z.object({
  conversationId: Id.openapi({ param: { name: "conversationId", in: "path" } }),
});

export function chatRoutes(services: AppServices) {
  const router = createRouter();
  const ChatRequestSchema = createChatRequestSchema(services.limits);

  router.openapi(
    createRoute({
      method: "post",
      path: "/api/chat",
      tags: ["Chat"],
      summary: "Send a message (or approval answers) and stream the answer",
      request: { body: { required: true, content: { "application/json": { schema: ChatRequestSchema } } } },
      responses: { 200: SSE_RESPONSE, ...errorResponses(400, 401, 404, 409, 413, 503) },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const opened = await services.runs.chat(c.get("principal"), {
        conversationId: body.id,
        agentId: body.agentId,
        messages: body.messages as UIMessage[],
        trigger: body.trigger,
        messageId: body.messageId,
        executionMode: body.executionMode,
      }, c.get("logger"));
      return sseResponse(opened, streamOptions(services)) as never;
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/chat/{conversationId}/stream",
      tags: ["Chat"],
      summary: "Resume the turn that is streaming now",
      request: { params: ConversationParams, query: OffsetQuerySchema },
      responses: {
        200: SSE_RESPONSE,
        204: { description: "Nothing is streaming in this conversation" },
        ...errorResponses(400, 401, 404, 410, 503),
      },
    }),
    async (c) => {
      const { conversationId } = c.req.valid("param");
      const offset = requestedOffset(c, c.req.valid("query"));
      services.admission.admitStream();
      const opened = await services.runs.openConversationStream(c.get("principal"), conversationId, offset);
      if (!opened) return c.body(null, 204);
      return sseResponse(opened, streamOptions(services)) as never;
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/api/chat/{conversationId}/stop",
      tags: ["Chat"],
      summary: "Stop the run of a conversation (a disconnect never does)",
      request: { params: ConversationParams },
      responses: {
        200: json(z.object({ executionId: z.string(), status: z.string() }), "Stopped"),
        204: { description: "Nothing was running" },
        ...errorResponses(400, 401, 404),
      },
    }),
    async (c) => {
      const stopped = await services.runs.stopConversation(c.get("principal"), c.req.valid("param").conversationId);
      if (!stopped) return c.body(null, 204);
      return c.json({ executionId: stopped.id, status: stopped.status }, 200);
    },
  );

  return router;
}
