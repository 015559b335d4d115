/**
 * `rerun()`: starts a new run from a run's record in the history, with the same
 * dataset (checked by fingerprint), model and arguments, optionally varied.
 *
 * @module
 */
import { join } from "node:path";
import { datasetFingerprint, loadDataset } from "./dataset.ts";
import { DatasetError, NotFoundError } from "./errors.ts";
import { History } from "./history.ts";
import { defaultRunsDir } from "./paths.ts";
import type { TrainingRun } from "./run.ts";
import { train } from "./train.ts";
import type { TrainOptions } from "./train_options.ts";

/** Options of {@linkcode rerun}: any training option overrides the recorded one. */
export interface RerunOptions extends TrainOptions {
  /**
   * Start even when the dataset's files changed since the recorded run.
   * @default {false}
   */
  allowChangedDataset?: boolean;
}

/** Recorded options that describe where a run went, not how it trained. */
const NOT_REPEATED = ["runId", "runsDir", "history", "signal", "modelRepo"];

/**
 * Repeats run `id` from the history: same dataset, model and arguments, with
 * `overrides` applied (for example `{ epochs: 50 }` or `{ overrides: { lr0: 0.005 } }`).
 *
 * @throws {NotFoundError} when the run is not in the history or has no dataset path.
 * @throws {DatasetError} when the dataset changed since the run, unless `allowChangedDataset`.
 */
export async function rerun(id: string, overrides: RerunOptions = {}): Promise<TrainingRun> {
  const runsDir = overrides.runsDir ?? defaultRunsDir();
  const historyPath = typeof overrides.history === "string"
    ? overrides.history
    : join(runsDir, "history.duckdb");
  const history = await History.open(historyPath);
  let record;
  try {
    record = (await history.getRun(id)).run;
  } finally {
    await history.close();
  }
  if (!record.datasetPath) {
    throw new NotFoundError("The run records no local dataset path, so it cannot be repeated", {
      value: id,
      hint: "Runs imported from other tools have no dataset path; call train() with the dataset instead",
    });
  }

  const dataset = await loadDataset(record.datasetPath);
  if (record.datasetFingerprint && !overrides.allowChangedDataset) {
    const fingerprint = await datasetFingerprint(dataset);
    if (fingerprint !== record.datasetFingerprint) {
      throw new DatasetError("The dataset changed since the run being repeated", {
        file: record.datasetPath,
        value: `${fingerprint.slice(0, 12)} (now) vs ${
          record.datasetFingerprint.slice(0, 12)
        } (run ${record.id})`,
        hint:
          "Restore the dataset's files, or pass { allowChangedDataset: true } to train on it as it is now",
      });
    }
  }

  const recorded = Object.fromEntries(
    Object.entries(record.args).filter(([key]) => !NOT_REPEATED.includes(key)),
  ) as TrainOptions;
  const { allowChangedDataset: _allow, ...rest } = overrides;
  const options: TrainOptions = {
    ...recorded,
    model: record.model,
    seed: record.seed ?? recorded.seed,
    flavor: record.flavor ?? recorded.flavor,
    datasetRepo: record.datasetRepo ?? recorded.datasetRepo,
    ...rest,
    overrides: { ...(recorded.overrides ?? {}), ...(rest.overrides ?? {}) },
    runsDir,
  };
  return await train(dataset, options);
}
