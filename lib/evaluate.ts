/**
 * `evaluate()`: runs a trained run's weights on a dataset split (the held-out test
 * split by default) through python/evaluate.py, writes `test_metrics.json` into
 * the run folder, records the metrics in the history and refreshes the report.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { resolveRunDir, resolveWeights, trainingImageSize } from "./_run_resolve.ts";
import { escapeHtml } from "./display.ts";
import { NotFoundError, OptionsError, TrainingError } from "./errors.ts";
import { History } from "./history.ts";
import type { TestMetrics } from "./metrics.ts";
import { defaultRunsDir } from "./paths.ts";
import { ensurePythonEnv, runPythonScript } from "./python_env.ts";
import type { RunResult, TrainingRun } from "./run.ts";
import { writeRunReport } from "./run_report.ts";

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /**
   * Split to evaluate on.
   * @default {"test"}
   */
  split?: "test" | "val" | "train";
  /**
   * Weights: "best", "last", or the path of a .pt file.
   * @default {"best"}
   */
  weights?: string;
  /**
   * Image size in pixels.
   * @default {the run's training image size, else 640}
   */
  imgsz?: number;
  /**
   * Images per batch.
   * @default {16}
   */
  batch?: number;
  /**
   * Device for inference, such as "cpu" or "0".
   * @default {"cpu"}
   */
  device?: string;
  /**
   * Folder containing the run folders, used when the run is given by id.
   * @default {`$TRAINBOOK_RUNS_DIR` or "./training_runs"}
   */
  runsDir?: string;
  /**
   * History database file, or `false` to record nothing.
   * @default {`<runsDir>/history.duckdb`}
   */
  history?: string | false;
  /** Called with progress messages. */
  onProgress?: (message: string) => void;
}

/** Test metrics with a notebook display (summary and per-class table). */
export type EvaluationResult = TestMetrics & { runId: string; runDir: string };

/**
 * Evaluates a run on its dataset's test split (or another split).
 * `run` is a run handle, a finished result, a run folder, or a run id.
 *
 * @throws {NotFoundError} when the run folder or weights do not exist.
 * @throws {OptionsError} when the dataset has no such split.
 * @throws {TrainingError} when the evaluation process fails.
 */
export async function evaluate(
  run: TrainingRun | RunResult | string,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const runsDir = resolve(options.runsDir ?? defaultRunsDir());
  const dir = await resolveRunDir(run, runsDir);
  const runId = dir.split("/").at(-1)!;
  const split = options.split ?? "test";
  if (!["test", "val", "train"].includes(split)) {
    throw new OptionsError("Invalid split", { value: split, hint: 'Use "test", "val" or "train"' });
  }
  const weights = await resolveWeights(dir, options.weights ?? "best");
  const dataYaml = join(dir, "data.yaml");
  const description = await readDataYaml(dataYaml);
  if (!description[split]) {
    throw new OptionsError(`The run's dataset has no ${split} split`, {
      file: dataYaml,
      value: split,
      hint: split === "test"
        ? "Add a test split (a test/images folder beside train/, or a test: key in data.yaml) and train again, " +
          'or evaluate with { split: "val" }'
        : "Choose a split the dataset has",
    });
  }
  for (const [name, value] of [["imgsz", options.imgsz], ["batch", options.batch]] as const) {
    if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value <= 0)) {
      throw new OptionsError(`Invalid ${name}: must be a positive integer`, {
        value,
        hint: name === "imgsz"
          ? "Pass an image size in pixels, such as 320"
          : "Pass the images per batch, such as 16",
      });
    }
  }
  const imgsz = options.imgsz ?? (await trainingImageSize(dir)) ?? 640;

  const env = await ensurePythonEnv({ onProgress: (event) => options.onProgress?.(event.message) });
  options.onProgress?.(`Evaluating ${weights} on the ${split} split`);
  const out = join(dir, split === "test" ? "test_metrics.json" : `${split}_metrics.json`);
  const script = await runPythonScript(env, "evaluate.py", [
    "--weights",
    weights,
    "--data",
    dataYaml,
    "--split",
    split,
    "--imgsz",
    String(imgsz),
    "--batch",
    String(options.batch ?? 16),
    "--device",
    options.device ?? "cpu",
    "--out",
    out + ".partial",
  ]);
  const lines = script.lines;
  if (!script.success) {
    await Deno.remove(out + ".partial").catch(() => {});
    const errorLine = lines.find((line) => line.includes('"type": "error"'));
    const message = errorLine
      ? JSON.parse(errorLine.slice(errorLine.indexOf("{"))).message
      : lines.slice(-5).join("\n");
    throw new TrainingError("Evaluation failed", {
      file: weights,
      value: message,
      hint: "See the message for the cause",
    });
  }
  await Deno.rename(out + ".partial", out);
  const metrics = JSON.parse(await Deno.readTextFile(out)) as TestMetrics;

  if (options.history !== false) {
    const history = await History.open(options.history ?? join(runsDir, "history.duckdb"));
    try {
      await history.recordTestMetrics(runId, metrics);
    } catch (error) {
      // A run folder copied from elsewhere may have no history row; the JSON file still contains the metrics.
      if (!(error instanceof NotFoundError)) throw error;
    } finally {
      await history.close();
    }
  }
  await writeRunReport(dir);
  return withDisplay({ ...metrics, runId, runDir: dir });
}

async function readDataYaml(path: string): Promise<Record<string, unknown>> {
  try {
    return (parseYaml(await Deno.readTextFile(path)) ?? {}) as Record<string, unknown>;
  } catch (error) {
    throw new NotFoundError("The run folder has no readable data.yaml", {
      file: path,
      hint: "Evaluate runs trained by trainbook, or copy the dataset's data.yaml into the run folder",
      cause: error,
    });
  }
}

/** Formats test metrics as an aligned text table. */
export function formatTestMetrics(metrics: TestMetrics): string {
  const header = ["class", "images", "instances", "precision", "recall", "mAP50", "mAP50-95"];
  const rows = [
    [
      "all",
      metrics.images,
      metrics.instances,
      metrics.precision,
      metrics.recall,
      metrics.map50,
      metrics.map50_95,
    ],
    ...metrics.classes.map((
      c,
    ) => [c.name, c.images, c.instances, c.precision, c.recall, c.map50, c.map50_95]),
  ].map((row) =>
    row.map((
      cell,
    ) => (typeof cell === "number" && !Number.isInteger(cell) ? cell.toFixed(3) : String(cell ?? "")))
  );
  const widths = header.map((name, column) =>
    Math.max(name.length, ...rows.map((row) => row[column].length))
  );
  const format = (row: string[]) =>
    row.map((cell, column) => column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))
      .join("  ");
  return [`Test metrics (${metrics.split} split)`, format(header), ...rows.map(format)].join("\n");
}

function withDisplay(result: EvaluationResult): EvaluationResult {
  Object.defineProperty(result, Symbol.for("Jupyter.display"), {
    enumerable: false,
    value: () => {
      const text = formatTestMetrics(result);
      const [title, ...lines] = text.split("\n");
      const cells = lines.map((line, index) => {
        const tag = index === 0 ? "th" : "td";
        return `<tr>${
          line.trim().split(/\s{2,}/).map((cell) => `<${tag}>${escapeHtml(cell)}</${tag}>`).join("")
        }</tr>`;
      });
      return {
        "text/plain": text,
        "text/html": `<p><b>${escapeHtml(title)}</b></p><table>${cells.join("")}</table>`,
      };
    },
  });
  return result;
}
