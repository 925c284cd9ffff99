/**
 * The service-level credential store. Workflow payloads, step results and streams carry only credential
 * *names*; the value is looked up here, inside the process that needs it, at the moment it needs it.
 */
export interface CredentialStore {
  get(name: string): string | undefined;
  /** Every stored value, for log redaction. */
  values(): string[];
}

export function createCredentialStore(values: ReadonlyMap<string, string>): CredentialStore {
  return {
    get: (name) => values.get(name.toLowerCase()),
    values: () => [...values.values()],
  };
}
