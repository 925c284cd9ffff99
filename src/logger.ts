import pino, { type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs. Authorization headers and every configured secret value are redacted: secrets
 * never reach a log line, whichever field they end up in.
 */
export function createLogger(options: { level: string; secrets?: readonly string[]; destination?: pino.DestinationStream }) {
  const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 4);
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
            const masked = args.map((argument) => maskSecrets(argument, secrets));
            return method.apply(this, masked as Parameters<typeof method>);
          },
        },
      }),
    },
    options.destination,
  );
}

function maskSecrets(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === "string") {
    return secrets.reduce((text, secret) => text.split(secret).join("[redacted]"), value);
  }
  if (value instanceof Error) {
    const masked = new Error(maskSecrets(value.message, secrets) as string);
    masked.name = value.name;
    masked.stack = maskSecrets(value.stack ?? "", secrets) as string;
    return masked;
  }
  if (value && typeof value === "object") {
    return JSON.parse(maskSecrets(JSON.stringify(value), secrets) as string) as unknown;
  }
  return value;
}
