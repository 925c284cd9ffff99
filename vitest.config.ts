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
          exclude: ["node_modules", "dist", "src/ui/**", "tests/workflow/**"],
          // Durable suites load the compiled workflow bundles and run the built server.
          globalSetup: ["tests/support/build-bundles.ts"],
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
