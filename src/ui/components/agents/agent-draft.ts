import type { Agent, AgentInput, ExecutionMode } from "../../tether-api/types";

export interface AgentDraft {
  id: string;
  name: string;
  instructions: string;
  model: string;
  tools: string[];
  executionMode: ExecutionMode;
}

export const EMPTY_DRAFT: AgentDraft = {
  id: "",
  name: "",
  instructions: "You are a helpful assistant.",
  model: "demo",
  tools: ["get_time"],
  executionMode: "classic",
};

export function draftOf(agent: Agent): AgentDraft {
  const { id, name, instructions, model, tools, executionMode } = agent;
  return { id, name, instructions, model, tools: [...tools], executionMode };
}

/** The create body: an empty id lets the server pick one. */
export function createInput(draft: AgentDraft): AgentInput {
  const { id, ...rest } = draft;
  return id.trim() ? { id: id.trim(), ...rest } : rest;
}

/** The PATCH body: only what changed. */
export function changedFields(agent: Agent, draft: AgentDraft): AgentInput {
  const changes: AgentInput = {};
  if (draft.name !== agent.name) changes.name = draft.name;
  if (draft.instructions !== agent.instructions) changes.instructions = draft.instructions;
  if (draft.model !== agent.model) changes.model = draft.model;
  if ([...draft.tools].sort().join() !== [...agent.tools].sort().join()) changes.tools = draft.tools;
  if (draft.executionMode !== agent.executionMode) changes.executionMode = draft.executionMode;
  return changes;
}
