import { createRoute, z } from "@hono/zod-openapi";
import { ForbiddenError } from "../../errors";
import { errorResponses, json } from "../schemas";
import { createRouter, type AppServices } from "../router";
import { outboxView } from "../views";

const OutboxMessageSchema = z
  .object({
    messageId: z.string(),
    toolCallId: z.string(),
    executionId: z.string(),
    to: z.string(),
    subject: z.string(),
    body: z.string(),
    sentAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("OutboxMessage");

export function operationRoutes(services: AppServices) {
  const router = createRouter();

  router.openapi(
    createRoute({
      method: "get",
      path: "/health",
      tags: ["Operations"],
      responses: {
        200: json(
          z.object({ ok: z.literal(true), db: z.enum(["pglite", "postgres"]), world: z.enum(["local", "postgres"]) }),
          "Every part is ready, durable execution included",
        ),
        503: json(
          z.object({ ok: z.literal(false), starting: z.array(z.string()) }),
          "Still starting: `starting` names the parts that are not ready yet",
        ),
      },
    }),
    (c) => {
      const starting = services.starting();
      if (starting.length > 0) return c.json({ ok: false as const, starting }, 503);
      return c.json({ ok: true as const, ...services.health }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/outbox",
      tags: ["Operations"],
      summary: "Messages sent by the send_email tool (admin only)",
      responses: {
        200: json(z.object({ messages: z.array(OutboxMessageSchema) }), "Sent messages, newest first"),
        ...errorResponses(401, 403),
      },
    }),
    async (c) => {
      if (!c.get("principal").admin) throw new ForbiddenError("only admins can read the outbox");
      return c.json({ messages: (await services.repositories.outbox.list()).map(outboxView) }, 200);
    },
  );

  return router;
}
