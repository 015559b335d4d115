/**
 * Resolves a dataset YAML into a {@linkcode Dataset} the way Ultralytics 8.4's
 * `check_det_dataset` and `BaseDataset.get_img_files` do, collecting every
 * problem as a {@linkcode DatasetIssue} instead of stopping at the first.
 *
 * @module
 */
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import type { Dataset, DatasetSplit } from "./dataset.ts";
import {
  exists,
  extensionOf,
  IMAGE_EXTENSIONS,
  labelDirFor,
  labelPathFor,
  sortByCodePoint,
  walkFiles,
} from "./_dataset_files.ts";
import { type DatasetYaml, findDatasetYaml, normaliseNames, readDatasetYaml } from "./_dataset_yaml.ts";
import { checkPoseKeys, describeNonDatasetYaml, windowsPathProblem } from "./_dataset_keys.ts";
import { findUndeclaredTest } from "./_dataset_test_split.ts";

/** One problem found while reading a dataset. `file` is absolute. */
export interface DatasetIssue {
  severity: "error" | "warning";
  code: string;
  message: string;
  file?: string;
  line?: number;
  value?: string;
  fix: string;
}

/** Output of {@linkcode resolveDataset}: the dataset when it could be built, and every issue found. */
export interface ResolvedDataset {
  dataset?: Dataset;
  yaml?: DatasetYaml;
  issues: DatasetIssue[];
}

const SPLIT_NAMES = ["train", "val", "test"] as const;
type SplitName = typeof SPLIT_NAMES[number];
const TASKS = ["detect", "segment", "pose", "obb", "classify"] as const;

/** Ultralytics' `datasets_dir` setting, where it looks for a relative `path:` that does not exist. */
export async function ultralyticsDatasetsDir(): Promise<string> {
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  const configDir = Deno.env.get("YOLO_CONFIG_DIR")
    ? join(Deno.env.get("YOLO_CONFIG_DIR")!, "Ultralytics")
    : Deno.build.os === "windows"
    ? join(home, "AppData", "Roaming", "Ultralytics")
    : Deno.build.os === "darwin"
    ? join(home, "Library", "Application Support", "Ultralytics")
    : join(Deno.env.get("XDG_CONFIG_HOME") ?? join(home, ".config"), "Ultralytics");
  try {
    const settings = JSON.parse(await Deno.readTextFile(join(configDir, "settings.json")));
    if (typeof settings.datasets_dir === "string") return settings.datasets_dir;
  } catch {
    // No settings file yet: Ultralytics would create one with the default below.
  }
  // NOTE: Ultralytics' default is `datasets/` beside the enclosing git repository, or in the working
  // directory outside a repository. This uses the working directory in both cases.
  return resolve("datasets");
}

/** Python truthiness for the YAML values Ultralytics tests with `if data.get(k)`. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== undefined && value !== null && value !== "" && value !== false && value !== 0;
}

/** Resolves the dataset root: `path:` against the working directory, then `datasets_dir`; else the YAML folder. */
async function resolveRoot(yaml: DatasetYaml, issues: DatasetIssue[]): Promise<string | undefined> {
  const pathValue = yaml.raw.path;
  if (!truthy(pathValue)) return dirname(yaml.path);
  const text = String(pathValue);
  const windows = windowsPathProblem(text);
  if (windows && !(await exists(text))) {
    issues.push({
      severity: "error",
      code: "windows-path",
      message: `path: is a Windows path (${windows}), which does not exist on this ${Deno.build.os} machine`,
      file: yaml.path,
      line: yaml.keyLines.get("path"),
      value: text,
      fix: "Delete the `path:` line so that splits resolve against the YAML's folder, " +
        "or set it to this machine's dataset folder with forward slashes",
    });
    return undefined;
  }
  if (!isAbsolute(text) && !(await exists(text))) return resolve(await ultralyticsDatasetsDir(), text);
  return resolve(text);
}

/** Absolute image paths listed in a .txt split file; `./` lines are relative to the file, others to the working directory. */
async function readImageList(listFile: string): Promise<string[]> {
  const lines = (await Deno.readTextFile(listFile)).trim().split(/\r\n|\r|\n/);
  const parent = dirname(listFile) + sep;
  return lines
    .filter((line) => line.length > 0)
    .map((line) => resolve(line.startsWith("./") ? line.replaceAll("./", parent) : line));
}

/** Resolves one split's entries against the root, with the single `../` fallback for string values. */
async function resolveSplitEntries(root: string, value: unknown): Promise<string[] | undefined> {
  if (typeof value === "string") {
    let entry = resolve(root, value);
    if (!(await exists(entry)) && value.startsWith("../")) entry = resolve(root, value.slice(3));
    return [entry];
  }
  if (Array.isArray(value)) return value.map((item) => resolve(root, String(item)));
  return undefined;
}

/** Lists the images of a split from its folders and .txt lists, recording missing entries. */
export async function buildSplit(
  name: SplitName,
  entries: string[],
  declared: boolean,
): Promise<{ split: DatasetSplit; missing: string[] }> {
  const imageDirs: string[] = [];
  const labelDirs = new Set<string>();
  const files: string[] = [];
  const missing: string[] = [];
  for (const entry of entries) {
    const info = await Deno.stat(entry).catch(() => undefined);
    if (info === undefined) {
      missing.push(entry);
    } else if (info.isDirectory) {
      const real = await Deno.realPath(entry);
      imageDirs.push(real);
      labelDirs.add(labelDirFor(real));
      files.push(...(await walkFiles(real)));
    } else {
      const listed = await readImageList(entry);
      for (const file of listed) labelDirs.add(dirname(labelPathFor(file)));
      files.push(...listed);
    }
  }
  const imageFiles = sortByCodePoint(files.filter((file) => IMAGE_EXTENSIONS.has(extensionOf(file))));
  return { split: { name, imageDirs, imageFiles, labelDirs: [...labelDirs].sort(), declared }, missing };
}

/** Reads names and nc as Ultralytics does; returns undefined after a fatal problem. */
function resolveClasses(yaml: DatasetYaml, issues: DatasetIssue[]): string[] | undefined {
  const { raw } = yaml;
  const ncValue = raw.nc;
  const hasNc = ncValue !== undefined && ncValue !== null;
  if (hasNc && !(typeof ncValue === "number" && Number.isInteger(ncValue) && ncValue > 0)) {
    issues.push({
      severity: "error",
      code: "nc-invalid",
      message: "nc: is not a positive whole number",
      file: yaml.path,
      line: yaml.keyLines.get("nc"),
      value: String(ncValue),
      fix: "Set nc: to the number of classes, or delete it; trainbook counts names:",
    });
    if (raw.names === undefined || raw.names === null) return undefined;
  }
  if (raw.names === undefined || raw.names === null) {
    if (!hasNc) {
      issues.push({
        severity: "error",
        code: "names-missing",
        message: "The YAML has neither names: nor nc:",
        file: yaml.path,
        fix: "Add `names:` with one entry per class id, e.g. `names: {0: dog, 1: person}`",
      });
      return undefined;
    }
    issues.push({
      severity: "warning",
      code: "names-missing",
      message: `names: is missing, so the ${ncValue} classes are called class_0 ... class_${
        Number(ncValue) - 1
      }`,
      file: yaml.path,
      line: yaml.keyLines.get("nc"),
      fix: "Add `names:` with one entry per class id so that metrics and predictions show real class names",
    });
    return Array.from({ length: Number(ncValue) }, (_, i) => `class_${i}`);
  }

  const normalised = normaliseNames(raw.names);
  if ("problem" in normalised) {
    issues.push({
      severity: "error",
      code: "names-invalid",
      message: normalised.problem,
      file: yaml.path,
      line: yaml.keyLines.get("names"),
      value: JSON.stringify(raw.names),
      fix:
        "Write names as a list (`names: [dog, person]`) or a mapping from 0, 1, 2, ... (`names: {0: dog, 1: person}`)",
    });
    return undefined;
  }
  const names = normalised.names;
  if (hasNc && typeof ncValue === "number" && Number.isInteger(ncValue) && ncValue !== names.length) {
    issues.push({
      severity: "error",
      code: "nc-mismatch",
      message: `nc: ${ncValue} disagrees with names:, which lists ${names.length} classes`,
      file: yaml.path,
      line: yaml.keyLines.get("nc"),
      value: String(ncValue),
      fix:
        `Set nc: ${names.length}, or delete the nc: line (it is inferred from names:), or add the missing names`,
    });
  }
  return names;
}

/** Turns split entries that are missing or unusable into issues; returns whether the split can be used. */
function reportSplitProblems(
  name: SplitName,
  value: unknown,
  split: DatasetSplit,
  missing: string[],
  yaml: DatasetYaml,
  issues: DatasetIssue[],
): void {
  const severity = name === "test" ? "warning" : "error";
  const line = yaml.keyLines.get(name === "val" && !("val" in yaml.raw) ? "validation" : name);
  for (const entry of missing) {
    issues.push({
      severity,
      code: "split-missing",
      message: `The ${name} split folder does not exist: ${entry}`,
      file: yaml.path,
      line,
      value: typeof value === "string" ? value : JSON.stringify(value),
      fix: `Correct ${name}: in the YAML. Relative paths resolve against ${
        "path" in yaml.raw ? "path:" : "the YAML's folder"
      }; a single leading ../ falls back to that folder when the parent folder does not contain it`,
    });
  }
  if (missing.length === 0 && split.imageFiles.length === 0) {
    issues.push({
      severity,
      code: "split-empty",
      message: `The ${name} split contains no images with a supported extension`,
      file: yaml.path,
      line,
      value: typeof value === "string" ? value : JSON.stringify(value),
      fix: `Put images (${
        [...IMAGE_EXTENSIONS].join(", ")
      }) in the ${name} folder or list them in its .txt file`,
    });
  }
}

/** Reads and resolves a dataset, collecting every issue; `dataset` is absent after a fatal one. */
export async function resolveDataset(path: string): Promise<ResolvedDataset> {
  const issues: DatasetIssue[] = [];
  const yaml = await readDatasetYaml(await findDatasetYaml(path));
  const { raw } = yaml;

  const notDataset = describeNonDatasetYaml(yaml);
  if (notDataset) return { yaml, issues: [notDataset] };
  if (!("val" in raw) && "validation" in raw) raw.val = raw.validation;
  for (const key of ["train", "val"]) {
    if (!(key in raw)) {
      issues.push({
        severity: "error",
        code: `${key}-missing`,
        message: `The YAML has no ${key}: key; Ultralytics requires both train: and val:`,
        file: yaml.path,
        fix: `Add \`${key}: <folder of ${key} images>\`, e.g. \`${key}: ${
          key === "val" ? "valid" : "train"
        }/images\``,
      });
    }
  }
  const names = resolveClasses(yaml, issues);
  issues.push(...checkPoseKeys(yaml));
  const root = await resolveRoot(yaml, issues);
  if (names === undefined || root === undefined || !("train" in raw) || !("val" in raw)) {
    return { yaml, issues };
  }

  const splits: Partial<Record<SplitName, DatasetSplit>> = {};
  for (const name of SPLIT_NAMES) {
    const value = raw[name];
    if (!truthy(value)) continue;
    const windows = (Array.isArray(value) ? value : [value]).map((item) => windowsPathProblem(String(item)))
      .find((problem) => problem !== undefined);
    const entries = await resolveSplitEntries(root, value);
    if (entries === undefined) {
      issues.push({
        severity: "error",
        code: "split-invalid",
        message: `${name}: must be a folder, a .txt list of images, or a list of those`,
        file: yaml.path,
        line: yaml.keyLines.get(name),
        value: JSON.stringify(value),
        fix: `Set ${name}: to a path such as ${name}/images`,
      });
      continue;
    }
    const { split, missing } = await buildSplit(name, entries, true);
    if (windows && missing.length > 0) {
      issues.push({
        severity: "error",
        code: "windows-path",
        message:
          `${name}: is a Windows path (${windows}), which does not exist on this ${Deno.build.os} machine`,
        file: yaml.path,
        line: yaml.keyLines.get(name),
        value: typeof value === "string" ? value : JSON.stringify(value),
        fix: `Write ${name}: relative to the dataset root with forward slashes, e.g. ${name}/images`,
      });
    } else {
      reportSplitProblems(name, value, split, missing, yaml, issues);
    }
    if (name !== "test" || missing.length === 0) splits[name] = split;
  }
  if (!splits.train || !splits.val) return { yaml, issues };
  if (!truthy(raw.test)) splits.test = await findUndeclaredTest(root, splits.val, yaml, issues);
  if (splits.test === undefined) delete splits.test;
  if (sameEntries(splits.train.imageFiles, splits.val.imageFiles) && splits.train.imageFiles.length > 0) {
    issues.push({
      severity: "warning",
      code: "val-is-train",
      message:
        "val: lists the same images as train:, so validation metrics measure memorisation, not generalisation",
      file: yaml.path,
      line: yaml.keyLines.get("val"),
      value: String(raw.val),
      fix: "Move 10-20% of the images and their labels to a separate valid/ folder and point val: at it",
    });
  }

  const task = inferTaskFromKeys(raw);
  const dataset: Dataset = {
    root,
    yamlPath: yaml.path,
    names,
    nc: names.length,
    splits: splits as Dataset["splits"],
    task,
    raw,
    warnings: [],
  };
  return { dataset, yaml, issues };
}

function sameEntries(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** Task named by the YAML: its `task:` key when valid, `pose` when it has `kpt_shape:`, else `detect`. */
export function inferTaskFromKeys(raw: Record<string, unknown>): Dataset["task"] {
  if (typeof raw.task === "string" && (TASKS as readonly string[]).includes(raw.task)) {
    return raw.task as Dataset["task"];
  }
  return raw.kpt_shape !== undefined && raw.kpt_shape !== null ? "pose" : "detect";
}
