/**
 * The run handle returned by `train()` for both backends: live events, status,
 * elapsed time, cancellation, and a promise of the final result.
 *
 * @module
 */
import type { EpochEvent, RunStatus, StatusEvent, TrainEvent } from "./events.ts";
import { escapeHtml } from "./display.ts";
import { TERMINAL_STATUSES } from "./events.ts";

/** Outcome of a finished run. */
export interface RunResult {
  /** Run id. */
  id: string;
  /** Final status. */
  status: RunStatus;
  /** Status message: the error for failed runs, the reason for cancelled or interrupted ones. */
  message?: string;
  /** The run folder, holding weights/, results.csv, args.yaml and the report. */
  dir: string;
  /** Epoch events received, in order. */
  epochs: EpochEvent[];
  /** Seconds from creation to the end. */
  elapsedSeconds: number;
  /** Last lines of the trainer's output, kept for failed runs. */
  logTail: string[];
}

/** Backend-specific work behind a {@linkcode TrainingRun}. */
export interface RunController {
  /** Stops the backend's work; the backend then finishes the run. */
  cancel(reason: string): Promise<void>;
}

const LOG_TAIL_LINES = 40;

/**
 * A training run in progress or finished. Events are buffered, so every call of
 * {@linkcode TrainingRun.events} replays the run from its first event and then
 * follows it live; several consumers may read at once.
 */
export class TrainingRun {
  /** Sortable run id. */
  readonly id: string;
  /** Run folder `training_runs/<id>/`. */
  readonly dir: string;
  /** "local" or "hf-jobs". */
  readonly backend: string;
  /** Planned epochs. */
  readonly epochsPlanned: number;
  /** When the run was created. */
  readonly createdAt: Date = new Date();
  /** Resolves when the run has ended, whatever the outcome; never rejects. */
  readonly done: Promise<RunResult>;
  /** Extra facts shown in displays (job id, dashboard URL, flavor). */
  readonly info: Record<string, string> = {};

  #events: TrainEvent[] = [];
  #waiters: (() => void)[] = [];
  #status: RunStatus = "queued";
  #stage?: string;
  #stageSince = Date.now();
  #finishedAt?: number;
  #resolveDone!: (result: RunResult) => void;
  #controller?: RunController;
  #cancelReason?: string;
  #logTail: string[] = [];

  /** Creates a handle; backends call this, users get handles from `train()` or `attach()`. */
  constructor(id: string, dir: string, backend: string, epochsPlanned: number) {
    this.id = id;
    this.dir = dir;
    this.backend = backend;
    this.epochsPlanned = epochsPlanned;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Current status. */
  get status(): RunStatus {
    return this.#status;
  }

  /** The backend's own stage name (HF Jobs: SCHEDULING, RUNNING, ...), when it has one. */
  get stage(): string | undefined {
    return this.#stage;
  }

  /** Seconds since the run was created, frozen when it ends. */
  get elapsedSeconds(): number {
    return ((this.#finishedAt ?? Date.now()) - this.createdAt.getTime()) / 1000;
  }

  /** Seconds spent in the current stage. */
  get stageElapsedSeconds(): number {
    return ((this.#finishedAt ?? Date.now()) - this.#stageSince) / 1000;
  }

  /** Epochs finished so far, in order. */
  get epochs(): EpochEvent[] {
    return this.#events.filter((event): event is EpochEvent => event.type === "epoch");
  }

  /** Estimated seconds left, from the latest epoch event; undefined before the first epoch. */
  get etaSeconds(): number | undefined {
    const last = this.epochs.at(-1);
    return last?.etaSeconds;
  }

  /** Yields every event of the run from the first, then live events until the run ends. */
  async *events(): AsyncGenerator<TrainEvent> {
    let index = 0;
    while (true) {
      while (index < this.#events.length) yield this.#events[index++];
      if (this.#finishedAt !== undefined) return;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Stops the run: the trainer process (local) or the job (HF Jobs) is cancelled. */
  async cancel(reason = "cancelled by the user"): Promise<RunResult> {
    if (this.#finishedAt === undefined) {
      // Before the backend has started its work, the request is kept and applied when it attaches.
      this.#cancelReason ??= reason;
      if (this.#controller) await this.#controller.cancel(reason);
    }
    return await this.done;
  }

  /** The reason given to {@linkcode TrainingRun.cancel}, once it was called. */
  get cancelRequested(): string | undefined {
    return this.#cancelReason;
  }

  /** Attaches the backend; called once by the backend that created the run. A pending cancel applies at once. */
  attachController(controller: RunController): void {
    this.#controller = controller;
    if (this.#cancelReason !== undefined) void controller.cancel(this.#cancelReason);
  }

  /** Adds an event and wakes the consumers; called by the backend. */
  push(event: TrainEvent): void {
    if (this.#finishedAt !== undefined) return;
    if (event.type === "status") this.#applyStatus(event);
    if (event.type === "log") {
      this.#logTail.push(event.line);
      if (this.#logTail.length > LOG_TAIL_LINES) this.#logTail.shift();
    }
    this.#events.push(event);
    this.#wake();
  }

  /** Ends the run with a terminal status; called by the backend once everything is recorded. */
  finish(status: RunStatus, message?: string): void {
    if (this.#finishedAt !== undefined) return;
    this.push({ type: "status", status, message, time: new Date().toISOString() });
    this.#finishedAt = Date.now();
    this.#wake();
    this.#resolveDone({
      id: this.id,
      status,
      message,
      dir: this.dir,
      epochs: this.epochs,
      elapsedSeconds: this.elapsedSeconds,
      logTail: [...this.#logTail],
    });
  }

  /** Last lines of trainer output. */
  get logTail(): string[] {
    return [...this.#logTail];
  }

  /** Whether the run has ended. */
  get finished(): boolean {
    return this.#finishedAt !== undefined;
  }

  #applyStatus(event: StatusEvent): void {
    if (event.stage !== this.#stage || event.status !== this.#status) this.#stageSince = Date.now();
    this.#status = event.status;
    if (event.stage !== undefined) this.#stage = event.stage;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** One-line summary: id, status, epoch and elapsed time. */
  toString(): string {
    const last = this.epochs.at(-1);
    const parts = [`run ${this.id}`, this.#stage ? `${this.#status} (${this.#stage})` : this.#status];
    if (last) parts.push(`epoch ${last.epoch}/${last.epochs}`);
    parts.push(`elapsed ${formatDuration(this.elapsedSeconds)}`);
    if (last && !TERMINAL_STATUSES.includes(this.#status)) {
      parts.push(`ETA ${formatDuration(last.etaSeconds)}`);
    }
    for (const [key, value] of Object.entries(this.info)) parts.push(`${key} ${value}`);
    return parts.join(" · ");
  }

  /** Jupyter display: the summary line as text and HTML. */
  [Symbol.for("Jupyter.display")](): Record<string, string> {
    return { "text/plain": this.toString(), "text/html": `<code>${escapeHtml(this.toString())}</code>` };
  }
}

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = whole % 60;
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, "0")}m`;
  if (minutes > 0) return `${minutes}m${String(secs).padStart(2, "0")}s`;
  return `${secs}s`;
}
