export { needsApproval, approvalOf } from "./approval";
export {
  connectToolServer,
  fetchServerTools,
  listServerTools,
  type McpToolDefinition,
  type ToolServerConnection,
  type ToolServerSettings,
} from "./client";
export { isToolCallFailure, ToolCallFailure, ToolServerUnavailable, type ToolServerProblem } from "./errors";
export { CREDENTIAL_NAME, HEADER_NAME, headerViews, missingCredentials, RESERVED_HEADERS, type HeaderView } from "./headers";
export { isToolServerId, MCP_TOOL_NAME, modelToolName, parseServerToolReference, TOOL_SERVER_ID_MAX } from "./names";
export { callRecordedTool, recordedToolSet, recordServerTools, type RecordedServerTools, type RecordedTool } from "./recorded-tools";
export { unavailableToolSet, type UnavailableTool } from "./server-tools";
export { namesServerTools, openServerTools, type OpenedServerTools, type ToolServerAccess } from "./turn-tools";
