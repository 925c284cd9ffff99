import { createRoute, z } from "@hono/zod-openapi";
import type { UIMessage } from "ai";
import type { OpenedStream } from "../../runs/service";
import { ChatResumeQuerySchema, createChatRequestSchema, errorResponses, Id, json, SSE_RESPONSE } from "../schemas";
import { forwardToPeer, wasForwarded } from "../peer-proxy";
import { createRouter, type AppServices } from "../router";
import { requestedPosition, sseResponse, streamOptions } from "../sse";

const ConversationParams = z.object({
  conversationId: Id.openapi({ param: { name: "conversationId", in: "path" } }),
});

/** The headers WorkflowChatTransport (`@workflow/ai`) reads, besides Tether's own stream headers. */
const WORKFLOW_RUN_ID = "x-workflow-run-id";
const WORKFLOW_STREAM_TAIL_INDEX = "x-workflow-stream-tail-index";
// A browser reads them only where they are exposed (Tether sets no CORS itself; a proxy that allows an origin may).
const EXPOSED_HEADERS = { "access-control-expose-headers": `${WORKFLOW_RUN_ID}, ${WORKFLOW_STREAM_TAIL_INDEX}` };

/**
 * The transport reconnects to `{api}/{x-workflow-run-id}/stream`: the conversation id makes that the resume
 * route below, the same in both execution modes (a durable run's own id would address nothing here).
 */
const chatHeaders = (opened: OpenedStream) => ({ ...EXPOSED_HEADERS, [WORKFLOW_RUN_ID]: opened.execution.conversationId });

const resumeHeaders = (opened: OpenedStream): Record<string, string> =>
  opened.tailIndex === undefined ? {} : { ...EXPOSED_HEADERS, [WORKFLOW_STREAM_TAIL_INDEX]: String(opened.tailIndex) };

export function chatRoutes(services: AppServices) {
  const router = createRouter();
  const ChatRequestSchema = createChatRequestSchema(services.limits);

  router.openapi(
    createRoute({
      method: "post",
      path: "/api/chat",
      tags: ["Chat"],
      summary: "Send a message (or approval answers) and stream the answer",
      description:
        "A body sent without a content-type, or as `text/plain` (what fetch sends for a string body, as " +
        "WorkflowChatTransport does), is read as JSON, except from a cross-site browser request.",
      request: { body: { required: true, content: { "application/json": { schema: ChatRequestSchema } } } },
      responses: {
        200: {
          ...SSE_RESPONSE,
          headers: {
            [WORKFLOW_RUN_ID]: {
              description: "The conversation id: WorkflowChatTransport reconnects to `/api/chat/{it}/stream`",
              schema: { type: "string" },
            },
          },
        },
        ...errorResponses(400, 401, 404, 409, 413, 415, 503),
      },
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
      return sseResponse(opened, streamOptions(services), chatHeaders(opened)) as never;
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/chat/{conversationId}/stream",
      tags: ["Chat"],
      summary: "Resume the turn that is streaming now",
      description:
        "From after `Last-Event-ID` / `?offset=`, or at `?startIndex=` (not both: 400); either one also " +
        "serves a turn that has ended, for as long as its events are kept (410 after).",
      request: { params: ConversationParams, query: ChatResumeQuerySchema },
      responses: {
        200: {
          ...SSE_RESPONSE,
          headers: {
            [WORKFLOW_STREAM_TAIL_INDEX]: {
              description:
                "With a negative `startIndex` only: the index of the turn's last chunk when the answer started " +
                "(the first chunk served is `tailIndex + 1 + startIndex`, or 0)",
              schema: { type: "integer" },
            },
          },
        },
        204: { description: "Nothing is streaming in this conversation" },
        ...errorResponses(400, 401, 404, 410, 503),
      },
    }),
    async (c) => {
      const { conversationId } = c.req.valid("param");
      const position = requestedPosition(c, c.req.valid("query"));
      services.admission.admitStream();
      const hop = { forwarded: wasForwarded(c) };
      const opened = await services.runs.openConversationStream(c.get("principal"), conversationId, position, hop);
      if (!opened) return c.body(null, 204);
      if ("peer" in opened) return (await forwardToPeer(c, opened, services)) as never;
      return sseResponse(opened, streamOptions(services), resumeHeaders(opened)) as never;
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
