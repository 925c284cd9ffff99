import os from "node:os";
import path from "node:path";
import { z } from "zod";

const integer = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

/** Milliseconds from "24h", "90m", "30s", "1500ms" or a bare number of milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? "ms"]!;
  const value = Number(match[1]) * unit;
  return Number.isSafeInteger(value) ? value : undefined;
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, context) => {
      const value = parseDuration(text);
      if (value === undefined) {
        context.addIssue({ code: "custom", message: `not a duration: ${text}` });
        return z.NEVER;
      }
      return value;
    });

const commaList = z
  .string()
  .default("")
  .transform((text) => text.split(",").map((item) => item.trim()).filter(Boolean));

/**
 * One model worker per core, at most 4. The main thread then mostly waits on sockets and the database; even
 * on one core a worker helps, since the system preempts a thread where nothing preempts a busy event loop.
 */
function defaultModelWorkers(): number {
  return Math.min(4, os.availableParallelism());
}

const EnvSchema = z.object({
  PORT: integer(3000, 0),
  HOST: z.string().min(1).optional(),
  TETHER_INTERNAL_URL: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//i.test(url), "must be an http:// or https:// URL")
    .optional(),
  TETHER_DATA_DIR: z.string().min(1).default(".tether"),
  DATABASE_URL: z.string().url().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  TETHER_DEMO_TOKEN_DELAY_MS: integer(20),
  TETHER_STREAM_MAX_BYTES: integer(8 * 1024 * 1024, 1024),
  TETHER_STREAM_MAX_TOTAL_BYTES: integer(256 * 1024 * 1024, 1024),
  TETHER_STREAM_EXPIRE_AFTER: duration("5m"),
  TETHER_APPROVAL_TIMEOUT: duration("24h"),
  TETHER_TOOL_TIMEOUT: duration("60s"),
  TETHER_MAX_BODY_BYTES: integer(1024 * 1024, 1024),
  TETHER_MAX_MESSAGES: integer(500, 1),
  TETHER_MAX_MESSAGE_BYTES: integer(256 * 1024, 256),
  TETHER_MAX_JSON_DEPTH: integer(32, 4),
  TETHER_MAX_STEPS: integer(10, 1),
  TETHER_MAX_ACTIVE_TURNS: integer(2000),
  TETHER_MAX_OPEN_STREAMS: integer(8000),
  // 0.5, not higher: busier loops (main thread, model workers) and the other threads beside them saturate
  // two cores, so tokens come late: at 0.6 a resume waited 104–122 ms at p99 for its next token, at 0.5 85–105.
  TETHER_MAX_EVENT_LOOP_UTILIZATION: z.coerce.number().min(0).max(1).default(0.5),
  TETHER_MODEL_RETRIES: integer(3, 0),
  TETHER_DURABLE_CONCURRENCY: integer(50, 1),
  TETHER_MODEL_WORKERS: integer(defaultModelWorkers()),
  TETHER_MODEL_RETRY_DELAY: duration("1s"),
  TETHER_API_KEYS: commaList,
  TETHER_JWT_SECRET: z.string().min(1).optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.string().url().optional(),
});

export type Config = ReturnType<typeof parseConfig>;

/** Parses the environment once; throws a readable error naming every bad variable. */
export function parseConfig(environment: NodeJS.ProcessEnv = process.env) {
  const parsed = EnvSchema.safeParse(environment);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid configuration: ${problems.join("; ")}`);
  }
  const env = parsed.data;
  const dataDir = path.resolve(env.TETHER_DATA_DIR);
  const credentials = collectCredentials(environment);
  return {
    port: env.PORT,
    host: env.HOST,
    /** Where the other server processes reach this one (classic streams are served from their process). */
    internalUrl: env.TETHER_INTERNAL_URL?.replace(/\/+$/, ""),
    dataDir,
    database: env.DATABASE_URL
      ? ({ kind: "postgres", url: env.DATABASE_URL } as const)
      : ({ kind: "pglite", dir: path.join(dataDir, "db") } as const),
    logLevel: env.LOG_LEVEL,
    demoTokenDelayMs: env.TETHER_DEMO_TOKEN_DELAY_MS,
    streams: {
      maxBytesPerStream: env.TETHER_STREAM_MAX_BYTES,
      maxBytesTotal: env.TETHER_STREAM_MAX_TOTAL_BYTES,
      expireAfterMs: env.TETHER_STREAM_EXPIRE_AFTER,
    },
    approvalTimeoutMs: env.TETHER_APPROVAL_TIMEOUT,
    /** How long one MCP tool call (and connecting to its server) may take before the model gets a tool error. */
    toolTimeoutMs: env.TETHER_TOOL_TIMEOUT,
    limits: {
      bodyBytes: env.TETHER_MAX_BODY_BYTES,
      messages: env.TETHER_MAX_MESSAGES,
      messageBytes: env.TETHER_MAX_MESSAGE_BYTES,
      jsonDepth: env.TETHER_MAX_JSON_DEPTH,
    },
    maxSteps: env.TETHER_MAX_STEPS,
    /** When this process refuses new work with 503 + Retry-After (0 turns a limit off). */
    admission: {
      maxActiveTurns: env.TETHER_MAX_ACTIVE_TURNS,
      maxOpenStreams: env.TETHER_MAX_OPEN_STREAMS,
      maxEventLoopUtilization: env.TETHER_MAX_EVENT_LOOP_UTILIZATION,
    },
    /** Retries of a failed model call (transient errors only), with exponential backoff from `delayMs`. */
    modelRetries: { retries: env.TETHER_MODEL_RETRIES, delayMs: env.TETHER_MODEL_RETRY_DELAY },
    durableConcurrency: env.TETHER_DURABLE_CONCURRENCY,
    modelWorkers: env.TETHER_MODEL_WORKERS,
    auth: { apiKeys: env.TETHER_API_KEYS, jwtSecret: env.TETHER_JWT_SECRET },
    openai: { apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL },
    credentials,
    /** Every secret value configured, so logs and stored errors can mask them wherever they appear. */
    secrets: [
      ...credentials.values(),
      ...env.TETHER_API_KEYS,
      ...(env.TETHER_JWT_SECRET ? [env.TETHER_JWT_SECRET] : []),
      ...(env.OPENAI_API_KEY ? [env.OPENAI_API_KEY] : []),
    ],
  };
}

/** `TETHER_CREDENTIAL_<NAME>=value` → `{ name: value }`, the service-level credential store's source. */
function collectCredentials(environment: NodeJS.ProcessEnv): ReadonlyMap<string, string> {
  const credentials = new Map<string, string>();
  for (const [key, value] of Object.entries(environment)) {
    const match = /^TETHER_CREDENTIAL_([A-Z0-9_]+)$/.exec(key);
    if (match && value) credentials.set(match[1]!.toLowerCase(), value);
  }
  return credentials;
}
