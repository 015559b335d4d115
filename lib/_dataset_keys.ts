/**
 * Checks of single YAML keys: Windows paths, pose keys, and YAML files that
 * describe something other than a dataset.
 *
 * @module
 */
import type { DatasetIssue } from "./_dataset_resolve.ts";
import type { DatasetYaml } from "./_dataset_yaml.ts";

/**
 * Describes why `path` is a Windows path (drive letter, backslashes or mixed
 * separators), or returns undefined for a POSIX path or when running on Windows.
 */
export function windowsPathProblem(path: string, os: string = Deno.build.os): string | undefined {
  if (os === "windows") return undefined;
  if (/^[A-Za-z]:([\\/]|$)/.test(path)) return `drive letter ${path.slice(0, 2)}`;
  if (path.includes("\\")) return path.includes("/") ? "mixed / and \\ separators" : "backslash separators";
  return undefined;
}

const DATASET_KEYS = ["path", "train", "val", "validation", "test", "names", "nc"];
const MODEL_KEYS = ["backbone", "head", "depth_multiple", "width_multiple", "scales"];
const ARGS_KEYS = ["epochs", "imgsz", "batch", "model", "mode", "lr0", "optimizer"];

/** Returns an error when the YAML has none of the dataset keys, naming what it looks like instead. */
export function describeNonDatasetYaml(yaml: DatasetYaml): DatasetIssue | undefined {
  const keys = Object.keys(yaml.raw);
  if (keys.some((key) => DATASET_KEYS.includes(key))) return undefined;
  let kind = "it has none of the keys train:, val:, names: or nc:";
  if (keys.some((key) => MODEL_KEYS.includes(key))) {
    kind = "it looks like a model definition (backbone:, head:)";
  } else if (keys.some((key) => ARGS_KEYS.includes(key))) {
    kind = "it looks like training settings (epochs:, imgsz:, model:), such as a run's args.yaml";
  }
  return {
    severity: "error",
    code: "not-a-dataset-yaml",
    message: `The YAML is not a dataset description: ${kind}`,
    file: yaml.path,
    value: keys.slice(0, 8).join(", "),
    fix: "Pass the dataset's data.yaml, which maps train:, val: and names: to the image folders and classes",
  };
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/** Checks `kpt_shape: [keypoints, 2 or 3]` and `flip_idx:` (a permutation of the keypoint indices). */
export function checkPoseKeys(yaml: DatasetYaml): DatasetIssue[] {
  const { raw } = yaml;
  if (raw.kpt_shape === undefined || raw.kpt_shape === null) {
    if (raw.flip_idx === undefined) return [];
    return [{
      severity: "warning",
      code: "flip-idx-without-kpt-shape",
      message: "flip_idx: is set but kpt_shape: is missing, so the dataset is not read as a pose dataset",
      file: yaml.path,
      line: yaml.keyLines.get("flip_idx"),
      fix: "Add `kpt_shape: [<keypoints>, 3]` for a pose dataset, or delete flip_idx:",
    }];
  }

  const shape = raw.kpt_shape;
  const valid = Array.isArray(shape) && shape.length === 2 && isNonNegativeInteger(shape[0]) &&
    shape[0] > 0 &&
    (shape[1] === 2 || shape[1] === 3);
  if (!valid) {
    return [{
      severity: "error",
      code: "kpt-shape-invalid",
      message: "kpt_shape: must be [number of keypoints, 2 or 3]",
      file: yaml.path,
      line: yaml.keyLines.get("kpt_shape"),
      value: JSON.stringify(shape),
      fix: "Write e.g. `kpt_shape: [17, 3]` for 17 keypoints with x, y and visibility",
    }];
  }

  const keypoints = (shape as number[])[0];
  const flip = raw.flip_idx;
  if (flip === undefined || flip === null || (Array.isArray(flip) && flip.length === 0)) {
    return [{
      severity: "warning",
      code: "flip-idx-missing",
      message: "flip_idx: is missing, so Ultralytics turns off the fliplr and flipud augmentations",
      file: yaml.path,
      line: yaml.keyLines.get("kpt_shape"),
      fix:
        `Add flip_idx: with ${keypoints} indices that say which keypoint each one becomes when mirrored, ` +
        `e.g. [${Array.from({ length: Math.min(keypoints, 5) }, (_, i) => i).join(", ")}${
          keypoints > 5 ? ", ..." : ""
        }]`,
    }];
  }
  const permutation = Array.isArray(flip) && flip.length === keypoints && flip.every(isNonNegativeInteger) &&
    new Set(flip).size === keypoints && flip.every((index) => index < keypoints);
  if (!permutation) {
    return [{
      severity: "error",
      code: "flip-idx-invalid",
      message: `flip_idx: must list each keypoint index 0-${
        keypoints - 1
      } exactly once (kpt_shape has ${keypoints})`,
      file: yaml.path,
      line: yaml.keyLines.get("flip_idx"),
      value: JSON.stringify(flip),
      fix: "List, for each keypoint, the index of its mirror image (its own index when it sits on the axis)",
    }];
  }
  return [];
}
