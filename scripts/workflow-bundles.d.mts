export function buildWorkflowBundles(options: {
  root: string;
  dirs: string[];
  outdir: string;
  selectInputs?: (files: string[]) => string[];
}): Promise<void>;
