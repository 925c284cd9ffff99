// Compiles workflow folders with the Workflow SDK's transforms: the workflow bundle (code replayed in the
// SDK's VM) and the step bundle (steps with the project files they import; node_modules stay external).
// Workflow ids come from file paths relative to `root`: renaming a workflow file orphans in-flight runs.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { BaseBuilder, createBaseBuilderConfig } from "@workflow/builders";

/**
 * Writes `workflows.mjs` and `steps.mjs` into `outdir` for the directive files under `dirs`;
 * `selectInputs` narrows the files found (the benchmarks build one file at a time).
 */
export async function buildWorkflowBundles({ root, dirs, outdir, selectInputs = (files) => files }) {
  class WorkflowBundleBuilder extends BaseBuilder {
    constructor() {
      super({
        ...createBaseBuilderConfig({ workingDir: root, dirs }),
        buildTarget: "next",
        suppressCreateWorkflowsBundleLogs: true,
        suppressCreateWebhookBundleLogs: true,
        suppressCreateManifestLogs: true,
      });
    }

    async build() {
      const inputFiles = selectInputs(await this.getInputFiles());
      // The SDK writes a debug file next to the bundle before esbuild creates the folder.
      await mkdir(outdir, { recursive: true });
      await this.createWorkflowsBundle({
        outfile: path.join(outdir, "workflows.mjs"),
        bundleFinalOutput: false,
        format: "esm",
        inputFiles,
      });
      await this.createStepsBundle({
        outfile: path.join(outdir, "steps.mjs"),
        externalizeNonSteps: true,
        rewriteTsExtensions: true,
        bundleTransitiveLocalStepDependencies: true,
        format: "esm",
        inputFiles,
      });
    }
  }
  await new WorkflowBundleBuilder().build();
}
