/**
 * `train()`: starts a training run on a backend and returns its handle at once.
 * Options and the dataset are checked first, so bad input throws before any run
 * folder or history row exists.
 *
 * @module
 */
import { join } from "node:path";
import type { Dataset } from "./dataset.ts";
import { datasetFingerprint, loadDataset } from "./dataset.ts";
import { OptionsError, redactTokens } from "./errors.ts";
import type { TrainEvent } from "./events.ts";
import { History } from "./history.ts";
import { runTrainer, trainerCommand } from "./local_backend.ts";
import { defaultRunsDir } from "./paths.ts";
import { ensurePythonEnv } from "./python_env.ts";
import { TrainingRun } from "./run.ts";
import { newRunId } from "./run_id.ts";
import { publicOptions, recordRunFiles, writeJson } from "./run_files.ts";
import { prepareTrainingData } from "./train_data.ts";
import type { ResolvedTrainOptions, TrainOptions } from "./train_options.ts";
import { resolveTrainOptions } from "./train_options.ts";

export type { ResolvedTrainOptions, TrainOptions } from "./train_options.ts";

/**
 * Starts training `dataset` (a dataset folder, its data.yaml, or a loaded
 * {@linkcode Dataset}) and returns the run handle without waiting for the end.
 *
 * @example Train for a few epochs and follow the progress
 * ```ts ignore
 * import { train } from "./mod.ts";
 * const run = await train("datasets/thermal-dogs-and-people", { epochs: 3, imgsz: 160 });
 * for await (const event of run.events()) {
 *   if (event.type === "epoch") console.log(event.epoch, event.metrics["metrics/mAP50(B)"]);
 * }
 * const result = await run.done;
 * ```
 *
 * @throws {OptionsError} for an invalid option.
 * @throws {DatasetError} for a dataset that cannot be loaded.
 */
export async function train(dataset: string | Dataset, options: TrainOptions = {}): Promise<TrainingRun> {
  const resolved = resolveTrainOptions(options, defaultRunsDir());
  if (resolved.backend === "hf-jobs") {
    const { trainOnJobs } = await import("./jobs_backend.ts");
    return await trainOnJobs(dataset, options, resolved);
  }
  const loaded = typeof dataset === "string" ? await loadDataset(dataset) : dataset;
  const id = resolved.runId ?? newRunId();
  const dir = join(resolved.runsDir, id);
  if (await exists(dir)) {
    throw new OptionsError("A run folder with this id exists already", {
      file: dir,
      value: id,
      hint: "Choose another runId, or leave it out to get a new one",
    });
  }
  const run = new TrainingRun(id, dir, "local", resolved.epochs);
  run.push({ type: "status", status: "queued", time: new Date().toISOString() });
  runLocal(run, loaded, resolved).catch((error) => {
    run.push({ type: "error", message: redactTokens(String(error?.message ?? error)), time: now() });
    run.finish("failed", redactTokens(String(error?.message ?? error)));
  });
  return run;
}

async function runLocal(run: TrainingRun, dataset: Dataset, options: ResolvedTrainOptions): Promise<void> {
  const setup = (message: string) => run.push({ type: "setup", message, time: now() });
  const env = await ensurePythonEnv({ onProgress: (event) => setup(event.message) });
  if (options.signal?.aborted || run.cancelRequested) {
    run.finish("cancelled", run.cancelRequested ?? "cancelled before training started");
    return;
  }

  await Deno.mkdir(run.dir, { recursive: true });
  const data = await prepareTrainingData(dataset, run.dir);
  setup("Hashing the dataset for its fingerprint");
  const fingerprint = await datasetFingerprint(dataset);
  const command = trainerCommand({ run, dataset, dataYaml: data.yamlPath, options, env });
  const record = {
    id: run.id,
    backend: "local",
    createdAt: run.createdAt.toISOString(),
    dataset: { path: dataset.root, yaml: dataset.yamlPath, fingerprint, names: dataset.names },
    options: publicOptions(options),
    command: [command.command, ...command.args],
    versions: {} as Record<string, string>,
  };
  await writeJson(join(run.dir, "run.json"), record);

  const history = options.history === false ? undefined : await History.open(options.history);
  const safely = async (what: string, action: () => Promise<void>) => {
    if (!history) return;
    try {
      await action();
    } catch (error) {
      run.push({
        type: "log",
        line: `history: ${what} failed: ${redactTokens(String(error))}`,
        stream: "stderr",
        time: now(),
      });
    }
  };
  await safely("recording the run", () =>
    history!.createRun({
      id: run.id,
      createdAt: run.createdAt.toISOString(),
      startedAt: now(),
      backend: "local",
      status: "running",
      datasetPath: dataset.root,
      datasetFingerprint: fingerprint,
      model: options.model,
      task: dataset.task,
      args: publicOptions(options),
      versions: {},
      seed: options.seed,
      runDir: run.dir,
      pid: Deno.pid,
      hostname: Deno.hostname(),
      epochsPlanned: options.epochs,
    }));
  run.push({ type: "status", status: "running", time: now() });

  let errorMessage: string | undefined;
  let finished = false;
  const onEvent = async (event: TrainEvent) => {
    run.push(event);
    if (event.type === "start") {
      record.versions = event.versions;
      await writeJson(join(run.dir, "run.json"), record);
      await safely("recording versions", () => history!.updateRun(run.id, { versions: event.versions }));
    } else if (event.type === "epoch") {
      await safely(
        `recording epoch ${event.epoch}`,
        () => history!.recordEpoch(run.id, { epoch: event.epoch, metrics: event.metrics }),
      );
    } else if (event.type === "error") {
      errorMessage = event.message;
    } else if (event.type === "finish") {
      finished = true;
    }
  };
  const outcome = await runTrainer({ run, dataset, dataYaml: data.yamlPath, options, env, history }, onEvent);

  let status: "completed" | "failed" | "cancelled" | "interrupted";
  let message: string | undefined;
  if (outcome.cancelled !== undefined) {
    status = "cancelled";
    message = outcome.cancelled;
  } else if (outcome.code === 0 && finished) {
    status = "completed";
  } else if (outcome.signal !== null && errorMessage === undefined) {
    status = "interrupted";
    message = `the trainer process was stopped by ${outcome.signal}`;
  } else {
    status = "failed";
    message = errorMessage ??
      `the trainer exited with code ${outcome.code}: ${run.logTail.slice(-3).join(" | ")}`;
  }

  try {
    await recordRunFiles(run, { history, report: options.report, status, message });
  } catch (error) {
    // The training result is kept, but a run folder that could not be completed (a
    // full disk, a write error) makes the run failed, in the history too.
    status = "failed";
    message = `saving the run folder failed: ${redactTokens(String((error as Error)?.message ?? error))}`;
    run.push({ type: "error", message, time: now() });
  }
  await safely(
    "recording the outcome",
    () => history!.updateRun(run.id, { status, statusMessage: message, finishedAt: now() }),
  );
  await history?.close();
  run.finish(status, message);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function now(): string {
  return new Date().toISOString();
}
