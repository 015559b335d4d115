/**
 * `predict()`: runs a trained run's weights on images through python/predict.py
 * and returns the detections in pixels, with a notebook display that draws the
 * boxes over each image. `predictionGallery()` draws predictions next to the
 * ground-truth boxes of a dataset split for the run report.
 *
 * @example Predict on the bundled test images
 * ```ts ignore
 * import { predict } from "./predict.ts";
 *
 * const predictions = await predict("training_runs/20250101-120000-abc123", "datasets/thermal-dogs-and-people/test/images");
 * console.log(predictions.toString());
 * ```
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { compareCodePoints, extensionOf, IMAGE_EXTENSIONS } from "./_dataset_files.ts";
import { resolveDataset } from "./_dataset_resolve.ts";
import { formatBox, galleryHtml, predictionsHtml, summaryLine } from "./_predict_display.ts";
import { resolveRunDir, resolveWeights, trainingImageSize } from "./_run_resolve.ts";
import { plainTable, type TableColumn } from "./_table.ts";
import { displayBundle } from "./display.ts";
import { NotFoundError, OptionsError, TrainingError } from "./errors.ts";
import { defaultRunsDir } from "./paths.ts";
import { ensurePythonEnv, runPythonScript } from "./python_env.ts";
import type { RunResult, TrainingRun } from "./run.ts";

/** Options of {@linkcode predict}. */
export interface PredictOptions {
  /**
   * Weights: "best", "last", or the path of a .pt file.
   * @default {"best"}
   */
  weights?: string;
  /**
   * Minimum confidence of a detection, from 0 to 1.
   * @default {0.25}
   */
  conf?: number;
  /**
   * IoU threshold of non-maximum suppression, from 0 to 1.
   * @default {0.7}
   */
  iou?: number;
  /**
   * Inference image size in pixels.
   * @default {the run's training image size from args.yaml, else 640}
   */
  imgsz?: number;
  /**
   * Maximum number of images to predict on, taken in input order after folders are listed.
   * @default {all images}
   */
  maxImages?: number;
  /**
   * Device for inference, such as "cpu" or "0".
   * @default {"cpu"}
   */
  device?: string;
  /**
   * Folder that contains run folders, used when the run is given by id.
   * @default {`$TRAINBOOK_RUNS_DIR` or "./training_runs"}
   */
  runsDir?: string;
  /** Called with progress messages. */
  onProgress?: (message: string) => void;
}

/** A bounding box in pixels of the original image: top-left and bottom-right corners. */
export interface PixelBox {
  /** Left edge. */
  x1: number;
  /** Top edge. */
  y1: number;
  /** Right edge. */
  x2: number;
  /** Bottom edge. */
  y2: number;
}

/** One detected object. */
export interface Detection {
  /** Class index into the model's class names. */
  classId: number;
  /** Class name from the model. */
  className: string;
  /** Confidence from 0 to 1. */
  confidence: number;
  /** Box in pixels of the original image. */
  box: PixelBox;
}

/** The detections on one image, highest confidence first. */
export interface ImagePrediction {
  /** Absolute path of the image. */
  image: string;
  /** Width of the original image in pixels. */
  width: number;
  /** Height of the original image in pixels. */
  height: number;
  /** Detected objects; empty when nothing reaches the confidence threshold. */
  detections: Detection[];
}

/** Output of {@linkcode predict}, displayed in notebooks as the images with their boxes. */
export interface Predictions {
  /** Absolute path of the run folder. */
  runDir: string;
  /** Absolute path of the weights used. */
  weights: string;
  /** Inference image size in pixels. */
  imgsz: number;
  /** Confidence threshold used. */
  conf: number;
  /** IoU threshold used. */
  iou: number;
  /** Class names of the model, indexed by class id. */
  names: string[];
  /** One entry per input image, in input order. */
  images: ImagePrediction[];
  /** Formats the detections as a text table. */
  toString(): string;
}

/**
 * Runs a run's weights on images and returns the detections of each image.
 * `run` is a run handle, a finished result, a run folder, or a run id.
 * `images` is an image path, a folder of images (not searched recursively),
 * or a list of those.
 *
 * @example Show the predictions of a finished run in a notebook cell
 * ```ts ignore
 * import { predict } from "./predict.ts";
 * import { train } from "./train.ts";
 *
 * const run = await train("datasets/thermal-dogs-and-people", { epochs: 10 });
 * await run.done;
 * await predict(run, "datasets/thermal-dogs-and-people/test/images", { conf: 0.5, maxImages: 4 });
 * ```
 *
 * @throws {NotFoundError} when the run folder, the weights or an image path does not exist, or no image is found.
 * @throws {OptionsError} when a file is not an image Ultralytics reads, an image cannot be decoded, or an option is out of range.
 * @throws {TrainingError} when the prediction process fails.
 */
export async function predict(
  run: TrainingRun | RunResult | string,
  images: string | string[],
  options: PredictOptions = {},
): Promise<Predictions> {
  const { weights = "best", conf = 0.25, iou = 0.7, maxImages, device = "cpu", onProgress } = options;
  checkFraction("conf", conf);
  checkFraction("iou", iou);
  if (maxImages !== undefined && !(Number.isInteger(maxImages) && maxImages > 0)) {
    throw new OptionsError("Invalid maxImages", { value: maxImages, hint: "Pass a whole number above 0" });
  }

  const runDir = await resolveRunDir(run, resolve(options.runsDir ?? defaultRunsDir()));
  const weightsPath = await resolveWeights(runDir, weights);
  const imagePaths = (await collectImages(Array.isArray(images) ? images : [images])).slice(0, maxImages);
  const imgsz = options.imgsz ?? (await trainingImageSize(runDir)) ?? 640;

  onProgress?.(`Predicting on ${imagePaths.length} images with ${weightsPath}`);
  const output = await runPredictScript(weightsPath, imagePaths, { imgsz, conf, iou, device, onProgress });
  const predictions = { runDir, ...output } as Predictions;
  Object.defineProperty(predictions, "toString", {
    value: () => formatPredictions(predictions),
    enumerable: false,
  });
  return displayBundle(predictions, () => ({
    "text/plain": formatPredictions(predictions),
    "text/html": predictionsHtml(predictions),
  }));
}

function checkFraction(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) {
    throw new OptionsError(`Invalid ${name}`, { value, hint: "Pass a number from 0 to 1" });
  }
}

function supportedExtensions(): string {
  return [...IMAGE_EXTENSIONS].map((extension) => `.${extension}`).join(", ");
}

/** Expands folders to the images directly inside them, sorted by code point, and checks file extensions. */
async function collectImages(inputs: string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const input of inputs) {
    const path = resolve(input);
    const info = await Deno.stat(path).catch(() => undefined);
    if (info === undefined) {
      throw new NotFoundError("Image or folder not found", { file: path, hint: "Check the path" });
    }
    if (info.isDirectory) {
      const names: string[] = [];
      for await (const entry of Deno.readDir(path)) {
        if (!entry.isDirectory && IMAGE_EXTENSIONS.has(extensionOf(entry.name))) names.push(entry.name);
      }
      paths.push(...names.sort(compareCodePoints).map((name) => join(path, name)));
    } else if (IMAGE_EXTENSIONS.has(extensionOf(path))) {
      paths.push(path);
    } else {
      throw new OptionsError("Not an image file", {
        file: path,
        hint: `Pass images with one of the extensions ${supportedExtensions()}`,
      });
    }
  }
  if (paths.length === 0) {
    throw new NotFoundError("No images found", {
      value: inputs,
      hint:
        `Folders are not searched recursively; pass files or folders that contain ${supportedExtensions()} images`,
    });
  }
  return paths;
}

interface ScriptSettings {
  imgsz: number;
  conf: number;
  iou: number;
  device: string;
  onProgress?: (message: string) => void;
}

type ScriptOutput = Omit<Predictions, "runDir" | "toString">;

/** Runs python/predict.py once for all images and reads its JSON output. */
async function runPredictScript(
  weights: string,
  images: string[],
  settings: ScriptSettings,
): Promise<ScriptOutput> {
  const env = await ensurePythonEnv({ onProgress: (event) => settings.onProgress?.(event.message) });
  const scratch = await Deno.makeTempDir({ prefix: "trainbook-predict-" });
  try {
    const listFile = join(scratch, "images.json");
    const outFile = join(scratch, "predictions.json");
    await Deno.writeTextFile(listFile, JSON.stringify(images));
    const run = await runPythonScript(env, "predict.py", [
      "--weights",
      weights,
      "--images",
      listFile,
      "--out",
      outFile,
      "--imgsz",
      String(settings.imgsz),
      "--conf",
      String(settings.conf),
      "--iou",
      String(settings.iou),
      "--device",
      settings.device,
    ]);
    if (!run.success) throw scriptError(weights, run.lines);
    return JSON.parse(await Deno.readTextFile(outFile)) as ScriptOutput;
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

function scriptError(weights: string, lines: string[]): Error {
  const errorLine = lines.find((line) =>
    line.startsWith("TRAINBOOK_EVENT ") && line.includes('"type": "error"')
  );
  const event = errorLine ? JSON.parse(errorLine.slice(errorLine.indexOf("{"))) : undefined;
  if (typeof event?.image === "string") {
    return new OptionsError("Image cannot be decoded", {
      file: event.image,
      hint: "The file may be truncated or not an image. Open it in an image viewer, or leave it out",
    });
  }
  return new TrainingError("Prediction failed", {
    file: weights,
    value: event?.message ?? lines.slice(-5).join("\n"),
    hint: "See the message for the cause",
  });
}

/** Formats predictions as a text table with one row per detection, or one row for an image with none. */
export function formatPredictions(predictions: Pick<Predictions, "images" | "conf">): string {
  const columns: TableColumn[] = [
    { key: "image", label: "image" },
    { key: "class", label: "class" },
    { key: "confidence", label: "confidence", right: true },
    { key: "box", label: "box (x1, y1, x2, y2)" },
  ];
  const rows = predictions.images.flatMap((entry) => {
    const image = basename(entry.image);
    if (entry.detections.length === 0) return [{ image, class: "(no detections)" }];
    return entry.detections.map((detection) => ({
      image,
      class: detection.className,
      confidence: detection.confidence.toFixed(3),
      box: formatBox(detection.box),
    }));
  });
  return `${summaryLine(predictions)}\n${plainTable(columns, rows)}`;
}

/** Options of {@linkcode predictionGallery}. */
export interface PredictionGalleryOptions extends Omit<PredictOptions, "maxImages"> {
  /**
   * Split of the run's data.yaml whose images are shown.
   * @default {"test"}
   */
  split?: "test" | "val" | "train";
  /**
   * Maximum number of images shown, the first ones in file name order.
   * @default {8}
   */
  maxImages?: number;
}

/**
 * Lists the images of a split of the run folder's data.yaml, resolved as
 * Ultralytics resolves them, sorted by code point. Returns undefined when the
 * YAML names no such split or has no images in it.
 */
export async function runSplitImages(
  runDir: string,
  split: "test" | "val" | "train",
): Promise<string[] | undefined> {
  const { dataset } = await resolveDataset(join(runDir, "data.yaml"));
  const found = dataset?.splits[split];
  // A test/ folder the YAML does not name is left out, as evaluate() leaves it out.
  if (!found?.declared || found.imageFiles.length === 0) return undefined;
  return found.imageFiles;
}

/**
 * Predicts on the first images of a split of the run's dataset and returns
 * HTML that draws each image with its predicted boxes (solid, coloured by
 * class) and its ground-truth boxes from the label file (dashed green).
 * Images are embedded as data URLs, so the HTML is self-contained.
 *
 * @throws {OptionsError} when the run's data.yaml has no images in `split`.
 * @throws {NotFoundError | TrainingError} as {@linkcode predict} does.
 */
export async function predictionGallery(
  run: TrainingRun | RunResult | string,
  options: PredictionGalleryOptions = {},
): Promise<string> {
  const { split = "test", maxImages = 8, ...predictOptions } = options;
  const runDir = await resolveRunDir(run, resolve(options.runsDir ?? defaultRunsDir()));
  const images = await runSplitImages(runDir, split);
  if (images === undefined) {
    throw new OptionsError(`The run's dataset has no ${split} images`, {
      file: join(runDir, "data.yaml"),
      value: split,
      hint: "Choose a split with images",
    });
  }

  const predictions = await predict(runDir, images.slice(0, maxImages), predictOptions);
  return await galleryHtml(predictions, images, split);
}
