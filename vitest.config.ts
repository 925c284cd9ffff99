import { workflow } from "@workflow/vitest";
import { defineConfig } from "vitest/config";

const shared = {
  pool: "forks" as const,
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "service",
          include: ["src/**/*.test.ts", "tests/**/*.test.ts"],
          exclude: ["node_modules", "dist", "src/ui/**", "tests/workflow/**", "tests/e2e/**"],
          // Durable suites load the compiled workflow bundles and run the built server.
          globalSetup: ["tests/support/build-bundles.ts"],
        },
      },
      {
        // The builder UI in a real browser (Debian's chromium) against the real server: `npm run test:e2e`.
        test: {
          ...shared,
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          globalSetup: ["tests/support/build-bundles.ts"],
          testTimeout: 90_000,
          fileParallelism: false,
        },
      },
      {
        // The workflow itself, in-process: the Workflow SDK's own test plugin compiles `workflows/` and
        // runs it on a private local world with no server.
        plugins: [workflow({ rootDir: "./.workflow-test" })],
        test: { ...shared, name: "workflow", include: ["tests/workflow/**/*.test.ts"] },
      },
    ],
  },
});
