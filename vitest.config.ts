import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "tests/**/*.test.ts"],
    exclude: ["node_modules", "dist", "src/ui/**"],
    pool: "forks",
    globalSetup: ["tests/support/build-bundles.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
