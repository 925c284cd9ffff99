import { createRoute, z } from "@hono/zod-openapi";
import { randomBytes } from "node:crypto";
import type { ToolServerHeader, ToolServerRow } from "../../../drizzle/schema";
import {
  approvalOf,
  fetchServerTools,
  headerViews,
  missingCredentials,
  needsApproval,
  ToolServerUnavailable,
  type McpToolDefinition,
  type ToolServerSettings,
} from "../../agents/mcp";
import { ConflictError, ForbiddenError, InvalidInputError } from "../../errors";
import { errorResponse } from "../errors";
import { createRouter, type AppServices } from "../router";
import { errorResponses, json } from "../schemas";
import { ToolServerCreateSchema, ToolServerId, ToolServerPatchSchema, ToolServerSchema } from "../tool-server-schemas";

const ToolServerParams = z.object({ toolServerId: ToolServerId.openapi({ param: { name: "toolServerId", in: "path" } }) });

type HeaderInput = Record<string, string | { credential: string; prefix?: string }>;

/** Literal header values are stored as `{value}`, so every stored header says what it is. */
const storedHeaders = (headers: HeaderInput): Record<string, ToolServerHeader> =>
  Object.fromEntries(Object.entries(headers).map(([name, header]) => [name, typeof header === "string" ? { value: header } : header]));

/** A credential a header names must be configured here: say which header, by its field. */
function requireCredentials(headers: Record<string, ToolServerHeader>, settings: ToolServerSettings) {
  const [missing] = missingCredentials(headers, settings.credentials);
  if (missing) {
    throw new InvalidInputError(
      `json.headers.${missing.header}.credential`,
      `header ${missing.header}: credential ${missing.credential} is not configured on this server (set TETHER_CREDENTIAL_${missing.credential.toUpperCase()})`,
    );
  }
}

function toolViews(server: ToolServerRow, definitions: readonly McpToolDefinition[]) {
  return definitions.map((definition) => {
    const approval = approvalOf(server.approvals, definition.name);
    return {
      name: definition.name,
      description: definition.description ?? "",
      inputSchema: definition.inputSchema as Record<string, unknown>,
      annotations: (definition.annotations ?? {}) as Record<string, unknown>,
      approval,
      needsApproval: needsApproval(approval, definition.annotations),
    };
  });
}

/** The API's ToolServer: header values masked, tools as listed now (or why they could not be). */
function toolServerView(server: ToolServerRow, listed: { tools: readonly McpToolDefinition[] } | { error: string }) {
  return {
    id: server.id,
    name: server.name,
    url: server.url,
    transport: server.transport,
    headers: headerViews(server.headers),
    tools: "tools" in listed ? toolViews(server, listed.tools) : [],
    ...("error" in listed ? { toolsError: listed.error } : {}),
    createdAt: server.createdAt.toISOString(),
    updatedAt: server.updatedAt.toISOString(),
  };
}

export function toolServerRoutes(services: AppServices) {
  const { toolServers } = services.repositories;
  const settings = services.toolServers;
  const router = createRouter();
  const requireAdmin = (admin: boolean) => {
    if (!admin) throw new ForbiddenError("only admins can manage tool servers");
  };

  /** A server that is down still shows (with `toolsError`): it can be fixed or removed meanwhile. */
  async function view(server: ToolServerRow) {
    try {
      return toolServerView(server, { tools: await fetchServerTools(server, settings) });
    } catch (error) {
      const message = error instanceof ToolServerUnavailable ? error.message : settings.redact(String(error));
      return toolServerView(server, { error: message });
    }
  }

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/tool-servers",
      tags: ["Tool servers"],
      responses: {
        200: json(z.object({ toolServers: z.array(ToolServerSchema) }), "All tool servers"),
        ...errorResponses(401, 403),
      },
    }),
    async (c) => {
      requireAdmin(c.get("principal").admin);
      const views = await Promise.all((await toolServers.list()).map(view));
      return c.json({ toolServers: views }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: "post",
      path: "/api/tool-servers",
      tags: ["Tool servers"],
      request: { body: { required: true, content: { "application/json": { schema: ToolServerCreateSchema } } } },
      responses: {
        201: json(ToolServerSchema, "Registered; `tools` as the server listed them"),
        ...errorResponses(400, 401, 403, 409, 422),
      },
    }),
    async (c) => {
      requireAdmin(c.get("principal").admin);
      const input = c.req.valid("json");
      const id = input.id ?? `mcp_${randomBytes(6).toString("hex")}`;
      const headers = storedHeaders(input.headers ?? {});
      requireCredentials(headers, settings);
      // Checked before connecting: a taken id is 409 whether or not the server answers.
      if (await toolServers.find(id)) throw new ConflictError(`tool server ${JSON.stringify(id)} already exists`);
      const candidate: ToolServerRow = {
        id,
        name: input.name,
        url: input.url,
        transport: input.transport ?? "http",
        headers,
        approvals: {},
        createdAt: new Date(),
        updatedAt: new Date(),
      };
      let tools: McpToolDefinition[];
      try {
        tools = await fetchServerTools(candidate, settings);
      } catch (error) {
        if (!(error instanceof ToolServerUnavailable)) throw error;
        // The document declares the 422 (errorResponses); its body type is not part of the handler's inferred type.
        return errorResponse(c, `tool_server_${error.problem}`, error.message, { field: "json.url" }) as never;
      }
      const server = await toolServers.create({ id, name: input.name, url: input.url, transport: candidate.transport, headers });
      return c.json(toolServerView(server, { tools }), 201);
    },
  );

  router.openapi(
    createRoute({
      method: "get",
      path: "/api/tool-servers/{toolServerId}",
      tags: ["Tool servers"],
      request: { params: ToolServerParams },
      responses: { 200: json(ToolServerSchema, "The tool server"), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      requireAdmin(c.get("principal").admin);
      return c.json(await view(await toolServers.get(c.req.valid("param").toolServerId)), 200);
    },
  );

  router.openapi(
    createRoute({
      method: "patch",
      path: "/api/tool-servers/{toolServerId}",
      tags: ["Tool servers"],
      request: {
        params: ToolServerParams,
        body: { required: true, content: { "application/json": { schema: ToolServerPatchSchema } } },
      },
      responses: { 200: json(ToolServerSchema, "Updated"), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      requireAdmin(c.get("principal").admin);
      const { toolServerId } = c.req.valid("param");
      const { headers, approvals, ...fields } = c.req.valid("json");
      const current = await toolServers.get(toolServerId);
      const patch = {
        ...fields,
        ...(headers === undefined ? {} : { headers: storedHeaders(headers) }),
        // Merged: a tool not named keeps its policy; "auto" puts a tool back to the default.
        ...(approvals === undefined ? {} : { approvals: { ...current.approvals, ...approvals } }),
      };
      if (patch.headers) requireCredentials(patch.headers, settings);
      return c.json(await view(await toolServers.update(toolServerId, patch)), 200);
    },
  );

  router.openapi(
    createRoute({
      method: "delete",
      path: "/api/tool-servers/{toolServerId}",
      tags: ["Tool servers"],
      request: { params: ToolServerParams },
      responses: { 204: { description: "Deleted" }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      requireAdmin(c.get("principal").admin);
      await toolServers.delete(c.req.valid("param").toolServerId);
      return c.body(null, 204);
    },
  );

  return router;
}
