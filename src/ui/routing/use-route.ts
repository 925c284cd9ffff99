import { useMemo, useSyncExternalStore } from "react";
import { parseHash, type Route } from "./routes";

function subscribe(onChange: () => void) {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

const currentHash = () => window.location.hash;

export function useRoute(): Route {
  // useSyncExternalStore re-reads the hash after subscribing, so a route replaced by a child's effect
  // (which runs before this subscription) is not missed.
  const hash = useSyncExternalStore(subscribe, currentHash, () => "");
  return useMemo(() => parseHash(hash), [hash]);
}
