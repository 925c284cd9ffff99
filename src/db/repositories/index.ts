import type { Database } from "../client";
import { createAgentRepository } from "./agents";
import { createApprovalRepository } from "./approvals";
import { createConversationRepository } from "./conversations";
import { createExecutionRepository } from "./executions";
import { createMessageRepository } from "./messages";
import { createOutboxRepository } from "./outbox";
import { createToolCallRepository } from "./tool-calls";
import { createToolServerRepository } from "./tool-servers";

/**
 * One repository per table, all on the same database. `singleProcess`: no other process writes it (PGlite),
 * so what is read on every turn may be cached.
 */
export function createRepositories(db: Database, options: { singleProcess?: boolean } = {}) {
  return {
    agents: createAgentRepository(db, { cached: options.singleProcess }),
    conversations: createConversationRepository(db),
    messages: createMessageRepository(db),
    executions: createExecutionRepository(db),
    approvals: createApprovalRepository(db),
    outbox: createOutboxRepository(db),
    toolServers: createToolServerRepository(db),
    toolCalls: createToolCallRepository(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
