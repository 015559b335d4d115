/**
 * Scans the images and label files of one split: image headers, label rows,
 * missing labels, and the statistics of the split.
 *
 * @module
 */
import { relative } from "node:path";
import type { Dataset, DatasetSplit } from "./dataset.ts";
import { extensionOf, labelPathFor, mapConcurrent } from "./_dataset_files.ts";
import { type ImageFormat, inspectImage } from "./image_header.ts";
import { checkLabelText, type LabelBox } from "./_validate_labels.ts";
import type { Finding, SplitStats } from "./validate_types.ts";

/** Settings and dataset the split scan needs besides the split. */
export interface ScanContext {
  dataset: Dataset;
  task: "detect" | "segment" | "pose" | "obb" | "classify";
  checkImages: boolean;
  concurrency: number;
  signal?: AbortSignal;
}

/** Per-image result of the scan. */
interface ImageRecord {
  findings: Finding[];
  /** Whether the image has no label rows at all: a missing or empty label file. */
  unlabelled: boolean;
  /** Label file relative to the root, with its box and polygon row counts. */
  label?: { file: string; boxRows: number; polygonRows: number };
  boxes: LabelBox[];
  size?: { width: number; height: number };
  hasLabel: boolean;
}

/** Ultralytics rejects images smaller than this on either side (`verify_image_label`). */
const MIN_IMAGE_SIDE = 10;

const EXTENSION_FORMATS: Record<string, ImageFormat> = {
  jpg: "jpeg",
  jpeg: "jpeg",
  mpo: "jpeg",
  png: "png",
  bmp: "bmp",
  webp: "webp",
  tif: "tiff",
  tiff: "tiff",
};

/** Returns a path relative to the dataset root with forward slashes, or the absolute path when outside it. */
export function relativeToRoot(root: string, path: string): string {
  const rel = relative(root, path);
  return (rel.startsWith("..") ? path : rel).replaceAll("\\", "/");
}

/** Checks one image's header and end; returns its findings and size. */
async function checkImage(
  image: string,
  file: string,
): Promise<{ findings: Finding[]; size?: ImageRecord["size"] }> {
  let inspection;
  try {
    inspection = await inspectImage(image);
  } catch (error) {
    const missing = error instanceof Deno.errors.NotFound;
    return {
      findings: [{
        severity: "error",
        code: missing ? "image-missing" : "image-unreadable",
        message: missing
          ? "Listed image does not exist"
          : `Image cannot be read: ${(error as Error).message}`,
        file,
        fix: missing
          ? "Correct the path in the .txt list: lines that start with ./ are relative to the list file, other relative lines to the working directory"
          : "Check the file's permissions",
      }],
    };
  }

  const findings: Finding[] = [];
  const { format, width, height, problem, detail } = inspection;
  if (problem === "trailing-data") {
    findings.push({
      severity: "warning",
      code: "image-trailing-data",
      message:
        `JPEG has extra bytes after its end: ${detail}; Ultralytics re-saves such files in place when it caches labels`,
      file,
      fix:
        "Re-save the image (e.g. with Pillow) so that it ends with FFD9, or expect Ultralytics to rewrite it",
    });
  } else if (problem === "truncated") {
    findings.push({
      severity: "error",
      code: "image-truncated",
      message: `Image is truncated: ${detail}`,
      file,
      fix: "Export or download the image again, or delete it together with its label file",
    });
  } else if (problem) {
    findings.push({
      severity: "error",
      code: "image-unreadable",
      message: `Image cannot be read: ${detail}`,
      file,
      fix: "Replace the file with a valid JPEG or PNG, or delete it together with its label file",
    });
    return { findings };
  }

  if (format === "gif") {
    findings.push({
      severity: "error",
      code: "image-format-unsupported",
      message: "File content is GIF, which Ultralytics does not train on, so it drops the image",
      file,
      value: `.${extensionOf(image)}`,
      fix: "Convert the image to JPEG or PNG",
    });
  } else if (
    format && EXTENSION_FORMATS[extensionOf(image)] && EXTENSION_FORMATS[extensionOf(image)] !== format
  ) {
    findings.push({
      severity: "warning",
      code: "image-extension-mismatch",
      message: `File is named .${extensionOf(image)} but contains ${format.toUpperCase()} data`,
      file,
      value: format,
      fix: `Rename it to .${
        format === "jpeg" ? "jpg" : format
      }, or convert it; Ultralytics reads it by content`,
    });
  }
  if (width > 0 && height > 0 && (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE)) {
    findings.push({
      severity: "error",
      code: "image-too-small",
      message:
        `Image is ${width}x${height} pixels; Ultralytics drops images under ${MIN_IMAGE_SIDE} pixels on a side`,
      file,
      value: `${width}x${height}`,
      fix: "Delete the image and its label file, or replace it with the full-size image",
    });
  }
  return { findings, size: width > 0 && height > 0 ? { width, height } : undefined };
}

/** Checks one image and its label file. */
async function scanImage(image: string, context: ScanContext): Promise<ImageRecord> {
  const { dataset } = context;
  const imageFile = relativeToRoot(dataset.root, image);
  const { findings, size } = context.checkImages
    ? await checkImage(image, imageFile)
    : { findings: [], size: undefined };
  if (findings.some((finding) => finding.code === "image-missing")) {
    return { findings, boxes: [], size, hasLabel: false, unlabelled: false };
  }

  const labelPath = labelPathFor(image);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(labelPath);
  } catch {
    findings.push({
      severity: "warning",
      code: "image-without-label",
      message: "Image has no label file, so Ultralytics trains on it as a background image",
      file: imageFile,
      value: relativeToRoot(dataset.root, labelPath),
      fix: "Add the label file, or create an empty one to mark the image as background on purpose",
    });
    return { findings, boxes: [], size, hasLabel: false, unlabelled: true };
  }

  const labelFile = relativeToRoot(dataset.root, labelPath);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    findings.push({
      severity: "error",
      code: "label-not-utf8",
      message: "Label file is not UTF-8 text; Ultralytics drops the image",
      file: labelFile,
      fix: "Save it as UTF-8 text with one `class x_center y_center width height` row per object",
    });
    return { findings, boxes: [], size, hasLabel: true, unlabelled: false };
  }
  const shape = dataset.raw.kpt_shape;
  const kptShape = Array.isArray(shape) && shape.length === 2 ? shape as [number, number] : undefined;
  const result = checkLabelText(text, {
    file: labelFile,
    names: dataset.names,
    task: context.task,
    kptShape,
    imageSize: size,
  });
  findings.push(...result.findings);
  const label = { file: labelFile, boxRows: result.boxRows, polygonRows: result.polygonRows };
  return { findings, boxes: result.boxes, size, hasLabel: true, unlabelled: result.empty, label };
}

/** Returns the q-quantile of sorted values by linear interpolation, or 0 for no values. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/** Computes the statistics of one split from its image records. */
function splitStats(split: DatasetSplit, names: string[], records: ImageRecord[]): SplitStats {
  const perClass = names.map((name) => ({ name, instances: 0, images: 0 }));
  const areas: number[] = [];
  const sizes = new Map<string, { width: number; height: number; count: number }>();
  let instances = 0;
  let background = 0;
  let maxBoxes = 0;
  for (const record of records) {
    if (record.boxes.length === 0) background++;
    maxBoxes = Math.max(maxBoxes, record.boxes.length);
    instances += record.boxes.length;
    const classesInImage = new Set<number>();
    for (const box of record.boxes) {
      areas.push(box.width * box.height);
      const entry = perClass[box.cls];
      if (Number.isInteger(box.cls) && entry) {
        entry.instances++;
        classesInImage.add(box.cls);
      }
    }
    for (const cls of classesInImage) perClass[cls].images++;
    if (record.size) {
      const key = `${record.size.width}x${record.size.height}`;
      const entry = sizes.get(key) ?? { ...record.size, count: 0 };
      entry.count++;
      sizes.set(key, entry);
    }
  }
  areas.sort((a, b) => a - b);
  return {
    split: split.name,
    images: records.length,
    backgroundImages: background,
    instances,
    perClass,
    boxesPerImage: { mean: records.length === 0 ? 0 : instances / records.length, max: maxBoxes },
    boxSize: { p10: quantile(areas, 0.1), p50: quantile(areas, 0.5), p90: quantile(areas, 0.9) },
    imageSizes: [...sizes.values()].sort((a, b) =>
      b.count - a.count || b.width - a.width || b.height - a.height
    ),
  };
}

/** Box and polygon row counts of one label file. */
export type LabelRowKinds = NonNullable<ImageRecord["label"]>;

/** Scans every image of a split; returns its findings, statistics and row kinds per label file. */
export async function scanSplit(
  split: DatasetSplit,
  context: ScanContext,
): Promise<{ findings: Finding[]; stats: SplitStats; labels: LabelRowKinds[] }> {
  const records = await mapConcurrent(split.imageFiles, context.concurrency, (image) => {
    context.signal?.throwIfAborted();
    return scanImage(image, context);
  });
  const findings = records.flatMap((record) => record.findings);
  if (records.length > 0 && records.every((record) => record.unlabelled)) {
    findings.push({
      severity: split.name === "test" ? "warning" : "error",
      code: "split-no-labels",
      message: `None of the ${records.length} ${split.name} images has a labelled object`,
      file: split.labelDirs[0] ? relativeToRoot(context.dataset.root, split.labelDirs[0]) : undefined,
      fix: "Check that the label files sit in a labels/ folder beside images/ with the same file names",
    });
  }
  const labels = records.flatMap((record) => (record.label ? [record.label] : []));
  return { findings, stats: splitStats(split, context.dataset.names, records), labels };
}
