/** The `agentRun` workflow's input: ids and settings only, never a secret (it is stored with the run). */
export interface AgentRunInput {
  executionId: string;
  approvalTimeoutMs: number;
  /** Model rounds a run may chain through MCP tool calls before it ends (absent in runs started earlier). */
  maxSteps?: number;
  /** The agent names MCP tools: the run records their list once, before its first round. */
  usesToolServers?: boolean;
  /**
   * The model round records the run's status itself (running, suspended, completed, failed), in the
   * transaction that records its result. Absent in runs started earlier, which record each status in a step
   * of its own: their replay must call those steps again, in the same order.
   */
  statusInRound?: true;
}
