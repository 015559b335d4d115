/**
 * The local backend: runs python/train.py in the managed Python environment and
 * turns its output into run events, history rows and run-folder files.
 *
 * @module
 */
import { join } from "node:path";
import type { Dataset } from "./dataset.ts";
import { redactTokens } from "./errors.ts";
import type { TrainEvent } from "./events.ts";
import { parseEventLine } from "./events.ts";
import type { History } from "./history.ts";
import { PYTHON_DIR } from "./paths.ts";
import type { PythonEnv } from "./python_env.ts";
import { readLines } from "./python_env.ts";
import type { TrainingRun } from "./run.ts";
import type { ResolvedTrainOptions } from "./train_options.ts";

/** Seconds between SIGTERM and SIGKILL when a run is cancelled. */
const KILL_GRACE_MS = 10_000;

/** Inputs of the local backend: the run, its dataset and options, and the Python environment. */
export interface LocalLaunch {
  run: TrainingRun;
  dataset: Dataset;
  dataYaml: string;
  options: ResolvedTrainOptions;
  env: PythonEnv;
  history?: History;
}

/**
 * Arguments of python/train.py shared by both backends: the model, the training
 * settings, and where the run folder goes (`<project>/<runId>`).
 */
export function trainingArguments(options: ResolvedTrainOptions, runId: string, project: string): string[] {
  return [
    "--model",
    options.model,
    "--epochs",
    String(options.epochs),
    "--imgsz",
    String(options.imgsz),
    "--batch",
    String(options.batch),
    "--device",
    options.device,
    "--workers",
    String(options.workers),
    "--seed",
    String(options.seed),
    "--project",
    project,
    "--name",
    runId,
    "--overrides",
    JSON.stringify(options.overrides),
  ];
}

/** Builds the trainer's command line as an argument array; no shell is involved. */
export function trainerCommand(launch: Omit<LocalLaunch, "history">): { command: string; args: string[] } {
  const { run, options, dataYaml, env } = launch;
  return {
    command: env.python,
    args: [
      "-u",
      join(PYTHON_DIR, "train.py"),
      "--data",
      dataYaml,
      ...trainingArguments(options, run.id, options.runsDir),
    ],
  };
}

/**
 * Runs the trainer to its end. Returns the process's exit code and whether the
 * run was cancelled through {@linkcode TrainingRun.cancel} or the abort signal.
 */
export async function runTrainer(
  launch: LocalLaunch,
  onEvent: (event: TrainEvent) => Promise<void>,
): Promise<{ code: number; signal: string | null; cancelled: string | undefined }> {
  const { command, args } = trainerCommand(launch);
  const child = new Deno.Command(command, {
    args,
    env: launch.env.env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();

  launch.run.info.pid = String(child.pid);
  let cancelled: string | undefined;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = (reason: string) => {
    if (cancelled !== undefined) return;
    cancelled = reason;
    try {
      child.kill("SIGTERM");
    } catch {
      // The process has already exited.
    }
    killTimer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited in the grace period.
      }
    }, KILL_GRACE_MS);
  };
  launch.run.attachController({ cancel: (reason) => Promise.resolve(stop(reason)) });
  const onAbort = () => stop("cancelled: the abort signal fired");
  launch.options.signal?.addEventListener("abort", onAbort, { once: true });
  if (launch.options.signal?.aborted) onAbort();

  // Events are handled one at a time, in output order, so history rows follow epochs.
  let queue = Promise.resolve();
  const enqueue = (event: TrainEvent) => {
    queue = queue.then(() => onEvent(event));
  };
  const readStdout = async () => {
    for await (const line of readLines(child.stdout)) {
      const event = parseEventLine(line);
      const time = new Date().toISOString();
      enqueue(event ?? { type: "log", line: redactTokens(line), stream: "stdout", time });
    }
  };
  const readStderr = async () => {
    for await (const line of readLines(child.stderr)) {
      if (line.trim() === "") continue;
      enqueue({ type: "log", line: redactTokens(line), stream: "stderr", time: new Date().toISOString() });
    }
  };
  await Promise.all([readStdout(), readStderr()]);
  const status = await child.status;
  await queue;
  clearTimeout(killTimer);
  launch.options.signal?.removeEventListener("abort", onAbort);
  return { code: status.code, signal: status.signal, cancelled };
}
