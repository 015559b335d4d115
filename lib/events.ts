/**
 * Events a training run emits, for both backends. The Python trainer prints each
 * event as one line `TRAINBOOK_EVENT {json}` on stdout. The local backend reads
 * them from the child process, and the HF Jobs backend from the job's log stream.
 *
 * @module
 */

/** Prefix of every event line the Python scripts print. */
export const EVENT_PREFIX = "TRAINBOOK_EVENT ";

/** Lifecycle status of a run, as stored in the history. */
export type RunStatus =
  | "queued"
  | "running"
  | "completed"
  | "failed"
  | "cancelled"
  | "interrupted";

/** Statuses after which a run changes no more. */
export const TERMINAL_STATUSES: readonly RunStatus[] = ["completed", "failed", "cancelled", "interrupted"];

/** A status change. `stage` carries the backend's own stage name (HF Jobs: SCHEDULING, RUNNING, ...). */
export interface StatusEvent {
  /** Event kind. */
  type: "status";
  /** Status of the run from now on. */
  status: RunStatus;
  /** The backend's own stage name (HF Jobs: SCHEDULING, RUNNING, ...). */
  stage?: string;
  /** Reason for the change, when known. */
  message?: string;
  /** When the event happened, as an ISO 8601 UTC string. */
  time: string;
}

/** The trainer has loaded the model and data and starts epoch 1. */
export interface StartEvent {
  /** Event kind. */
  type: "start";
  /** Planned number of epochs. */
  epochs: number;
  /** Model YAML or weights file being trained. */
  model: string;
  /** Device Ultralytics trains on, such as "cpu" or "0,1". */
  device: string;
  /** Versions of python, torch and ultralytics in the trainer. */
  versions: Record<string, string>;
  /** When the event happened, as an ISO 8601 UTC string. */
  time: string;
}

/** One finished epoch with every metric Ultralytics logged for it (results.csv names). */
export interface EpochEvent {
  /** Event kind. */
  type: "epoch";
  /** 1-based epoch number. */
  epoch: number;
  /** Planned number of epochs. */
  epochs: number;
  /** Every results.csv column of the epoch, keyed by its Ultralytics name; null where the file contains nan. */
  metrics: Record<string, number | null>;
  /** Seconds since training started. */
  elapsedSeconds: number;
  /** Estimated seconds until the last planned epoch ends, from the mean epoch time so far. */
  etaSeconds: number;
  /** When the event happened, as an ISO 8601 UTC string. */
  time: string;
}

/** Training ended and the artifacts are in the run folder. */
export interface FinishEvent {
  /** Event kind. */
  type: "finish";
  /** Epoch with the best fitness (0.1 mAP50 + 0.9 mAP50-95), when validation ran. */
  bestEpoch?: number;
  /** Seconds since the trainer started. */
  elapsedSeconds: number;
  /** When the event happened, as an ISO 8601 UTC string. */
  time: string;
}

/** The trainer reported an error; a status event with `failed` follows. */
export interface ErrorEvent {
  /** Event kind. */
  type: "error";
  /** What failed. */
  message: string;
  /** When the event happened, as an ISO 8601 UTC string. */
  time: string;
}

/** A line of output that is not an event (kept for logs and error reports). */
export interface LogEvent {
  /** Event kind. */
  type: "log";
  /** The output line without its line ending, with tokens redacted. */
  line: string;
  /** Output stream the line came from. */
  stream: "stdout" | "stderr";
  /** When the event happened, as an ISO 8601 UTC string. */
  time: string;
}

/** A preparation step before training starts (Python environment, dataset, upload, job launch). */
export interface SetupEvent {
  /** Event kind. */
  type: "setup";
  /** The step, in words. */
  message: string;
  /** When the event happened, as an ISO 8601 UTC string. */
  time: string;
}

/** Artifacts were uploaded to the Hub model repository (remote runs). */
export interface PushEvent {
  /** Event kind. */
  type: "push";
  /** Hub model repository the files went to. */
  repo: string;
  /** Epoch after which the files were uploaded; null when none finished. */
  epoch: number | null;
  /** Whether this is the upload at the end of training. */
  final: boolean;
  /** Paths in the repository that were uploaded. */
  files: string[];
  /** When the event happened, as an ISO 8601 UTC string. */
  time: string;
}

/** Any event of a training run. */
export type TrainEvent =
  | StatusEvent
  | SetupEvent
  | StartEvent
  | EpochEvent
  | PushEvent
  | FinishEvent
  | ErrorEvent
  | LogEvent;

/** Events the Python trainer prints. */
export type TrainerEvent = StartEvent | EpochEvent | PushEvent | FinishEvent | ErrorEvent;

/**
 * Parses one output line. Returns the event for a `TRAINBOOK_EVENT` line with a
 * known type, and `undefined` for any other line (including malformed JSON).
 */
export function parseEventLine(line: string): TrainerEvent | undefined {
  const start = line.indexOf(EVENT_PREFIX);
  if (start < 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(start + EVENT_PREFIX.length));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const type = (parsed as { type?: unknown }).type;
  if (type === "start" || type === "epoch" || type === "push" || type === "finish" || type === "error") {
    return parsed as TrainerEvent;
  }
  return undefined;
}
