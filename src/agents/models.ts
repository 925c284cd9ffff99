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
 * A built-in model as plain data (credentials resolved), so that a model worker can make the same model:
 * undefined for a model the embedding program provides, which exists only where it was provided.
 */
export type ModelSpec =
  | { kind: "demo"; tokenDelayMs: number }
  | { kind: "openai"; model: string; apiKey?: string; baseUrl?: string };

/** The spec of a built-in model id; throws InvalidInputError for an unknown one. */
export function modelSpecOf(modelId: string, settings: ModelSettings): ModelSpec | undefined {
  if (settings.provided?.(modelId)) return undefined;
  const demo = parseDemoModelId(modelId);
  if (demo) return { kind: "demo", tokenDelayMs: demo.tokenDelayMs ?? settings.demoTokenDelayMs };
  const openai = OPENAI_MODEL.exec(modelId);
  if (openai) {
    const apiKey = settings.credentials.get("openai") ?? settings.openai.apiKey;
    return { kind: "openai", model: openai[1]!, apiKey, baseUrl: settings.openai.baseUrl };
  }
  throw new InvalidInputError("model", modelIdProblem(modelId)!);
}

export function modelOfSpec(spec: ModelSpec): LanguageModelV3 {
  if (spec.kind === "demo") return createDemoModel({ tokenDelayMs: spec.tokenDelayMs });
  return createOpenAI({ apiKey: spec.apiKey, baseURL: spec.baseUrl }).chat(spec.model);
}

/**
 * Resolves a model id to a language model. Credentials come from the credential store (`openai`) or
 * OPENAI_API_KEY, looked up here so that no caller ever holds them.
 */
export function resolveModel(modelId: string, settings: ModelSettings): LanguageModelV3 {
  const spec = modelSpecOf(modelId, settings);
  return spec ? modelOfSpec(spec) : settings.provided!(modelId)!;
}
