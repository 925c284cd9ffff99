import type { HeaderInput } from "../../tether-api/tool-servers";

/** One header row of the form: a credential reference (the usual case) or a literal value. */
export interface HeaderDraft {
  /** Stable React key; rows can be removed from the middle. */
  key: number;
  name: string;
  source: "credential" | "value";
  credential: string;
  prefix: string;
  value: string;
}

let nextKey = 1;

/** The first header is most often `Authorization: Bearer <token>`, so that row starts filled in. */
export function newHeaderDraft(existing: readonly HeaderDraft[]): HeaderDraft {
  const first = existing.length === 0;
  return {
    key: nextKey++,
    name: first ? "Authorization" : "",
    source: "credential",
    credential: "",
    prefix: first ? "Bearer " : "",
    value: "",
  };
}

/** The `headers` body field; rows left entirely blank are ignored, anything else goes to the API to judge. */
export function headersInput(drafts: readonly HeaderDraft[]): Record<string, HeaderInput> | undefined {
  const headers: Record<string, HeaderInput> = {};
  for (const draft of drafts) {
    const name = draft.name.trim();
    const filled = draft.source === "credential" ? draft.credential.trim() : draft.value;
    if (!name && !filled) continue;
    headers[name] =
      draft.source === "value"
        ? draft.value
        : { credential: draft.credential.trim(), ...(draft.prefix ? { prefix: draft.prefix } : {}) };
  }
  return Object.keys(headers).length > 0 ? headers : undefined;
}
