import { apiJson } from "./client";

export type ToolServerTransport = "http" | "sse";
export type ToolApproval = "auto" | "always" | "never";

export const TOOL_SERVER_TRANSPORTS: readonly ToolServerTransport[] = ["http", "sse"];
export const TOOL_APPROVALS: readonly ToolApproval[] = ["auto", "always", "never"];

/** A header as the API shows it back: the credential it names, or a masked literal value. */
export type HeaderView = { credential: string; prefix?: string } | { value: "***" };

/** A header as sent: a literal value, or a credential the server resolves from `TETHER_CREDENTIAL_<NAME>`. */
export type HeaderInput = string | { credential: string; prefix?: string };

/** MCP tool annotations; every hint is optional and only a hint. */
export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
  [other: string]: unknown;
}

export interface ServerTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  annotations: ToolAnnotations;
  approval: ToolApproval;
  /** What `approval` means for this tool now (`auto` follows `readOnlyHint`). */
  needsApproval: boolean;
}

export interface ToolServer {
  id: string;
  name: string;
  url: string;
  transport: ToolServerTransport;
  headers: Record<string, HeaderView>;
  /** As the server lists them now; empty when it could not be asked (then `toolsError` says why). */
  tools: ServerTool[];
  toolsError?: string;
  createdAt: string;
  updatedAt: string;
}

export interface ToolServerInput {
  id?: string;
  name: string;
  url: string;
  transport?: ToolServerTransport;
  headers?: Record<string, HeaderInput>;
}

export type ToolServerPatch = Partial<Omit<ToolServerInput, "id">> & { approvals?: Record<string, ToolApproval> };

const path = (id: string) => `/api/tool-servers/${encodeURIComponent(id)}`;

export async function listToolServers(): Promise<ToolServer[]> {
  return (await apiJson<{ toolServers: ToolServer[] }>("/api/tool-servers")).toolServers;
}

export const getToolServer = (id: string) => apiJson<ToolServer>(path(id));
export const createToolServer = (input: ToolServerInput) => apiJson<ToolServer>("/api/tool-servers", { method: "POST", body: input });
export const updateToolServer = (id: string, patch: ToolServerPatch) => apiJson<ToolServer>(path(id), { method: "PATCH", body: patch });
export const deleteToolServer = (id: string) => apiJson<void>(path(id), { method: "DELETE" });

/** The agent `tools` entry for one tool of a server, or for all of them (`toolName` omitted). */
export const serverToolReference = (serverId: string, toolName?: string) => `${serverId}:${toolName ?? "*"}`;
