/**
 * Events a training run emits, for both backends. The Python trainer prints each
 * event as one line `TRAINBOOK_EVENT {json}` on stdout; the local backend reads
 * them from the child process and the HF Jobs backend from the job's log stream.
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
  type: "status";
  status: RunStatus;
  stage?: string;
  message?: string;
  time: string;
}

/** The trainer has loaded the model and data and starts epoch 1. */
export interface StartEvent {
  type: "start";
  epochs: number;
  model: string;
  device: string;
  versions: Record<string, string>;
  time: string;
}

/** One finished epoch with every metric Ultralytics logged for it (results.csv names). */
export interface EpochEvent {
  type: "epoch";
  /** 1-based epoch number. */
  epoch: number;
  /** Planned number of epochs. */
  epochs: number;
  metrics: Record<string, number | null>;
  /** Seconds since training started. */
  elapsedSeconds: number;
  /** Estimated seconds until the last planned epoch ends, from the mean epoch time so far. */
  etaSeconds: number;
  time: string;
}

/** Training ended and the artifacts are in the run folder. */
export interface FinishEvent {
  type: "finish";
  bestEpoch?: number;
  elapsedSeconds: number;
  time: string;
}

/** The trainer reported an error; a status event with `failed` follows. */
export interface ErrorEvent {
  type: "error";
  message: string;
  time: string;
}

/** A line of output that is not an event (kept for logs and error reports). */
export interface LogEvent {
  type: "log";
  line: string;
  stream: "stdout" | "stderr";
  time: string;
}

/** A preparation step before training starts (Python environment, dataset, upload, job launch). */
export interface SetupEvent {
  type: "setup";
  message: string;
  time: string;
}

/** Artifacts were uploaded to the Hub model repository (remote runs). */
export interface PushEvent {
  type: "push";
  repo: string;
  epoch: number | null;
  final: boolean;
  files: string[];
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
