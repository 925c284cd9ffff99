import { z } from "@hono/zod-openapi";
import { TOOL_APPROVALS, TOOL_SERVER_TRANSPORTS } from "../../drizzle/schema";
import {
  CREDENTIAL_NAME,
  HEADER_NAME,
  isToolServerId,
  MCP_TOOL_NAME,
  RESERVED_HEADERS,
  TOOL_SERVER_ID_MAX,
} from "../agents/mcp";

export const ToolServerId = z
  .string()
  .refine(isToolServerId, {
    message: `must be 1-${TOOL_SERVER_ID_MAX} letters and digits, words joined by single '-' or '_'`,
  })
  .openapi({ example: "notes" });

const ServerUrl = z
  .string()
  .max(2000)
  .superRefine((text, context) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      context.addIssue({ code: "custom", message: "must be an absolute http(s) URL" });
      return;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      context.addIssue({ code: "custom", message: "must be an http or https URL" });
    } else if (url.username || url.password) {
      // A password in the URL would come back in every answer: credentials belong in headers.
      context.addIssue({ code: "custom", message: "must not hold a user name or password; use headers with a credential" });
    }
  })
  .openapi({ example: "http://127.0.0.1:3001/mcp" });

/** No CR, LF or other control characters: they cannot travel in a header. */
const HeaderText = (max: number) =>
  z.string().max(max).regex(/^[^\u0000-\u0008\u000a-\u001f\u007f]*$/, "must not contain control characters");

const CredentialHeader = z
  .object({
    credential: z.string().regex(CREDENTIAL_NAME, "must be 1-100 letters, digits or '_' (TETHER_CREDENTIAL_<NAME>)"),
    prefix: HeaderText(100).optional().openapi({ example: "Bearer " }),
  })
  .strict();

const HeadersInput = z
  .record(
    z.string().regex(HEADER_NAME, "must be a valid HTTP header name"),
    z.union([HeaderText(8000), CredentialHeader]),
  )
  .superRefine((headers, context) => {
    const seen = new Set<string>();
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      if (RESERVED_HEADERS.has(lower)) {
        context.addIssue({ code: "custom", path: [name], message: `${name} is set by the MCP transport itself` });
      } else if (seen.has(lower)) {
        context.addIssue({ code: "custom", path: [name], message: `${name} is given twice` });
      }
      seen.add(lower);
    }
    if (seen.size > 32) context.addIssue({ code: "custom", message: "at most 32 headers" });
  })
  .openapi({ example: { Authorization: { credential: "NOTES_TOKEN", prefix: "Bearer " } } });

const Approvals = z
  .record(z.string().regex(MCP_TOOL_NAME, "must be a tool name"), z.enum(TOOL_APPROVALS))
  .refine((approvals) => Object.keys(approvals).length <= 500, { message: "at most 500 tools" })
  .openapi({ example: { add_note: "always" } });

export const ToolServerCreateSchema = z
  .object({
    id: ToolServerId.optional(),
    name: z.string().trim().min(1).max(200),
    url: ServerUrl,
    transport: z.enum(TOOL_SERVER_TRANSPORTS).optional(),
    headers: HeadersInput.optional(),
  })
  .strict()
  .openapi("ToolServerCreate");

export const ToolServerPatchSchema = ToolServerCreateSchema.omit({ id: true })
  .partial()
  .extend({ approvals: Approvals.optional() })
  .strict()
  .openapi("ToolServerPatch");

const HeaderViewSchema = z.union([
  z.object({ credential: z.string(), prefix: z.string().optional() }),
  z.object({ value: z.literal("***") }),
]);

const ServerToolSchema = z.object({
  name: z.string(),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()),
  annotations: z.record(z.string(), z.unknown()).openapi({
    description: "The server's hints: readOnlyHint, destructiveHint, idempotentHint, openWorldHint, title",
  }),
  approval: z.enum(TOOL_APPROVALS),
  needsApproval: z.boolean(),
});

export const ToolServerSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    url: z.string(),
    transport: z.enum(TOOL_SERVER_TRANSPORTS),
    headers: z.record(z.string(), HeaderViewSchema),
    tools: z.array(ServerToolSchema).openapi({ description: "As the server lists them now" }),
    toolsError: z.string().optional().openapi({
      description: "Present when the server could not be asked for its tools just now (then `tools` is empty)",
    }),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("ToolServer");
