// deno-lint-ignore-file no-console
/**
 * Commands `demo`, `train` and `eval`.
 *
 * @module
 */
import { join } from "node:path";
import { type Command, intOption } from "./_cli.ts";
import { evaluate, formatTestMetrics } from "./evaluate.ts";
import type { TestMetrics } from "./metrics.ts";
import { readTestMetrics } from "./run_report.ts";
import { defaultRunsDir, REPO_ROOT } from "./paths.ts";
import { formatEventLine } from "./progress.ts";
import type { RunResult, TrainingRun } from "./run.ts";
import { formatDuration } from "./run.ts";
import { train } from "./train.ts";
import type { TrainOptions } from "./train_options.ts";

/** The dataset the demo trains on, committed in the repository. */
export const DEMO_DATASET: string = join(REPO_ROOT, "datasets", "thermal-dogs-and-people");

/**
 * Demo defaults: a small model from scratch at 320 px. nbs 16 and one warm-up epoch
 * make this 142-image dataset learn within 25 epochs (Ultralytics' defaults, nbs 64
 * and 3 warm-up epochs, learn far more slowly on it).
 */
const DEMO_DEFAULTS = { model: "yolo11n.yaml", epochs: 25, imgsz: 320, batch: 16 };
const DEMO_OVERRIDES = { nbs: 16, warmup_epochs: 1 };

const TRAIN_OPTIONS = {
  dataset: { type: "string" },
  model: { type: "string" },
  epochs: { type: "string" },
  imgsz: { type: "string" },
  batch: { type: "string" },
  device: { type: "string" },
  workers: { type: "string" },
  seed: { type: "string" },
  "runs-dir": { type: "string" },
  "run-id": { type: "string" },
  set: { type: "string", multiple: true },
  "no-history": { type: "boolean" },
  backend: { type: "string" },
  flavor: { type: "string" },
  timeout: { type: "string" },
  "dataset-repo": { type: "string" },
  namespace: { type: "string" },
  "push-every": { type: "string" },
  endpoint: { type: "string" },
  verbose: { type: "boolean", short: "v" },
  json: { type: "boolean" },
} as const;

const TRAIN_OPTION_HELP = `  --dataset PATH     dataset folder or data.yaml
  --model NAME       model YAML trained from scratch (yolo11n.yaml, yolov8s.yaml, yolo26n.yaml, ...)
                     or a local .pt file  [yolo11n.yaml]
  --epochs N         training epochs  [25]
  --imgsz PIXELS     square image size in pixels  [320]
  --batch N          images per batch  [16]
  --device DEVICE    auto (every GPU, else CPU), cpu, or GPU indices such as 0 or 0,1  [auto]
  --workers N        data loader processes  [2]
  --seed N           random seed  [0]
  --set KEY=VALUE    further Ultralytics train argument, repeatable (--set lr0=0.005)
  --runs-dir PATH    folder of run folders and the history  [$TRAINBOOK_RUNS_DIR or ./training_runs]
  --run-id ID        run id instead of a generated one
  --no-history       record nothing in the history database
  --backend NAME     local or hf-jobs  [local]
  --flavor NAME      HF Jobs hardware, such as cpu-basic, t4-small, a10g-large, a100-large
                     (list them with \`deno task hardware\`)  [cpu-basic]
  --timeout SECONDS  HF Jobs time limit in seconds  [3600]
  --dataset-repo ID  HF Jobs: dataset repository to stage to  [<namespace>/<dataset folder name>]
  --namespace NAME   HF Jobs: user or organisation to run under  [the token's user]
  --push-every N     HF Jobs: upload artifacts every N epochs, 0 only at the end  [5]
  --endpoint URL     HF Jobs: Hub URL  [$TRAINBOOK_HF_ENDPOINT, $HF_ENDPOINT or https://huggingface.co]
  --verbose, -v      also print the trainer's own output
  --json             print events and the result as JSON lines`;

function trainOptionsFrom(values: Record<string, unknown>, defaults: TrainOptions): TrainOptions {
  const overrides: Record<string, unknown> = { ...(defaults.overrides ?? {}) };
  for (const pair of (values.set as string[] | undefined) ?? []) {
    const at = pair.indexOf("=");
    const key = at > 0 ? pair.slice(0, at) : pair;
    const raw = at > 0 ? pair.slice(at + 1) : "true";
    overrides[key] = raw === "true"
      ? true
      : raw === "false"
      ? false
      : Number.isFinite(Number(raw)) && raw !== ""
      ? Number(raw)
      : raw;
  }
  return {
    ...defaults,
    model: (values.model as string | undefined) ?? defaults.model,
    epochs: intOption(values, "epochs") ?? defaults.epochs,
    imgsz: intOption(values, "imgsz") ?? defaults.imgsz,
    batch: intOption(values, "batch") ?? defaults.batch,
    device: (values.device as string | undefined) ?? defaults.device,
    workers: intOption(values, "workers") ?? defaults.workers,
    seed: intOption(values, "seed") ?? defaults.seed,
    runsDir: (values["runs-dir"] as string | undefined) ?? defaults.runsDir,
    runId: values["run-id"] as string | undefined,
    history: values["no-history"] ? false : undefined,
    backend: (values.backend as "local" | "hf-jobs" | undefined) ?? defaults.backend,
    flavor: values.flavor as string | undefined,
    timeout: intOption(values, "timeout"),
    datasetRepo: values["dataset-repo"] as string | undefined,
    namespace: values.namespace as string | undefined,
    pushEvery: intOption(values, "push-every"),
    endpoint: values.endpoint as string | undefined,
    overrides,
  };
}

/** Prints a run's events until it ends; Ctrl-C cancels the run. */
export async function followRun(
  run: TrainingRun,
  options: { verbose?: boolean; json?: boolean },
): Promise<RunResult> {
  const onSignal = () => {
    console.error("\nCancelling the run (Ctrl-C again to force quit)...");
    Deno.removeSignalListener("SIGINT", onSignal);
    run.cancel("cancelled with Ctrl-C");
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    for await (const event of run.events()) {
      if (options.json) {
        console.log(JSON.stringify(event));
        continue;
      }
      const line = formatEventLine(event, options.verbose);
      if (line !== undefined) console.log(line);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
  return await run.done;
}

function printFailure(result: RunResult): void {
  console.error(`\nRun ${result.id} ${result.status}${result.message ? `: ${result.message}` : ""}`);
  if (result.status === "failed" && result.logTail.length > 0) {
    console.error(
      "Last lines of the trainer's output:\n" + result.logTail.slice(-15).map((l) => `  ${l}`).join("\n"),
    );
  }
  console.error(`Run folder: ${result.dir}`);
}

async function trainAndEvaluate(
  dataset: string,
  options: TrainOptions,
  flags: { verbose?: boolean; json?: boolean; evaluate: boolean; banner?: string },
): Promise<number> {
  const started = Date.now();
  // Options and the dataset are checked here, before anything is printed.
  const run = await train(dataset, options);
  if (!flags.json) {
    if (flags.banner) console.log(flags.banner);
    console.log(`Run ${run.id} → ${run.dir}`);
  }
  const result = await followRun(run, flags);
  if (result.status !== "completed") {
    if (flags.json) console.log(JSON.stringify({ type: "result", ...result }));
    else printFailure(result);
    return 1;
  }
  let metrics: TestMetrics | undefined;
  if (options.backend === "hf-jobs") {
    // The Jobs backend evaluates the downloaded weights itself.
    metrics = await readTestMetrics(result.dir);
  } else if (flags.evaluate) {
    if (!flags.json) console.log("· evaluating best.pt on the test split");
    try {
      metrics = await evaluate(result, { runsDir: options.runsDir, history: options.history });
    } catch (error) {
      // A dataset without a test split still completes training; the line explains the missing metrics.
      if (!flags.json) console.log(`· no test evaluation: ${(error as Error).message}`);
    }
  }
  const runsDir = options.runsDir ?? defaultRunsDir();
  if (flags.json) {
    console.log(JSON.stringify({ type: "result", ...result, testMetrics: metrics }));
    return 0;
  }
  console.log("");
  if (metrics) console.log(formatTestMetrics(metrics) + "\n");
  console.log(`Report:   ${join(result.dir, "report.html")}`);
  console.log(`Charts:   ${join(result.dir, "charts")}/`);
  console.log(`Weights:  ${join(result.dir, "weights", "best.pt")}`);
  if (options.history !== false) {
    console.log(`History:  ${join(runsDir, "history.duckdb")} (run ${result.id})`);
  }
  console.log(`Finished in ${formatDuration((Date.now() - started) / 1000)}.`);
  return 0;
}

/** `deno task demo`: trains on the bundled dataset, evaluates and reports. */
export const demoCommand: Command = {
  summary: "train, evaluate and report on the bundled thermal-dogs-and-people dataset",
  usage: `Usage: deno task demo [options]

Trains ${DEMO_DEFAULTS.model} from scratch on the bundled thermal-dogs-and-people dataset
(${DEMO_DEFAULTS.epochs} epochs at ${DEMO_DEFAULTS.imgsz} px, about 5 minutes on 2 idle CPU cores), evaluates
it on the test split, writes charts and report.html, and records the run in the history.
The first run also creates the Python environment (a few minutes).

Options:
${TRAIN_OPTION_HELP}`,
  options: TRAIN_OPTIONS,
  run(values) {
    const options = trainOptionsFrom(values, { ...DEMO_DEFAULTS, overrides: DEMO_OVERRIDES });
    const dataset = (values.dataset as string | undefined) ?? DEMO_DATASET;
    return trainAndEvaluate(dataset, options, {
      banner:
        `trainbook demo: ${options.model}, ${options.epochs} epochs at ${options.imgsz} px on ${dataset}`,
      verbose: values.verbose as boolean,
      json: values.json as boolean,
      evaluate: true,
    });
  },
};

/** `deno task train`: trains locally (or on HF Jobs with --backend hf-jobs). */
export const trainCommand: Command = {
  summary: "train a model on a dataset",
  usage: `Usage: deno task train --dataset PATH [options]

Trains a YOLO model, prints one line per epoch, evaluates best.pt on the test split
when the dataset has one, and records the run in the history.

Options:
${TRAIN_OPTION_HELP}
  --no-eval          skip the test-split evaluation`,
  options: { ...TRAIN_OPTIONS, "no-eval": { type: "boolean" } },
  run(values, positionals) {
    const dataset = (values.dataset as string | undefined) ?? positionals[0];
    if (!dataset) {
      console.error("error: pass the dataset folder or data.yaml with --dataset PATH");
      return Promise.resolve(2);
    }
    const options = trainOptionsFrom(values, {});
    return trainAndEvaluate(dataset, options, {
      verbose: values.verbose as boolean,
      json: values.json as boolean,
      evaluate: !values["no-eval"],
    });
  },
};

/** `deno task eval`: evaluates a run on a split. */
export const evalCommand: Command = {
  summary: "evaluate a run's weights on the test split",
  usage: `Usage: deno task eval RUN [options]

RUN is a run id or a run folder. Writes test_metrics.json into the run folder,
records the metrics in the history and refreshes report.html.

Options:
  --split NAME       test, val or train  [test]
  --weights W        best, last, or a .pt path  [best]
  --imgsz PIXELS     image size  [the training image size]
  --device DEVICE    cpu or a GPU index  [cpu]
  --runs-dir PATH    folder of run folders  [$TRAINBOOK_RUNS_DIR or ./training_runs]
  --json             print the metrics as JSON`,
  options: {
    split: { type: "string" },
    weights: { type: "string" },
    imgsz: { type: "string" },
    device: { type: "string" },
    "runs-dir": { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, positionals) {
    if (!positionals[0]) {
      console.error("error: pass a run id or run folder");
      return 2;
    }
    const metrics = await evaluate(positionals[0], {
      split: values.split as "test" | undefined,
      weights: values.weights as string | undefined,
      imgsz: intOption(values, "imgsz"),
      device: values.device as string | undefined,
      runsDir: values["runs-dir"] as string | undefined,
      onProgress: values.json ? undefined : (message) => console.log(`· ${message}`),
    });
    console.log(values.json ? JSON.stringify(metrics) : formatTestMetrics(metrics));
    return 0;
  },
};
