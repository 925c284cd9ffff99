import { authHeaders } from "./api-key";

/** An API error answer: `{error: {code, message, field?}}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The form field the error names: `json.model` and `body.tools.0` both become `model` / `tools`. */
  get fieldName(): string | undefined {
    if (!this.field) return undefined;
    const segments = this.field.split(".");
    if (["json", "body", "query", "param"].includes(segments[0] ?? "")) segments.shift();
    return segments[0] || undefined;
  }
}

export function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(authHeaders())) headers.set(name, value);
  return fetch(path, { ...init, headers });
}

export async function errorFrom(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string; field?: string } };
    if (body.error) {
      return new ApiError(response.status, body.error.code ?? "error", body.error.message ?? response.statusText, body.error.field);
    }
  } catch {
    // not a JSON error body
  }
  return new ApiError(response.status, "http_error", `${response.status} ${response.statusText}`.trim());
}

/** A JSON request; answers undefined for 204 and throws ApiError for any 4xx/5xx. */
export async function apiJson<T>(path: string, options: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const init: RequestInit = { method: options.method ?? "GET", signal: options.signal };
  if (options.body !== undefined) {
    init.headers = { "content-type": "application/json" };
    init.body = JSON.stringify(options.body);
  }
  const response = await apiFetch(path, init);
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return "Unauthorized: set an API key in Settings.";
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
