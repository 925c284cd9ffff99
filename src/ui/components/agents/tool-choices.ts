import { serverToolReference, type ToolServer } from "../../tether-api/tool-servers";
import { BUILT_IN_TOOL_NAMES } from "../../tether-api/types";

export interface ToolChoice {
  /** The agent `tools` entry. */
  reference: string;
  name: string;
  description: string;
}

export interface ServerToolGroup {
  server: ToolServer;
  /** `<serverId>:*` */
  allReference: string;
  choices: ToolChoice[];
}

const BUILT_IN_DESCRIPTIONS: Record<(typeof BUILT_IN_TOOL_NAMES)[number], string> = {
  get_time: "current time, no approval",
  send_email: "sends an email, needs approval",
};

export const BUILT_IN_CHOICES: ToolChoice[] = BUILT_IN_TOOL_NAMES.map((name) => ({
  reference: name,
  name,
  description: BUILT_IN_DESCRIPTIONS[name],
}));

const serverIdOf = (reference: string) => (reference.includes(":") ? reference.slice(0, reference.indexOf(":")) : undefined);

/**
 * One group per server: the tools it lists now, plus those the agent names that it does not list now (a server
 * that is down lists none), so that a saved choice stays visible and can be removed.
 */
export function serverToolGroups(servers: readonly ToolServer[], selected: readonly string[]): ServerToolGroup[] {
  return servers.map((server) => {
    const allReference = serverToolReference(server.id);
    const listed = server.tools.map((tool) => ({
      reference: serverToolReference(server.id, tool.name),
      name: tool.name,
      description: `${tool.description ? `${tool.description} · ` : ""}${tool.needsApproval ? "needs approval" : "no approval"}`,
    }));
    const missing = selected
      .filter((reference) => serverIdOf(reference) === server.id && reference !== allReference)
      .filter((reference) => !listed.some((choice) => choice.reference === reference))
      .map((reference) => ({ reference, name: reference.slice(server.id.length + 1), description: "not listed by the server now" }));
    return { server, allReference, choices: [...listed, ...missing] };
  });
}

/** Selected entries no built-in and no known server accounts for (e.g. tool servers are not visible to this key). */
export function unaccountedTools(servers: readonly ToolServer[], selected: readonly string[]): string[] {
  const serverIds = new Set(servers.map((server) => server.id));
  return selected.filter((reference) => {
    const serverId = serverIdOf(reference);
    return serverId === undefined ? !BUILT_IN_CHOICES.some((choice) => choice.reference === reference) : !serverIds.has(serverId);
  });
}
