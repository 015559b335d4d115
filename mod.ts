/**
 * trainbook: train Ultralytics YOLO object detectors from Deno notebooks and
 * scripts, locally or on Hugging Face Jobs, with live progress, test-set
 * evaluation, charts, and a DuckDB history of every run.
 *
 * @example Validate, train, watch and evaluate
 * ```ts ignore
 * import * as tb from "./mod.ts";
 *
 * const report = await tb.validateDataset("datasets/thermal-dogs-and-people");
 * const run = await tb.train("datasets/thermal-dogs-and-people", { epochs: 25, imgsz: 320 });
 * const result = await tb.watch(run);
 * const metrics = await tb.evaluate(run);
 * ```
 *
 * @module
 */

export {
  AuthError,
  DatasetError,
  type ErrorDetails,
  HistoryError,
  HubError,
  NotFoundError,
  OptionsError,
  PythonEnvError,
  redactTokens,
  ResultsError,
  TrainbookError,
  TrainingError,
} from "./lib/errors.ts";
export type {
  EpochEvent,
  ErrorEvent,
  FinishEvent,
  LogEvent,
  PushEvent,
  RunStatus,
  SetupEvent,
  StartEvent,
  StatusEvent,
  TrainerEvent,
  TrainEvent,
} from "./lib/events.ts";

export {
  type Dataset,
  datasetFingerprint,
  type DatasetSplit,
  labelPathFor,
  loadDataset,
  writeTrainingYaml,
} from "./lib/dataset.ts";
export {
  type Finding,
  formatValidationReport,
  type SplitStats,
  validateDataset,
  type ValidateDatasetOptions,
  type ValidationReport,
} from "./lib/validate.ts";
export {
  type ImageFormat,
  type ImageInspection,
  type ImageProblem,
  inspectImage,
} from "./lib/image_header.ts";

export { train } from "./lib/train.ts";
export type { ResolvedTrainOptions, TrainOptions } from "./lib/train_options.ts";
export { formatDuration, type RunController, type RunResult, TrainingRun } from "./lib/run.ts";
export { inJupyter, watch, type WatchOptions } from "./lib/live.ts";
export { evaluate, type EvaluateOptions, type EvaluationResult, formatTestMetrics } from "./lib/evaluate.ts";
export type { ClassMetrics, TestMetrics } from "./lib/metrics.ts";
export {
  ensurePythonEnv,
  type PythonEnv,
  type PythonEnvEvent,
  type PythonEnvOptions,
} from "./lib/python_env.ts";

export {
  bestEpoch,
  parseResults,
  readResults,
  readRunArgs,
  type ResultsFormat,
  type ResultsRow,
  type ResultsTable,
  type RunArgs,
  type TaskKind,
} from "./lib/results.ts";
export type { Chart } from "./lib/charts.ts";
export {
  compareChart,
  confusionMatrixChart,
  testMetricsChart,
  toVegaLite,
  trainingCharts,
  writeCharts,
  writeReport,
} from "./lib/charts_api.ts";
export { type Displayable, JUPYTER_DISPLAY, type MimeBundle } from "./lib/display.ts";
export type { ReportInput } from "./lib/report.ts";
export { readTestMetrics, type RunReportFiles, writeRunReport } from "./lib/run_report.ts";

export {
  type ArtifactRecord,
  type EpochRecord,
  type EventRecord,
  History,
  type HistoryOpenOptions,
  Leaderboard,
  type LeaderboardOptions,
  type LeaderboardRow,
  type ListRunsFilter,
  RunComparison,
  RunDetails,
  RunList,
  type RunRecord,
  type RunSummary,
} from "./lib/history.ts";
export { importRun, type ImportRunOptions, type ImportRunResult } from "./lib/history_import.ts";

export { attach, type AttachOptions } from "./lib/jobs_backend.ts";
export { type HubConfig, hubConfig, type HubOptions, type RetryEvent } from "./lib/hub.ts";
export {
  login,
  type LoginOptions,
  resolveToken,
  whoami,
  type WhoamiInfo,
  type WhoamiOptions,
} from "./lib/credentials.ts";
export {
  type Accelerator,
  type HardwareFlavor,
  HardwareList,
  listHardware,
  validateFlavor,
} from "./lib/hardware.ts";
export {
  stageDataset,
  stageDatasetIter,
  type StageEvent,
  type StageOptions,
  type StageResult,
} from "./lib/stage.ts";
export { rerun, type RerunOptions } from "./lib/rerun.ts";
export {
  type Detection,
  formatPredictions,
  type ImagePrediction,
  type PixelBox,
  predict,
  predictionGallery,
  type PredictionGalleryOptions,
  type Predictions,
  type PredictOptions,
} from "./lib/predict.ts";
