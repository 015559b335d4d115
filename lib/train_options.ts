/**
 * Options of `train()` and their validation. Every option is checked before
 * anything is created, so bad input leaves no run folder and no history row.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { OptionsError } from "./errors.ts";
import { validateRunName } from "./run_id.ts";

/** Options of `train()`. */
export interface TrainOptions {
  /**
   * Backend that runs the training: "local" (a Python process on this machine) or "hf-jobs".
   * @default {"local"}
   */
  backend?: "local" | "hf-jobs";
  /**
   * Model: an Ultralytics model YAML trained from scratch (such as "yolo11n.yaml") or a local .pt file.
   * @default {"yolo11n.yaml"}
   */
  model?: string;
  /**
   * Number of epochs.
   * @default {25}
   */
  epochs?: number;
  /**
   * Training and validation image size in pixels (square).
   * @default {320}
   */
  imgsz?: number;
  /**
   * Images per batch.
   * @default {16}
   */
  batch?: number;
  /**
   * Device: "auto" (every GPU, else the CPU), "cpu", or GPU indices such as "0" or "0,1".
   * @default {"auto"}
   */
  device?: string;
  /**
   * Data loader worker processes.
   * @default {2}
   */
  workers?: number;
  /**
   * Random seed.
   * @default {0}
   */
  seed?: number;
  /** Further Ultralytics train arguments, such as `{ nbs: 16, warmup_epochs: 1 }`. */
  overrides?: Record<string, unknown>;
  /**
   * Folder containing the run folders.
   * @default {`$TRAINBOOK_RUNS_DIR` or "./training_runs"}
   */
  runsDir?: string;
  /**
   * History database file, or `false` to record nothing.
   * @default {`<runsDir>/history.duckdb`}
   */
  history?: string | false;
  /** Run id to use instead of a generated one (letters, digits, `.`, `_`, `-`). */
  runId?: string;
  /** Cancels the run when aborted. */
  signal?: AbortSignal;
  /**
   * Write charts and report.html into the run folder when training ends.
   * @default {true}
   */
  report?: boolean;
  /** HF Jobs: hardware flavor such as "cpu-basic", "t4-small" or "a100-large". */
  flavor?: string;
  /**
   * HF Jobs: job timeout in seconds (always sent, because the platform default is 30 minutes).
   * @default {3600}
   */
  timeout?: number;
  /** HF Jobs: Hub dataset repository to stage the dataset to, such as "user/my-dataset". */
  datasetRepo?: string;
  /** HF Jobs: Hub model repository the job pushes artifacts to. @default {"<namespace>/trainbook-<run-id>"} */
  modelRepo?: string;
  /** HF Jobs: namespace (user or organisation) to run the job under. @default {the token's user} */
  namespace?: string;
  /** HF Jobs: push artifacts every N epochs. @default {5} */
  pushEvery?: number;
  /** HF Jobs: Hub endpoint (for a mirror or a test server). @default {"https://huggingface.co"} */
  endpoint?: string;
  /** HF Jobs: access token. @default {HF_TOKEN, else the Hugging Face token file} */
  token?: string;
}

/** Options after validation, with every default applied. */
export interface ResolvedTrainOptions {
  /** Backend that runs the training. */
  backend: "local" | "hf-jobs";
  /** Model YAML name or absolute path of a local .pt or .yaml file. */
  model: string;
  /** Number of epochs. */
  epochs: number;
  /** Image size in pixels. */
  imgsz: number;
  /** Images per batch. */
  batch: number;
  /** Device: "auto", "cpu", "mps" or GPU indices. */
  device: string;
  /** Data loader worker processes. */
  workers: number;
  /** Random seed. */
  seed: number;
  /** Further Ultralytics train arguments. */
  overrides: Record<string, unknown>;
  /** Absolute folder of run folders. */
  runsDir: string;
  /** Absolute history path, or false to record nothing. */
  history: string | false;
  /** Run id chosen by the caller. */
  runId?: string;
  /** Cancels the run when aborted. */
  signal?: AbortSignal;
  /** Whether charts and report.html are written at the end. */
  report: boolean;
}

/** Model families and sizes whose YAML files ship with ultralytics 8.4. */
const MODEL_YAML =
  /^(yolov3(-tiny|-spp)?|yolov5[nsmlx]u?|yolov6[nsmlx]|yolov8[nsmlx]|yolov9[tsmce]|yolov10[nsmblx]|yolo11[nsmlx]|yolo12[nsmlx]|yolo26[nsmlx])(-(seg|pose|obb|cls|p2|p6))?\.yaml$/;

/** Ultralytics train arguments that trainbook sets itself and a caller must not override. */
const RESERVED_OVERRIDES = [
  "data",
  "project",
  "name",
  "exist_ok",
  "epochs",
  "imgsz",
  "batch",
  "device",
  "model",
];

/**
 * Validates `options` and applies the defaults.
 *
 * @throws {OptionsError} naming the option, its value and the accepted values.
 */
export function resolveTrainOptions(options: TrainOptions, runsDirDefault: string): ResolvedTrainOptions {
  const backend = options.backend ?? "local";
  if (backend !== "local" && backend !== "hf-jobs") {
    throw new OptionsError("Invalid backend", { value: backend, hint: 'Use "local" or "hf-jobs"' });
  }
  const epochs = positiveInteger("epochs", options.epochs ?? 25, "the number of training epochs, such as 25");
  const imgsz = positiveInteger("imgsz", options.imgsz ?? 320, "an image size in pixels, such as 320 or 640");
  if (imgsz < 32 || imgsz > 8192) {
    throw new OptionsError("Invalid imgsz: out of range", { value: imgsz, hint: "Use 32 to 8192 pixels" });
  }
  const batch = positiveInteger("batch", options.batch ?? 16, "the number of images per batch, such as 16");
  const workers = nonNegativeInteger("workers", options.workers ?? 2);
  const seed = nonNegativeInteger("seed", options.seed ?? 0);
  const device = validateDevice(options.device ?? "auto");
  const model = validateModel(options.model ?? "yolo11n.yaml");
  const overrides = validateOverrides(options.overrides ?? {});
  const runsDir = resolve(options.runsDir ?? runsDirDefault);
  const runId = options.runId === undefined ? undefined : validateRunName(options.runId);
  const history = options.history === undefined ? resolve(runsDir, "history.duckdb") : options.history;
  return {
    backend,
    model,
    epochs,
    imgsz,
    batch,
    device,
    workers,
    seed,
    overrides,
    runsDir,
    history: history === false ? false : resolve(history),
    runId,
    signal: options.signal,
    report: options.report ?? true,
  };
}

function positiveInteger(name: string, value: unknown, meaning: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new OptionsError(`Invalid ${name}: must be a positive integer`, {
      value,
      hint: `Pass ${meaning}`,
    });
  }
  return value;
}

function nonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new OptionsError(`Invalid ${name}: must be an integer of 0 or more`, {
      value,
      hint: `Pass 0 or more`,
    });
  }
  return value;
}

function validateDevice(device: string): string {
  if (device === "auto" || device === "cpu" || device === "mps" || /^\d+(,\d+)*$/.test(device)) return device;
  throw new OptionsError("Invalid device", {
    value: device,
    hint: 'Use "auto", "cpu", "mps", or GPU indices such as "0" or "0,1"',
  });
}

/**
 * Accepts a model YAML that ships with ultralytics, or a local .pt or .yaml file.
 * A .pt name that is not a local file is rejected: pretrained weights would be
 * downloaded, and trainbook trains offline.
 */
export function validateModel(model: string): string {
  if (typeof model !== "string" || model.trim() === "") {
    throw new OptionsError("Invalid model: empty", {
      value: model,
      hint: 'Pass a model YAML such as "yolo11n.yaml"',
    });
  }
  if (MODEL_YAML.test(model)) return model;
  if (model.endsWith(".pt") || model.endsWith(".yaml") || model.endsWith(".yml")) {
    const path = isAbsolute(model) ? model : resolve(model);
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Reported below.
    }
    const hint = model.endsWith(".pt")
      ? 'Pass the path of a local .pt file, or a model YAML such as "yolo11n.yaml" to train from scratch ' +
        "(pretrained weights are not downloaded)"
      : 'Pass an existing YAML file, or a model name such as "yolo11n.yaml", "yolov8s.yaml" or "yolo26n.yaml"';
    throw new OptionsError("Model file not found", { file: path, value: model, hint });
  }
  throw new OptionsError("Unknown model", {
    value: model,
    hint: 'Pass a model YAML such as "yolo11n.yaml", "yolov8s.yaml", "yolo12m.yaml" or "yolo26n.yaml", ' +
      "or the path of a local .pt file",
  });
}

function validateOverrides(overrides: Record<string, unknown>): Record<string, unknown> {
  if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides)) {
    throw new OptionsError("Invalid overrides: must be an object of Ultralytics train arguments", {
      value: overrides,
      hint: "Pass an object such as { nbs: 16, warmup_epochs: 1 }",
    });
  }
  for (const key of Object.keys(overrides)) {
    if (RESERVED_OVERRIDES.includes(key)) {
      throw new OptionsError(`Invalid overrides: "${key}" is set by trainbook`, {
        value: key,
        hint: `Pass it as the ${key === "data" ? "dataset argument" : `"${key}" option`} instead`,
      });
    }
    if (!/^[a-z_][a-z0-9_]*$/.test(key)) {
      throw new OptionsError("Invalid overrides: not an Ultralytics argument name", {
        value: key,
        hint: "Use lower-case argument names such as nbs, lr0 or warmup_epochs",
      });
    }
  }
  return overrides;
}
