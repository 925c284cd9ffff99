/** Goes to a hash route, adding a history entry. */
export function navigate(href: string): void {
  window.location.hash = href.replace(/^#/, "");
}

/** Swaps the current hash route without a history entry (replaceState fires no hashchange, so one is sent). */
export function replaceRoute(href: string): void {
  if (window.location.hash === href) return;
  window.history.replaceState(window.history.state, "", href);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
