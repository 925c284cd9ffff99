import { createMCPClient, type ListToolsResult, type MCPClient } from "@ai-sdk/mcp";
import type { ToolServerRow } from "../../../drizzle/schema";
import type { Logger } from "../../logger";
import type { CredentialStore } from "../credentials";
import { describeConnectFailure } from "./errors";
import { redactSecrets } from "../../redact";
import { resolveHeaders } from "./headers";

/** What talking to tool servers needs from the service. */
export interface ToolServerSettings {
  credentials: CredentialStore;
  /** How long connecting (and listing tools) or one tool call may take. */
  timeoutMs: number;
  /** Masks every secret configured in the process. */
  redact: (text: string) => string;
  logger?: Logger;
}

/** One tool definition as the server lists it (annotations included). */
export type McpToolDefinition = ListToolsResult["tools"][number];

/** An open MCP session with one server. */
export interface ToolServerConnection {
  server: ToolServerRow;
  client: MCPClient;
  /** Masks the process's secrets and the header values this connection sends. */
  redact: (text: string) => string;
  close(): Promise<void>;
}

/** Closing sends the server a last request (the session's DELETE): never let that hold up a turn. */
const CLOSE_WAIT_MS = 5_000;
/** Enough for any real server; a server that pages forever is cut off here. */
const MAX_TOOL_PAGES = 50;

/**
 * Opens a session with a tool server, resolving its headers from the credential store now. Throws a
 * ToolServerUnavailable saying why it could not (unreachable, not MCP, credentials refused or missing).
 */
export async function connectToolServer(
  server: ToolServerRow,
  settings: ToolServerSettings,
  abortSignal?: AbortSignal,
): Promise<ToolServerConnection> {
  let secrets: string[] = [];
  const redact = (text: string) => settings.redact(redactSecrets(text, secrets));
  try {
    const resolved = resolveHeaders(server.headers, settings.credentials);
    secrets = resolved.secrets;
    const client = await createMCPClient({
      transport: { type: server.transport, url: server.url, headers: resolved.headers },
      clientName: "tether",
      initializationOptions: { timeout: settings.timeoutMs, ...(abortSignal ? { signal: abortSignal } : {}) },
      onUncaughtError: (error) =>
        settings.logger?.debug({ toolServerId: server.id, error: redact(String(error)) }, "tool server connection error"),
    });
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= closeWithin(client, CLOSE_WAIT_MS).catch((error) => {
        settings.logger?.debug({ toolServerId: server.id, error: redact(String(error)) }, "closing a tool server session failed");
      });
      return closing;
    };
    return { server, client, redact, close };
  } catch (error) {
    throw describeConnectFailure(error, { url: server.url, timeoutMs: settings.timeoutMs, redact });
  }
}

async function closeWithin(client: MCPClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([client.close(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every tool the server lists (following pages), within the connection timeout. */
export async function listServerTools(
  connection: ToolServerConnection,
  settings: Pick<ToolServerSettings, "timeoutMs">,
): Promise<McpToolDefinition[]> {
  const tools: McpToolDefinition[] = [];
  let cursor: string | undefined;
  try {
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const result = await connection.client.listTools({
        ...(cursor === undefined ? {} : { params: { cursor } }),
        options: { timeout: settings.timeoutMs },
      });
      tools.push(...result.tools);
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
  } catch (error) {
    throw describeConnectFailure(error, {
      url: connection.server.url,
      timeoutMs: settings.timeoutMs,
      redact: connection.redact,
    });
  }
  return tools;
}

/** Connects, lists the tools and closes: what the routes show of a server right now. */
export async function fetchServerTools(server: ToolServerRow, settings: ToolServerSettings): Promise<McpToolDefinition[]> {
  const connection = await connectToolServer(server, settings);
  try {
    return await listServerTools(connection, settings);
  } finally {
    await connection.close();
  }
}
