import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const uiRoot = fileURLToPath(new URL(".", import.meta.url));
const outDir = fileURLToPath(new URL("../../dist/ui", import.meta.url));
const server = "http://127.0.0.1:3000";

export default defineConfig({
  root: uiRoot,
  base: "/",
  plugins: [react()],
  build: { outDir, emptyOutDir: true },
  server: {
    // Vite's proxy passes SSE through as it arrives, so chat and execution streams stay live in dev.
    // Patterns are anchored so the UI's own modules (e.g. /tether-api/…) are never proxied.
    proxy: {
      "^/api/": { target: server },
      "^/health$": { target: server },
      "^/openapi\\.json$": { target: server },
      "^/docs(/|$)": { target: server },
    },
  },
});
