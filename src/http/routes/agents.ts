import { createRoute, z } from "@hono/zod-openapi";
import { randomBytes } from "node:crypto";
import { parseServerToolReference } from "../../agents/mcp";
import type { ToolServerRepository } from "../../db/repositories/tool-servers";
import { ForbiddenError, InvalidInputError } from "../../errors";
import { AgentCreateSchema, AgentPatchSchema, AgentSchema, errorResponses, Id, json } from "../schemas";
import { createRouter, type AppServices } from "../router";
import { agentView } from "../views";

/** Every MCP entry of an agent's tools must name a registered server: 400 naming the first that does not. */
async function requireToolServers(tools: readonly string[] | undefined, toolServers: ToolServerRepository) {
  if (!tools) return;
  const references = tools.map((name, index) => ({ index, name, reference: parseServerToolReference(name) }));
  const serverIds = [...new Set(references.flatMap(({ reference }) => (reference ? [reference.serverId] : [])))];
  if (serverIds.length === 0) return;
  const known = new Set((await toolServers.findMany(serverIds)).map((server) => server.id));
  const unknown = references.find(({ reference }) => reference && !known.has(reference.serverId));
  if (unknown) {
    throw new InvalidInputError(
      `json.tools.${unknown.index}`,
      `tools entry ${JSON.stringify(unknown.name)} names tool server ${JSON.stringify(unknown.reference!.serverId)}, which does not exist`,
    );
  }
}

const AgentParams = z.object({ agentId: Id.openapi({ param: { name: "agentId", in: "path" } }) });

export function agentRoutes(services: AppServices) {
  const { agents, toolServers } = services.repositories;
  const router = createRouter();
  const requireAdmin = (admin: boolean) => {
    if (!admin) throw new ForbiddenError("only admins can change agents");
  };

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/agents",
      tags: ["Agents"],
      responses: { 200: json(z.object({ agents: z.array(AgentSchema) }), "All agents"), ...errorResponses(401) },
    }),
    async (c) => c.json({ agents: (await agents.list()).map(agentView) }, 200),
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/api/agents",
      tags: ["Agents"],
      request: { body: { required: true, content: { "application/json": { schema: AgentCreateSchema } } } },
      responses: { 201: json(AgentSchema, "Created"), ...errorResponses(400, 401, 403, 409) },
    }),
    async (c) => {
      requireAdmin(c.get("principal").admin);
      const input = c.req.valid("json");
      await requireToolServers(input.tools, toolServers);
      const agent = await agents.create({ ...input, id: input.id ?? `agent_${randomBytes(8).toString("hex")}` });
      return c.json(agentView(agent), 201);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/agents/{agentId}",
      tags: ["Agents"],
      request: { params: AgentParams },
      responses: { 200: json(AgentSchema, "The agent"), ...errorResponses(400, 401, 404) },
    }),
    async (c) => c.json(agentView(await agents.get(c.req.valid("param").agentId)), 200),
  );

  router.openapi(
    createRoute({
      method: "patch",
      path: "/api/agents/{agentId}",
      tags: ["Agents"],
      request: {
        params: AgentParams,
        body: { required: true, content: { "application/json": { schema: AgentPatchSchema } } },
      },
      responses: { 200: json(AgentSchema, "Updated"), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      requireAdmin(c.get("principal").admin);
      const patch = c.req.valid("json");
      await requireToolServers(patch.tools, toolServers);
      const agent = await agents.update(c.req.valid("param").agentId, patch);
      return c.json(agentView(agent), 200);
    },
  );

  router.openapi(
    createRoute({
      method: "delete",
      path: "/api/agents/{agentId}",
      tags: ["Agents"],
      request: { params: AgentParams },
      responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      requireAdmin(c.get("principal").admin);
      await agents.delete(c.req.valid("param").agentId);
      return c.body(null, 204);
    },
  );

  return router;
}
