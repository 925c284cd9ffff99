import { useSyncExternalStore } from "react";
import { onApiKeyChange, readApiKey } from "../tether-api/api-key";

export function useApiKey(): string {
  return useSyncExternalStore(onApiKeyChange, readApiKey, () => "");
}
