import pino, { type Logger } from "pino";
import { createRedactor } from "./redact";

export type { Logger };

/**
 * Structured JSON logs. Authorization headers and every configured secret value are redacted: secrets
 * never reach a log line, whichever field they end up in.
 */
export function createLogger(options: { level: string; secrets?: readonly string[]; destination?: pino.DestinationStream }) {
  const secrets = options.secrets ?? [];
  const redact = createRedactor(secrets);
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: {
        paths: ["authorization", "headers.authorization", "request.headers.authorization", "*.apiKey", "*.token"],
        censor: "[redacted]",
      },
      ...(secrets.length > 0 && {
        hooks: {
          logMethod(args, method) {
            const masked = args.map((argument) => maskSecrets(argument, redact));
            return method.apply(this, masked as Parameters<typeof method>);
          },
        },
      }),
    },
    options.destination,
  );
}

function maskSecrets(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) {
    const masked = new Error(redact(value.message));
    masked.name = value.name;
    masked.stack = redact(value.stack ?? "");
    return masked;
  }
  if (value && typeof value === "object") {
    return JSON.parse(redact(JSON.stringify(value))) as unknown;
  }
  return value;
}
