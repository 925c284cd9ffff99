const MASK = "[redacted]";
/** Shorter values are not masked: they would mask ordinary text, and a secret is never that short. */
const MIN_SECRET_LENGTH = 4;

/** Masks each of `secrets` wherever it appears in `text`; longer ones first, so one inside another goes whole. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return usable(secrets).reduce((masked, secret) => masked.split(secret).join(MASK), text);
}

/** {@link redactSecrets} bound to a set of secrets, sorted once. */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const sorted = usable(secrets);
  return (text) => sorted.reduce((masked, secret) => masked.split(secret).join(MASK), text);
}

const usable = (secrets: readonly string[]) =>
  [...new Set(secrets)].filter((secret) => secret.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
