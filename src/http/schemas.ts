import { z } from "@hono/zod-openapi";
import { EXECUTION_MODES, EXECUTION_STATUSES } from "../../drizzle/schema";
import { modelIdProblem } from "../agents/models";
import { parseServerToolReference } from "../agents/mcp";
import { isToolName, TOOL_NAMES } from "../agents/tools";
import { ERROR_CODES } from "./errors";

/** Ids in paths and bodies: letters, digits and `_ - . :`, at most 128 characters. */
export const Id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, "must be 1-128 letters, digits, '_', '-', '.' or ':'");

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).openapi({ example: "not_found" }),
      message: z.string(),
      requestId: z.string().optional(),
      field: z.string().optional(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

/** An OpenAPI response with a JSON body. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: `Error ${status}`, content: { "application/json": { schema: ErrorSchema } } },
    ]),
  );

const ModelId = z
  .string()
  .max(200)
  .refine((model) => modelIdProblem(model) === undefined, { message: 'use "demo", "demo:<ms>" or "openai:<model>"' })
  .openapi({ example: "demo" });

/** A built-in tool, or an MCP server's tool: `"<serverId>:<toolName>"` or `"<serverId>:*"` (the route checks the server exists). */
const AgentToolName = z
  .string()
  .max(200)
  .refine((name) => isToolName(name) || parseServerToolReference(name) !== undefined, {
    message: `use a built-in tool (${TOOL_NAMES.join(", ")}), "<serverId>:<toolName>" or "<serverId>:*"`,
  });

const ToolList = z
  .array(AgentToolName)
  .max(200)
  .refine((tools) => new Set(tools).size === tools.length, { message: "tools must not repeat" });

export const AgentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    instructions: z.string(),
    model: z.string(),
    tools: z.array(z.string()),
    executionMode: z.enum(EXECUTION_MODES),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Agent");

export const AgentCreateSchema = z
  .object({
    id: Id.optional(),
    name: z.string().trim().min(1).max(200),
    instructions: z.string().max(20_000).optional(),
    model: ModelId.optional(),
    tools: ToolList.optional(),
    executionMode: z.enum(EXECUTION_MODES).optional(),
  })
  .strict()
  .openapi("AgentCreate");

export const AgentPatchSchema = AgentCreateSchema.omit({ id: true }).partial().strict().openapi("AgentPatch");

const TOOL_PART_STATES = [
  "input-streaming",
  "input-available",
  "approval-requested",
  "approval-responded",
  "output-available",
  "output-error",
  "output-denied",
] as const;

/** The fields of a tool part the server reads back (approval answers travel in them); the rest stays loose. */
const ToolPartFieldsSchema = z.looseObject({
  toolCallId: z.string().min(1).max(200),
  state: z.enum(TOOL_PART_STATES),
  approval: z
    .looseObject({ id: z.string().min(1).max(200), approved: z.boolean().optional(), reason: z.string().max(10_000).optional() })
    .optional(),
});

const isToolPartType = (type: string) => type.startsWith("tool-") || type === "dynamic-tool";

const UIMessagePartSchema = z.looseObject({ type: z.string().min(1).max(100) }).superRefine((part, context) => {
  if (!isToolPartType(part.type)) return;
  const fields = ToolPartFieldsSchema.safeParse(part);
  if (!fields.success) {
    for (const issue of fields.error.issues) context.addIssue({ code: "custom", path: issue.path, message: issue.message });
    return;
  }
  const { state, approval } = fields.data;
  if ((state === "approval-requested" || state === "approval-responded" || state === "output-denied") && !approval) {
    context.addIssue({ code: "custom", path: ["approval"], message: `a tool part in state ${state} carries its approval` });
  } else if ((state === "approval-responded" || state === "output-denied") && approval?.approved === undefined) {
    context.addIssue({ code: "custom", path: ["approval", "approved"], message: `a tool part in state ${state} says whether it was approved` });
  }
});

/**
 * A UI message as the chat route accepts it. Not `ai`'s `validateUIMessages`: that one runs after routing
 * (async, with the agent's tools), names no field in its errors and documents nothing; this schema is the
 * OpenAPI contract and answers 400 with the path of the first bad field. The model call still converts
 * messages with `ai`'s own `convertToModelMessages`, which rejects what the SDK cannot use.
 */
export const UIMessageSchema = z
  .object({
    id: z.string().min(1).max(200),
    role: z.enum(["system", "user", "assistant"]),
    parts: z.array(UIMessagePartSchema).max(1000),
    metadata: z.unknown().optional(),
  })
  .openapi("UIMessage");

export interface ChatLimits {
  messages: number;
  messageBytes: number;
}

/** The chat body, with the configured limits on message count and size. */
export function createChatRequestSchema(limits: ChatLimits) {
  const LimitedMessage = UIMessageSchema.refine(
    (message) => Buffer.byteLength(JSON.stringify(message)) <= limits.messageBytes,
    { message: `a message may take at most ${limits.messageBytes} bytes of JSON` },
  );
  return z
    .object({
      id: Id.openapi({ description: "The conversation id" }),
      messages: z.array(LimitedMessage).min(1).max(limits.messages),
      agentId: Id,
      trigger: z.enum(["submit-message", "regenerate-message"]).optional(),
      messageId: z.string().min(1).max(200).optional(),
      executionMode: z.enum(EXECUTION_MODES).optional(),
    })
    .openapi("ChatRequest");
}

export const PendingApprovalSchema = z
  .object({
    toolCallId: z.string(),
    toolName: z.string(),
    input: z.unknown(),
    requestedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("PendingApproval");

export const ExecutionSchema = z
  .object({
    id: z.string(),
    mode: z.enum(EXECUTION_MODES),
    status: z.enum(EXECUTION_STATUSES),
    agentId: z.string(),
    conversationId: z.string(),
    workflowRunId: z.string().optional(),
    pendingApprovals: z.array(PendingApprovalSchema),
    metadata: z.record(z.string(), z.unknown()),
    error: z.string().optional(),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
    completedAt: z.string().optional().openapi({ format: "date-time" }),
  })
  .openapi("Execution");

export const StepTimelineEntrySchema = z
  .object({
    stepId: z.string(),
    name: z.string().openapi({ example: "runModelRound" }),
    status: z.enum(["pending", "running", "completed", "failed"]),
    createdAt: z.string().openapi({ format: "date-time" }),
    attempts: z.array(
      z.object({
        attempt: z.number().int(),
        startedAt: z.string().openapi({ format: "date-time" }),
        endedAt: z.string().optional().openapi({ format: "date-time" }),
        outcome: z.enum(["running", "completed", "error", "failed", "interrupted"]).openapi({
          description: "`error`: it threw and was retried; `interrupted`: its process died before it ended",
        }),
        error: z.string().optional(),
      }),
    ),
  })
  .openapi("StepTimelineEntry");

export const ExecutionListQuerySchema = z.object({
  conversationId: Id.optional(),
  agentId: Id.optional(),
  status: z.enum(EXECUTION_STATUSES).optional(),
  mode: z.enum(EXECUTION_MODES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export const ApprovalDecisionSchema = z
  .object({ approved: z.boolean(), reason: z.string().max(2000).optional() })
  .strict()
  .openapi("ApprovalDecision");

export const ConversationSummarySchema = z
  .object({
    id: z.string(),
    agentId: z.string(),
    title: z.string(),
    updatedAt: z.string().openapi({ format: "date-time" }),
    activeExecutionId: z.string().nullable(),
  })
  .openapi("ConversationSummary");

export const ConversationSchema = z
  .object({
    id: z.string(),
    agentId: z.string(),
    messages: z.array(UIMessageSchema),
    activeExecutionId: z.string().nullable(),
  })
  .openapi("Conversation");

export const OffsetQuerySchema = z.object({
  offset: z.string().max(100).optional().openapi({ description: "Resume after this event id" }),
});

export const ChatResumeQuerySchema = OffsetQuerySchema.extend({
  startIndex: z
    .string()
    .regex(/^-?[0-9]{1,15}$/, "must be an integer")
    .optional()
    .openapi({
      description:
        "Resume at this chunk of the turn's stream, counted from its first chunk (WorkflowChatTransport's " +
        "reconnect); negative: its last |n| chunks, and the answer carries `x-workflow-stream-tail-index`. " +
        "Not together with an offset.",
      example: "42",
    }),
});

export const SSE_RESPONSE = {
  description: "AI SDK UI message stream (SSE); every event carries `id: <offset>`; ends with `data: [DONE]`",
  content: { "text/event-stream": { schema: z.string() } },
};
