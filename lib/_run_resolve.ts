/**
 * Resolves what `evaluate()` and `predict()` take as a run: the run folder, its
 * weights file and its training image size.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { isDirectory, isFile } from "./_dataset_files.ts";
import { NotFoundError } from "./errors.ts";
import type { RunResult, TrainingRun } from "./run.ts";
import { isRunId } from "./run_id.ts";

/**
 * Resolves a run handle, result, folder or run id to the run folder's absolute path.
 * A run id names a folder in `runsDir` unless a folder of that name exists in the current directory.
 *
 * @throws {NotFoundError} when the run folder does not exist.
 */
export async function resolveRunDir(run: TrainingRun | RunResult | string, runsDir: string): Promise<string> {
  let dir: string;
  if (typeof run !== "string") dir = run.dir;
  else if (isRunId(run) && !(await isDirectory(resolve(run)))) dir = join(runsDir, run);
  else dir = resolve(run);
  if (!(await isDirectory(dir))) {
    throw new NotFoundError("Run folder not found", {
      file: dir,
      value: typeof run === "string" ? run : run.id,
      hint: "Pass a run handle, a run folder, or a run id listed by `deno task runs`",
    });
  }
  return dir;
}

/**
 * Resolves "best", "last" or a .pt path to a weights file. "best" and "last" name files in `dir`/weights.
 *
 * @throws {NotFoundError} when the weights file does not exist.
 */
export async function resolveWeights(dir: string, weights: string): Promise<string> {
  const path = weights === "best" || weights === "last"
    ? join(dir, "weights", `${weights}.pt`)
    : resolve(weights);
  if (!(await isFile(path))) {
    throw new NotFoundError("Weights file not found", {
      file: path,
      value: weights,
      hint: weights === "best"
        ? 'The run may have ended before its first epoch; try { weights: "last" } or train again'
        : 'Pass "best", "last", or the path of an existing .pt file',
    });
  }
  return path;
}

/** Reads the training image size from the run folder's args.yaml, or undefined when it has no numeric imgsz. */
export async function trainingImageSize(dir: string): Promise<number | undefined> {
  try {
    const args = parseYaml(await Deno.readTextFile(join(dir, "args.yaml"))) as { imgsz?: unknown };
    return typeof args.imgsz === "number" ? args.imgsz : undefined;
  } catch {
    return undefined;
  }
}
