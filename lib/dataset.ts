/**
 * Loading YOLO datasets: finds the dataset YAML, resolves its splits with the
 * rules of Ultralytics 8.4 (`check_det_dataset`), lists the images, checks that
 * every label row is numeric, and writes the normalised YAML the trainer gets.
 *
 * @example Load the bundled dataset
 * ```ts
 * import { loadDataset } from "./dataset.ts";
 *
 * const dataset = await loadDataset("datasets/thermal-dogs-and-people");
 * console.log(dataset.names, dataset.splits.train.imageFiles.length);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, relative, resolve, sep } from "node:path";
import { stringify } from "yaml";
import { DatasetError } from "./errors.ts";
import { compareCodePoints, labelPathFor, mapConcurrent, toForwardSlashes } from "./_dataset_files.ts";
import { type DatasetIssue, resolveDataset } from "./_dataset_resolve.ts";
import { isPythonFloat, splitLabelRows } from "./_label_text.ts";

export { labelPathFor } from "./_dataset_files.ts";

/** One split of a dataset, resolved to absolute folders and files. */
export interface DatasetSplit {
  /** Split name. */
  name: "train" | "val" | "test";
  /** Absolute image folders; empty when the split is given as a .txt list of images. */
  imageDirs: string[];
  /** Absolute paths of the split's images, sorted by code point as Ultralytics sorts them. */
  imageFiles: string[];
  /** Absolute label folders, from the `/images/` to `/labels/` rule. */
  labelDirs: string[];
  /** False when the split was found on disk but the YAML does not name it. */
  declared: boolean;
}

/** A dataset as Ultralytics will read it. */
export interface Dataset {
  /** Absolute dataset root, resolved as Ultralytics resolves `path:`. */
  root: string;
  /** Absolute path of the dataset YAML. */
  yamlPath: string;
  /** Class names, indexed by class id. */
  names: string[];
  /** Number of classes, equal to `names.length`. */
  nc: number;
  /** The train and val splits, and the test split when the YAML names it or it exists on disk. */
  splits: { train: DatasetSplit; val: DatasetSplit; test?: DatasetSplit };
  /**
   * Task the labels are for: the YAML's `task:` key when present, `pose` when it
   * has `kpt_shape:`, `segment` when most non-empty label files hold polygons, else `detect`.
   */
  task: "detect" | "segment" | "pose" | "obb" | "classify";
  /** The YAML's top-level mapping as parsed. */
  raw: Record<string, unknown>;
  /** Problems that do not stop training, one sentence each with its fix. */
  warnings: string[];
}

/** Number of label files read at the same time. */
const READ_CONCURRENCY = 64;

function issueToError(issue: DatasetIssue): DatasetError {
  return new DatasetError(issue.message, {
    file: issue.file,
    line: issue.line,
    value: issue.value,
    hint: issue.fix,
  });
}

/**
 * Loads a dataset from a folder that contains `data.yaml` (or a single *.yaml
 * file), or from the YAML file's path. Relative `path:` values resolve against
 * the working directory, then Ultralytics' `datasets_dir`; without `path:` the
 * YAML's folder is the root. Every label file of every split is read once to
 * reject rows that are not numbers.
 *
 * @throws {DatasetError} when the path or YAML is missing or malformed, a train
 * or val folder is missing or empty, `nc:` disagrees with `names:`, or a label
 * row is not numeric (with the label file and line).
 */
export async function loadDataset(path: string): Promise<Dataset> {
  const { dataset, issues } = await resolveDataset(path);
  const firstError = issues.find((issue) => issue.severity === "error");
  if (firstError) throw issueToError(firstError);
  if (!dataset) throw new DatasetError("The dataset could not be read", { file: resolve(path) });

  dataset.warnings = issues.filter((issue) => issue.severity === "warning").map((issue) =>
    `${issue.file ? relative(dataset.root, issue.file) + ": " : ""}${issue.message}. ${issue.fix}`
  );
  const polygonShare = await scanLabelRows(dataset);
  if (dataset.task === "detect" && dataset.raw.task === undefined && polygonShare > 0.5) {
    dataset.task = "segment";
  }
  return dataset;
}

/** Lists every image of every split once. */
function allImages(dataset: Dataset): string[] {
  const splits = [dataset.splits.train, dataset.splits.val, dataset.splits.test];
  return [...new Set(splits.flatMap((split) => split?.imageFiles ?? []))];
}

/**
 * Reads every label file and throws on the first row with a non-numeric field.
 * Returns the share of non-empty label files that contain polygon rows.
 */
async function scanLabelRows(dataset: Dataset): Promise<number> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const pose = dataset.task === "pose";
  const counts = await mapConcurrent(allImages(dataset), READ_CONCURRENCY, async (image) => {
    const labelPath = labelPathFor(image);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(labelPath);
    } catch {
      return { nonEmpty: 0, polygons: 0 };
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new DatasetError("Label file is not UTF-8 text", {
        file: labelPath,
        hint: "Save it as UTF-8 text with one `class x_center y_center width height` row per object",
      });
    }
    const rows = splitLabelRows(text);
    for (const row of rows) {
      const bad = row.tokens.find((token) => !isPythonFloat(token));
      if (bad === undefined) continue;
      const bom = bad.startsWith("\uFEFF");
      throw new DatasetError(
        bom ? "Label file starts with a byte order mark (BOM)" : "Label row is not numeric",
        {
          file: labelPath,
          line: row.line,
          value: row.text,
          hint: bom
            ? "Save the file as UTF-8 without BOM; Ultralytics cannot read the first row and drops the image"
            : "Every field must be a number: `class x_center y_center width height`, normalised to 0-1",
        },
      );
    }
    const polygons = !pose && rows.some((row) => row.tokens.length > 6) ? 1 : 0;
    return { nonEmpty: rows.length > 0 ? 1 : 0, polygons };
  });
  const nonEmpty = counts.reduce((sum, count) => sum + count.nonEmpty, 0);
  const polygons = counts.reduce((sum, count) => sum + count.polygons, 0);
  return nonEmpty === 0 ? 0 : polygons / nonEmpty;
}

/**
 * YAML value of a split: its folder, or its folders as a list, when every image
 * lies in them. Splits built from .txt lists are written as one absolute list
 * next to `destPath`.
 */
async function splitValue(split: DatasetSplit, destPath: string): Promise<string | string[]> {
  const inFolders = split.imageDirs.length > 0 &&
    split.imageFiles.every((file) => split.imageDirs.some((dir) => file.startsWith(dir + sep)));
  if (inFolders) {
    const dirs = split.imageDirs.map(toForwardSlashes);
    return dirs.length === 1 ? dirs[0] : dirs;
  }
  const listPath = `${destPath.replace(/\.ya?ml$/i, "")}.${split.name}.txt`;
  await Deno.writeTextFile(listPath, split.imageFiles.map(toForwardSlashes).join("\n") + "\n");
  return toForwardSlashes(listPath);
}

/**
 * Writes the YAML the trainer gets: absolute `path:` and split paths with
 * forward slashes, train/val/test (test also when found on disk but not named),
 * `names:` as a mapping and `nc:`. Pose keys (`kpt_shape`, `flip_idx`) and
 * `channels` are copied. Splits given as .txt lists are written as new absolute
 * lists next to `destPath` (`<dest>.<split>.txt`).
 */
export async function writeTrainingYaml(dataset: Dataset, destPath: string): Promise<void> {
  const absolute = resolve(destPath);
  await Deno.mkdir(dirname(absolute), { recursive: true });
  const out: Record<string, unknown> = { path: toForwardSlashes(dataset.root) };
  out.train = await splitValue(dataset.splits.train, absolute);
  out.val = await splitValue(dataset.splits.val, absolute);
  if (dataset.splits.test) out.test = await splitValue(dataset.splits.test, absolute);
  out.nc = dataset.nc;
  out.names = new Map(dataset.names.map((name, i) => [i, name]));
  for (const key of ["kpt_shape", "flip_idx", "channels"]) {
    if (dataset.raw[key] !== undefined && dataset.raw[key] !== null) out[key] = dataset.raw[key];
  }
  await Deno.writeTextFile(absolute, stringify(out, { lineWidth: 0 }));
}

/**
 * Computes a sha256 fingerprint of the dataset: the sorted root-relative paths
 * and bytes of every image, label file and the YAML. Files are read with bounded
 * concurrency and hashed in path order, so equal datasets give equal hex strings.
 */
export async function datasetFingerprint(dataset: Dataset): Promise<string> {
  const files = new Set<string>([dataset.yamlPath]);
  for (const image of allImages(dataset)) {
    files.add(image);
    files.add(labelPathFor(image));
  }
  const entries = [...files].map((file) => ({
    file,
    key: relative(dataset.root, file).replaceAll("\\", "/"),
  }))
    .sort((a, b) => compareCodePoints(a.key, b.key));

  const hash = createHash("sha256");
  const batch = READ_CONCURRENCY * 4;
  for (let start = 0; start < entries.length; start += batch) {
    const slice = entries.slice(start, start + batch);
    const contents = await mapConcurrent(
      slice,
      READ_CONCURRENCY,
      (entry) => Deno.readFile(entry.file).catch(() => undefined),
    );
    slice.forEach((entry, i) => {
      const bytes = contents[i];
      if (bytes === undefined) return; // An image without a label file: nothing to hash.
      hash.update(`${entry.key}\0${bytes.length}\0`);
      hash.update(bytes);
    });
  }
  return hash.digest("hex");
}
