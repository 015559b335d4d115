/**
 * Dataset-wide file checks: label files without images, `classes.txt` files,
 * files in image folders that Ultralytics skips, and images shared by splits.
 *
 * @module
 */
import { basename } from "node:path";
import type { Dataset, DatasetSplit } from "./dataset.ts";
import { extensionOf, IMAGE_EXTENSIONS, isDirectory, labelPathFor, walkFiles } from "./_dataset_files.ts";
import { relativeToRoot } from "./_validate_scan.ts";
import type { Finding } from "./validate_types.ts";

/** Extensions of image files that Ultralytics 8.4 does not list in `IMG_FORMATS`, so it skips them. */
const SKIPPED_IMAGE_EXTENSIONS = new Set([
  "gif",
  "jfif",
  "pjpeg",
  "pjp",
  "svg",
  "ico",
  "psd",
  "jxl",
  "ppm",
  "pgm",
  "pbm",
  "exr",
  "hdr",
  "cr2",
  "nef",
  "arw",
]);

function splitsOf(dataset: Dataset): DatasetSplit[] {
  const { train, val, test } = dataset.splits;
  return test ? [train, val, test] : [train, val];
}

/** Compares a labels folder's classes.txt with names: (tools such as LabelImg write it; Ultralytics ignores it). */
async function checkClassesTxt(dataset: Dataset, path: string): Promise<Finding> {
  const file = relativeToRoot(dataset.root, path);
  const listed = (await Deno.readTextFile(path)).split(/\r?\n/).map((line) => line.trim()).filter((line) =>
    line
  );
  const same = listed.length === dataset.names.length && listed.every((name, i) => name === dataset.names[i]);
  if (same) {
    return {
      severity: "warning",
      code: "classes-txt",
      message:
        "classes.txt in a labels folder is not a label file; Ultralytics ignores it (it matches names:)",
      file,
      fix: "Nothing to do; delete it if you like, because names: in the YAML is what training uses",
    };
  }
  return {
    severity: "warning",
    code: "classes-txt-mismatch",
    message: `classes.txt lists [${listed.join(", ")}] but names: is [${dataset.names.join(", ")}]; ` +
      "training uses names:, so class ids may mean different classes than when the labels were drawn",
    file,
    value: listed.join(", "),
    fix: "Make names: list the classes in the order of classes.txt, then delete classes.txt",
  };
}

/** Finds label files without an image and classes.txt files in the label folders. */
async function checkLabelFolders(dataset: Dataset, expected: Set<string>): Promise<Finding[]> {
  const findings: Finding[] = [];
  const folders = [...new Set(splitsOf(dataset).flatMap((split) => split.labelDirs))].sort();
  const seen = new Set<string>();
  for (const folder of folders) {
    if (!(await isDirectory(folder))) continue;
    for (const path of (await walkFiles(folder)).sort()) {
      if (seen.has(path) || extensionOf(path) !== "txt" || expected.has(path)) continue;
      seen.add(path);
      if (basename(path).toLowerCase() === "classes.txt") {
        findings.push(await checkClassesTxt(dataset, path));
        continue;
      }
      // Image folders that are also the label folder (no images/ segment) hold .txt lists as well.
      if (
        splitsOf(dataset).some((split) =>
          split.imageDirs.includes(folder) && split.labelDirs.includes(folder)
        )
      ) {
        continue;
      }
      findings.push({
        severity: "warning",
        code: "label-without-image",
        message: "Label file has no matching image, so Ultralytics ignores it",
        file: relativeToRoot(dataset.root, path),
        fix: "Add the image with the same base name to the images folder, or delete the label file",
      });
    }
  }
  return findings;
}

/** Finds files in image folders that have an image extension Ultralytics skips. */
async function checkSkippedImages(dataset: Dataset): Promise<Finding[]> {
  const findings: Finding[] = [];
  const folders = [...new Set(splitsOf(dataset).flatMap((split) => split.imageDirs))].sort();
  for (const folder of folders) {
    for (const path of (await walkFiles(folder)).sort()) {
      const extension = extensionOf(path);
      if (IMAGE_EXTENSIONS.has(extension) || !SKIPPED_IMAGE_EXTENSIONS.has(extension)) continue;
      findings.push({
        severity: "warning",
        code: "image-format-unsupported",
        message:
          `.${extension} files are not among the formats Ultralytics trains on, so it skips this image`,
        file: relativeToRoot(dataset.root, path),
        value: `.${extension}`,
        fix: `Convert it to JPEG or PNG (supported: ${[...IMAGE_EXTENSIONS].join(", ")})`,
      });
    }
  }
  return findings;
}

/** Warns when images appear in more than one split (unless the splits are identical, reported elsewhere). */
function checkSplitOverlap(dataset: Dataset): Finding[] {
  const findings: Finding[] = [];
  const splits = splitsOf(dataset);
  for (let i = 0; i < splits.length; i++) {
    for (let j = i + 1; j < splits.length; j++) {
      const a = splits[i];
      const b = splits[j];
      const inA = new Set(a.imageFiles);
      const shared = b.imageFiles.filter((file) => inA.has(file));
      const identical = shared.length === a.imageFiles.length && shared.length === b.imageFiles.length;
      if (shared.length === 0 || (identical && a.name === "train" && b.name === "val")) continue;
      findings.push({
        severity: "warning",
        code: "split-overlap",
        message:
          `${shared.length} images are in both ${a.name} and ${b.name}, so ${b.name} metrics are optimistic`,
        file: relativeToRoot(dataset.root, shared[0]),
        fix: `Keep each image in one split only: remove the shared images from ${b.name} or from ${a.name}`,
      });
    }
  }
  return findings;
}

/** Runs the dataset-wide file checks. */
export async function checkDatasetFiles(dataset: Dataset): Promise<Finding[]> {
  const expected = new Set(splitsOf(dataset).flatMap((split) => split.imageFiles.map(labelPathFor)));
  return [
    ...(await checkLabelFolders(dataset, expected)),
    ...(await checkSkippedImages(dataset)),
    ...checkSplitOverlap(dataset),
  ];
}
