import { createOpenAI } from "@ai-sdk/openai";
import type { LanguageModelV3 } from "@ai-sdk/provider";
import { InvalidInputError } from "../errors";
import type { CredentialStore } from "./credentials";
import { createDemoModel, parseDemoModelId } from "./demo-model";

export interface ModelSettings {
  demoTokenDelayMs: number;
  openai: { apiKey?: string; baseUrl?: string };
  credentials: CredentialStore;
  /** Models an embedding program provides itself, looked up before the built-in ones. */
  provided?: (modelId: string) => LanguageModelV3 | undefined;
}

const OPENAI_MODEL = /^openai:([A-Za-z0-9._:-]{1,100})$/;

/** Why a model id cannot be used, or undefined when it can. */
export function modelIdProblem(modelId: string): string | undefined {
  if (parseDemoModelId(modelId)) return undefined;
  if (OPENAI_MODEL.test(modelId)) return undefined;
  return `unknown model ${JSON.stringify(modelId)}: use "demo", "demo:<ms>" or "openai:<model>"`;
}

/**
 * Resolves a model id to a language model. Credentials come from the credential store (`openai`) or
 * OPENAI_API_KEY, looked up here so that no caller ever holds them.
 */
export function resolveModel(modelId: string, settings: ModelSettings): LanguageModelV3 {
  const provided = settings.provided?.(modelId);
  if (provided) return provided;
  const demo = parseDemoModelId(modelId);
  if (demo) return createDemoModel({ tokenDelayMs: demo.tokenDelayMs ?? settings.demoTokenDelayMs });
  const openai = OPENAI_MODEL.exec(modelId);
  if (openai) {
    const apiKey = settings.credentials.get("openai") ?? settings.openai.apiKey;
    const provider = createOpenAI({ apiKey, baseURL: settings.openai.baseUrl });
    return provider.chat(openai[1]!);
  }
  throw new InvalidInputError("model", modelIdProblem(modelId)!);
}
