import { recordServerTools, type RecordedServerTools } from "../../../src/agents/mcp";
import { UNBOUNDED_RETRIES } from "../../../src/runs/durable/retry-limits";
import { withStepRetries } from "../../../src/runs/durable/step-retries";
import { stepServices } from "../../../src/runs/durable/step-services";

/**
 * Lists the MCP tools the run's agent names, once for the whole run: the step's recorded result is what
 * every model round (and every replay) offers the model. Definitions only: no credential is in it.
 */
export async function recordRunServerTools(executionId: string): Promise<RecordedServerTools> {
  "use step";
  return withStepRetries(async () => {
    const services = stepServices();
    const { repositories } = services;
    const execution = await repositories.executions.get(executionId);
    const agent = await repositories.agents.get(execution.agentId);
    return recordServerTools(agent.tools, {
      repository: repositories.toolServers,
      settings: { ...services.toolServers, logger: services.logger.child({ executionId, mode: "durable" }) },
    });
  });
}
recordRunServerTools.maxRetries = UNBOUNDED_RETRIES;
