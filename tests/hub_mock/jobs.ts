/**
 * Jobs of the mock Hub: the JobInfo records, their lifecycle (SCHEDULING,
 * RUNNING, then COMPLETED, ERROR or CANCELED), the runner that does the work,
 * and the log history the SSE endpoint replays.
 *
 * @module
 */
import type { JobRunner } from "./runner.ts";

/** Job lifecycle faults; set them with `MockHub.setJobFaults()`. */
export interface JobFaults {
  /** Milliseconds a job stays in SCHEDULING. */
  schedulingMs?: number;
  /** Each of the first `times` log streams closes after `afterLines` data lines while the job runs. */
  dropLogStream?: { afterLines: number; times?: number };
  /** The job ends in ERROR with `message` after running `afterMs`. */
  error?: { afterMs: number; message?: string };
  /** The job ends in ERROR with the message "Job timeout" after running `afterMs`. */
  timeoutAfterMs?: number;
}

/** The stages a mock job goes through. */
export type MockStage = "SCHEDULING" | "RUNNING" | "COMPLETED" | "CANCELED" | "ERROR" | "DELETED";

/** Stages after which a job changes no more. */
export const TERMINAL_STAGES: readonly MockStage[] = ["COMPLETED", "CANCELED", "ERROR", "DELETED"];

/** Owner or initiator of a job. */
export interface JobAccount {
  id: string;
  name: string;
  type: "user" | "org";
}

/** A job, in the JobInfo shape the Hub returns. */
export interface JobInfo {
  type: "job";
  id: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  dockerImage?: string;
  spaceId?: string;
  command: string[];
  arguments: string[];
  environment: Record<string, string>;
  /** Names only; the values never leave the mock. */
  secrets: string[];
  flavor: string;
  arch: string;
  timeoutSeconds: number;
  attempts: number;
  labels: Record<string, string>;
  volumes: unknown[];
  status: { stage: MockStage; message: string | null; failureCount: number };
  durations: { schedulingSecs: number; runningSecs: number; totalSecs: number };
  owner: JobAccount;
  initiator: JobAccount;
  createdBy: { id: string; name: string };
}

/** One line of a job's log, as the SSE endpoint sends it. */
export interface LogLine {
  data: string;
  timestamp: string;
}

/** A job with its private state. */
export interface MockJob {
  info: JobInfo;
  secretValues: Record<string, string>;
  logs: LogLine[];
  faults: JobFaults;
  /** Log streams opened so far, for the drop fault. */
  streamsOpened: number;
  /** Called whenever a log line arrives or the stage changes. */
  listeners: Set<() => void>;
  abort: AbortController;
  /** Pending timers of this job (start, timeout, error fault). */
  timers: Set<ReturnType<typeof setTimeout>>;
  /** Resolves when the job reaches a terminal stage. */
  done: Promise<void>;
  markDone: () => void;
}

/** Starts, tracks and stops mock jobs. */
export class JobStore {
  readonly jobs = new Map<string, MockJob>();
  #running = new Set<Promise<void>>();

  constructor(
    private readonly runner: () => JobRunner,
    private readonly environment: () => Record<string, string>,
  ) {}

  /** Registers a job and schedules it; the job starts running after `schedulingMs`. */
  start(info: JobInfo, secretValues: Record<string, string>, faults: JobFaults): MockJob {
    let markDone!: () => void;
    const done = new Promise<void>((resolve) => (markDone = resolve));
    const job: MockJob = {
      info,
      secretValues,
      logs: [],
      faults,
      streamsOpened: 0,
      listeners: new Set(),
      abort: new AbortController(),
      timers: new Set(),
      done,
      markDone,
    };
    this.jobs.set(info.id, job);
    this.#later(job, faults.schedulingMs ?? 20, () => {
      const running = this.#run(job).finally(() => this.#running.delete(running));
      this.#running.add(running);
    });
    return job;
  }

  /** Cancels a job that has not ended; returns its info either way. */
  cancel(job: MockJob): JobInfo {
    if (!this.isTerminal(job)) this.#finish(job, "CANCELED", null);
    return job.info;
  }

  /** Returns whether the job has reached a terminal stage. */
  isTerminal(job: MockJob): boolean {
    return TERMINAL_STAGES.includes(job.info.status.stage);
  }

  /** Refreshes the durations of a job that is still going. */
  refresh(job: MockJob): JobInfo {
    if (!this.isTerminal(job)) this.#updateDurations(job);
    return job.info;
  }

  /** Stops every job and timer, for shutdown. */
  async stopAll(): Promise<void> {
    for (const job of this.jobs.values()) this.cancel(job);
    await Promise.all([...this.#running]);
  }

  #later(job: MockJob, ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      job.timers.delete(timer);
      action();
    }, ms);
    job.timers.add(timer);
  }

  async #run(job: MockJob): Promise<void> {
    if (this.isTerminal(job)) return;
    const now = new Date().toISOString();
    job.info.startedAt = now;
    this.#setStage(job, "RUNNING", null);
    this.#log(job, `===== Job started at ${now} =====`);

    const limitMs = job.info.timeoutSeconds * 1000;
    this.#later(job, job.faults.timeoutAfterMs ?? limitMs, () => this.#end(job, "ERROR", "Job timeout"));
    if (job.faults.error) {
      this.#later(
        job,
        job.faults.error.afterMs,
        () => this.#end(job, "ERROR", job.faults.error?.message ?? "Job failed"),
      );
    }

    let exitCode = 1;
    try {
      const run = await this.runner()({
        id: job.info.id,
        command: job.info.command,
        arguments: job.info.arguments,
        env: { ...job.info.environment, ...job.secretValues, ...this.environment(), JOB_ID: job.info.id },
      }, job.abort.signal);
      for await (const line of run.lines) this.#log(job, line);
      exitCode = await run.exitCode;
    } catch (error) {
      this.#log(job, `mock Hub: the job runner failed: ${error instanceof Error ? error.message : error}`);
    }
    this.#end(
      job,
      exitCode === 0 ? "COMPLETED" : "ERROR",
      exitCode === 0 ? null : `Job failed with exit code: ${exitCode}`,
    );
  }

  #end(job: MockJob, stage: MockStage, message: string | null): void {
    if (!this.isTerminal(job)) this.#finish(job, stage, message);
  }

  #finish(job: MockJob, stage: MockStage, message: string | null): void {
    for (const timer of job.timers) clearTimeout(timer);
    job.timers.clear();
    job.info.finishedAt = new Date().toISOString();
    this.#setStage(job, stage, message);
    job.abort.abort();
    job.markDone();
  }

  #setStage(job: MockJob, stage: MockStage, message: string | null): void {
    job.info.status = { stage, message, failureCount: stage === "ERROR" ? 1 : 0 };
    job.info.updatedAt = new Date().toISOString();
    this.#updateDurations(job);
    for (const listener of job.listeners) listener();
  }

  #log(job: MockJob, data: string): void {
    if (this.isTerminal(job)) return;
    job.logs.push({ data, timestamp: new Date().toISOString() });
    for (const listener of job.listeners) listener();
  }

  #updateDurations(job: MockJob): void {
    const created = Date.parse(job.info.createdAt);
    const started = job.info.startedAt ? Date.parse(job.info.startedAt) : undefined;
    const end = job.info.finishedAt ? Date.parse(job.info.finishedAt) : Date.now();
    const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));
    job.info.durations = {
      schedulingSecs: seconds((started ?? end) - created),
      runningSecs: started === undefined ? 0 : seconds(end - started),
      totalSecs: seconds(end - created),
    };
  }
}

/** Builds the SSE body of `GET /api/jobs/{ns}/{id}/logs`: history, then live lines, until the job ends. */
export function logStream(
  job: MockJob,
  options: {
    tail?: number;
    keepAliveMs: number;
    isTerminal: () => boolean;
    register: (close: () => void) => () => void;
  },
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  job.streamsOpened++;
  const drop = job.faults.dropLogStream;
  const dropAfter = drop && job.streamsOpened <= (drop.times ?? 1) ? drop.afterLines : Infinity;

  let sent = 0;
  let next = options.tail !== undefined ? Math.max(0, job.logs.length - options.tail) : 0;
  let cleanup = () => {};

  return new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        cleanup();
        try {
          controller.close();
        } catch {
          // The client went away first.
        }
      };
      const flush = () => {
        while (!closed && next < job.logs.length) {
          controller.enqueue(encoder.encode(`data: ${JSON.stringify(job.logs[next++])}\n\n`));
          sent++;
          if (sent >= dropAfter && !options.isTerminal()) return close();
        }
        if (options.isTerminal()) close();
      };
      const keepAlive = setInterval(
        () => controller.enqueue(encoder.encode(": keep-alive\n\n")),
        options.keepAliveMs,
      );
      const unregister = options.register(close);
      job.listeners.add(flush);
      cleanup = () => {
        clearInterval(keepAlive);
        job.listeners.delete(flush);
        unregister();
      };
      flush();
    },
    cancel() {
      cleanup();
    },
  });
}
