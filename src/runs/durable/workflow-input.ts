/** The `agentRun` workflow's input: ids and settings only, never a secret (it is stored with the run). */
export interface AgentRunInput {
  executionId: string;
  approvalTimeoutMs: number;
  /** Model rounds a run may chain through MCP tool calls before it ends (absent in runs started earlier). */
  maxSteps?: number;
  /** The agent names MCP tools: the run records their list once, before its first round. */
  usesToolServers?: boolean;
}
