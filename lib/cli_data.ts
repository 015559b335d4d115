// deno-lint-ignore-file no-console
/**
 * Command `validate`.
 *
 * @module
 */
import type { Command } from "./_cli.ts";
import { formatValidationReport, validateDataset } from "./validate.ts";

/** `deno task validate PATH`: checks a dataset and prints its findings. */
export const validateCommand: Command = {
  summary: "check a YOLO dataset and print findings with file, line and fix",
  usage: `Usage: deno task validate PATH [options]

Checks data.yaml, every label file and every image header of the dataset at PATH
(a folder holding data.yaml, or the YAML file itself), then prints each finding
with its file, line, value and fix, and statistics per split and class.
Exit code 0 when the dataset has no errors (warnings allowed), 1 when it has errors,
2 when PATH does not exist.

Options:
  --no-images        skip reading image headers (faster, finds fewer problems)
  --json             print the report as JSON`,
  options: { "no-images": { type: "boolean" }, json: { type: "boolean" } },
  async run(values, positionals) {
    if (!positionals[0]) {
      console.error("error: pass the dataset folder or its data.yaml");
      return 2;
    }
    if (!(await Deno.stat(positionals[0]).then(() => true, () => false))) {
      console.error(
        `error: dataset path not found: ${positionals[0]}. Pass a dataset folder or its data.yaml`,
      );
      return 2;
    }
    const report = await validateDataset(positionals[0], { checkImages: !values["no-images"] });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatValidationReport(report));
    return report.ok ? 0 : 1;
  },
};
