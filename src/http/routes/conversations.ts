import { createRoute, z } from "@hono/zod-openapi";
import { ConversationSchema, ConversationSummarySchema, errorResponses, Id, json } from "../schemas";
import { createRouter, type AppServices } from "../router";
import { conversationSummaryView } from "../views";

export function conversationRoutes(services: AppServices) {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/conversations",
      tags: ["Conversations"],
      request: { query: z.object({ agentId: Id.optional() }) },
      responses: {
        200: json(z.object({ conversations: z.array(ConversationSummarySchema) }), "Conversations, newest first"),
        ...errorResponses(400, 401),
      },
    }),
    async (c) => {
      const conversations = await services.runs.listConversations(c.get("principal"), c.req.valid("query"));
      return c.json({ conversations: conversations.map(conversationSummaryView) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/conversations/{conversationId}",
      tags: ["Conversations"],
      request: { params: z.object({ conversationId: Id.openapi({ param: { name: "conversationId", in: "path" } }) }) },
      responses: { 200: json(ConversationSchema, "The conversation with its messages"), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const conversation = await services.runs.getConversation(c.get("principal"), c.req.valid("param").conversationId);
      return c.json(
        {
          id: conversation.id,
          agentId: conversation.agentId,
          messages: conversation.messages,
          activeExecutionId: conversation.activeExecutionId,
        },
        200,
      );
    },
  );

  return router;
}
