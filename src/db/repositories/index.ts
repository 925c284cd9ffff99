import type { Database } from "../client";
import { createAgentRepository } from "./agents";
import { createApprovalRepository } from "./approvals";
import { createConversationRepository } from "./conversations";
import { createExecutionRepository } from "./executions";
import { createMessageRepository } from "./messages";
import { createOutboxRepository } from "./outbox";

/** One repository per table, all on the same database. */
export function createRepositories(db: Database) {
  return {
    agents: createAgentRepository(db),
    conversations: createConversationRepository(db),
    messages: createMessageRepository(db),
    executions: createExecutionRepository(db),
    approvals: createApprovalRepository(db),
    outbox: createOutboxRepository(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
