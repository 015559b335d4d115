/**
 * Finding a test split on disk that the dataset YAML does not name, such as
 * the `test/` folder of Roboflow exports whose data.yaml has no `test:` key.
 *
 * @module
 */
import { join, sep } from "node:path";
import type { DatasetSplit } from "./dataset.ts";
import { isDirectory } from "./_dataset_files.ts";
import { buildSplit, type DatasetIssue } from "./_dataset_resolve.ts";
import type { DatasetYaml } from "./_dataset_yaml.ts";

/** Folders where an undeclared test split usually sits, most specific first. */
function testCandidates(root: string, val: DatasetSplit): string[] {
  const candidates: string[] = [];
  for (const dir of val.imageDirs) {
    const parts = dir.split(sep);
    for (let i = parts.length - 1; i >= 0; i--) {
      if (["valid", "val", "validation"].includes(parts[i].toLowerCase())) {
        candidates.push([...parts.slice(0, i), "test", ...parts.slice(i + 1)].join(sep));
        break;
      }
    }
  }
  candidates.push(join(root, "test", "images"), join(root, "images", "test"), join(root, "test"));
  return [...new Set(candidates)];
}

/** Looks for a test split on disk that the YAML does not name. */
export async function findUndeclaredTest(
  root: string,
  val: DatasetSplit,
  yaml: DatasetYaml,
  issues: DatasetIssue[],
): Promise<DatasetSplit | undefined> {
  const emptyKey = "test" in yaml.raw;
  for (const candidate of testCandidates(root, val)) {
    if (!(await isDirectory(candidate))) continue;
    const { split } = await buildSplit("test", [candidate], false);
    if (split.imageFiles.length === 0) continue;
    const relative = candidate.startsWith(root + sep) ? candidate.slice(root.length + 1) : candidate;
    issues.push({
      severity: "warning",
      code: "test-not-declared",
      message: `${emptyKey ? "test: is empty" : "The YAML names no test split"}, but ${relative} contains ` +
        `${split.imageFiles.length} images; trainbook uses them as the test split`,
      file: yaml.path,
      line: yaml.keyLines.get("test"),
      value: relative.replaceAll("\\", "/"),
      fix: `Add \`test: ${relative.replaceAll("\\", "/")}\` to the YAML so that Ultralytics sees it too`,
    });
    return split;
  }
  if (emptyKey) {
    issues.push({
      severity: "warning",
      code: "test-empty",
      message: "test: is empty, so the dataset has no test split",
      file: yaml.path,
      line: yaml.keyLines.get("test"),
      value: String(yaml.raw.test ?? ""),
      fix: "Point test: at a folder of held-out images, or delete the line",
    });
  }
  return undefined;
}
