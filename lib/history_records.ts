/**
 * Records of the run history: a run, one epoch's metrics, an artifact and an
 * event, as the History class stores and returns them.
 *
 * @module
 */
import type { RunStatus } from "./events.ts";

/** A training run as stored in the history. */
export interface RunRecord {
  /** Unique run id. */
  id: string;
  /** ISO 8601 time the run was created. */
  createdAt: string;
  /** ISO 8601 time training started. */
  startedAt?: string;
  /** ISO 8601 time the run reached a terminal status. */
  finishedAt?: string;
  /** Training backend; "imported" for run folders trained elsewhere. */
  backend: "local" | "hf-jobs" | "imported";
  /** Hugging Face Jobs hardware flavor, such as "t4-small". */
  flavor?: string;
  /** Hugging Face job id. */
  jobId?: string;
  /** Web page of the Hugging Face job. */
  jobUrl?: string;
  /** Namespace that owns the Hugging Face job. */
  jobOwner?: string;
  /** Lifecycle status. */
  status: RunStatus;
  /** Reason for the status, such as the error text of a failed run. */
  statusMessage?: string;
  /** Local data.yaml or dataset folder. */
  datasetPath?: string;
  /** Hugging Face dataset repo id. */
  datasetRepo?: string;
  /** Content hash of the dataset, to tell versions apart. */
  datasetFingerprint?: string;
  /** Model weights or YAML the run started from. */
  model: string;
  /** Ultralytics task: detect, segment, pose, obb, classify. */
  task?: string;
  /** Training arguments as passed to Ultralytics. */
  args: Record<string, unknown>;
  /** Versions of the software involved, by package name. */
  versions: Record<string, string>;
  /** Random seed passed to Ultralytics. */
  seed?: number;
  /** Commit of the project repository the run was started from. */
  gitCommit?: string;
  /** Folder with the run's weights and results.csv. */
  runDir?: string;
  /** Process id of the trainer, for crash detection. */
  pid?: number;
  /** Host the trainer runs on, for crash detection. */
  hostname?: string;
  /** Epochs the run was started with. */
  epochsPlanned?: number;
  /** For imported runs: SHA-256 of the run folder's path and results.csv, so that a folder is imported once. */
  importKey?: string;
}

/** One epoch's metrics, named as the columns of Ultralytics' results.csv. */
export interface EpochRecord {
  /** Epoch number as Ultralytics counts it. */
  epoch: number;
  /** Training segment: 1 for the first, incremented each time training resumes or restarts. @default {1} */
  segment?: number;
  /** Metric values; NaN and null are stored as NULL. */
  metrics: Record<string, number | null>;
}

/** A file a run produced. */
export interface ArtifactRecord {
  /** File path, relative to the run folder when inside it. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
  /** File kind, such as "weights" or "plot". */
  kind?: string;
}

/** Something that happened during a run. */
export interface EventRecord {
  /** Event kind, such as "start", "status" or "error". */
  type: string;
  /** Human-readable text. */
  message?: string;
  /** ISO 8601 time. @default {now} */
  time?: string;
  /** Any JSON-serialisable detail. */
  data?: unknown;
}
