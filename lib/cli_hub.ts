// deno-lint-ignore-file no-console
/**
 * Commands that talk to the Hugging Face Hub: `stage`, `status`, `logs`,
 * `cancel`, `fetch`, `hardware` and `login`. A Hub request that fails after the
 * retries exits with 1; a missing or rejected token and other invalid input with 2.
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cancelJob, getJob, streamJobLogs } from "@huggingface/hub";
import type { Command } from "./_cli.ts";
import { ArtifactError, downloadArtifact, listRemoteFiles } from "./artifacts.ts";
import { HISTORY_OPTION_HELP, HISTORY_OPTIONS, openHistory, runsDirFrom } from "./cli_runs.ts";
import { login, requireToken, tokenPath } from "./credentials.ts";
import { HubError, OptionsError, redactTokens } from "./errors.ts";
import { parseEventLine, TERMINAL_STATUSES } from "./events.ts";
import { listHardware } from "./hardware.ts";
import type { RunDetails, RunRecord } from "./history.ts";
import { type HubConfig, hubConfig, hubParams, resolveEndpoint, toHubError, withHubErrors } from "./hub.ts";
import { formatEventLine } from "./progress.ts";
import { readResults } from "./results.ts";
import { formatDuration } from "./run.ts";
import { writeRunReport } from "./run_report.ts";
import { stageDatasetIter, type StageEvent } from "./stage.ts";

const HUB_OPTION_HELP =
  `  --endpoint URL     Hub URL  [$TRAINBOOK_HF_ENDPOINT, else $HF_ENDPOINT, else https://huggingface.co]`;
const TOKEN_NOTE = "The access token comes from HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the token\n" +
  "file that `deno task login` writes.";
const JOB_OPTIONS = { endpoint: { type: "string" }, ...HISTORY_OPTIONS, json: { type: "boolean" } } as const;

/** Job stages after which a job changes no more. */
const TERMINAL_STAGES = ["COMPLETED", "CANCELED", "CANCELLED", "ERROR", "DELETED"];
/** Platform lines in a job's log that are not the job's own output. */
const PLATFORM_LINE = /^===== /;
/** Files a training job pushes to its model repository, the same list the Jobs backend downloads. */
const ARTIFACT_FILES = ["weights/best.pt", "weights/last.pt", "results.csv", "results.png", "args.yaml"];

/** Runs `work`, turning a failed Hub request or download into a one-line error and exit code 1. */
async function exitOnHubFailure(work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof HubError || error instanceof ArtifactError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
}

/** Reads one run from the history that `--history` / `--runs-dir` name. */
async function readRun(values: Record<string, unknown>, id: string): Promise<RunDetails> {
  const history = await openHistory(values);
  try {
    return await history.getRun(id);
  } finally {
    await history.close();
  }
}

/** The job of an HF Jobs run and the connection to reach it. */
interface JobTarget {
  config: HubConfig;
  namespace: string;
  jobId: string;
}

/** Returns the job of `run`, or throws {@linkcode OptionsError} with `localHint` as the fix when the run has no job. */
function jobTarget(run: RunRecord, values: Record<string, unknown>, localHint: string): JobTarget {
  if (run.backend !== "hf-jobs" || !run.jobId) {
    throw new OptionsError(`Run ${run.id} (backend ${run.backend}) has no HF Jobs job`, {
      hint: localHint,
    });
  }
  const config = hubConfig({ endpoint: values.endpoint as string | undefined });
  requireToken(config.token);
  // Older records lack the owner; the dashboard URL ends in /jobs/<owner>/<id>.
  const namespace = run.jobOwner ?? run.jobUrl?.split("/").at(-2) ?? "";
  return { config, namespace, jobId: run.jobId };
}

function jobContext(target: JobTarget, action: string) {
  return { action, endpoint: target.config.endpoint, jobId: target.jobId, namespace: target.namespace };
}

function jobParams(target: JobTarget) {
  return { namespace: target.namespace, jobId: target.jobId, ...hubParams(target.config) };
}

function pollMs(): number {
  return Number(Deno.env.get("TRAINBOOK_JOBS_POLL_MS") ?? 5000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** Prints `label value` pairs with the values aligned, skipping empty values. */
function printFields(fields: [string, unknown][]): void {
  const shown = fields.filter(([, value]) => value !== undefined && value !== null && value !== "");
  const width = Math.max(...shown.map(([label]) => label.length));
  for (const [label, value] of shown) console.log(`${label.padEnd(width)}  ${value}`);
}

// ---------------------------------------------------------------------------
// stage

/** `deno task stage PATH`: uploads a dataset to a Hub dataset repository. */
export const stageCommand: Command = {
  summary: "upload a dataset to a Hub dataset repository for HF Jobs runs",
  usage: `Usage: deno task stage PATH [options]

Validates the dataset at PATH (a folder containing data.yaml, or the YAML file), then
uploads what changed to a Hub dataset repository in commits of at most 100 files,
printing one line per commit with its files and bytes. An unchanged dataset
uploads nothing. Ctrl-C stops the staging between steps.
${TOKEN_NOTE}

Options:
  --repo NS/NAME     dataset repository  [the folder's name, in the token owner's namespace]
  --public           create the repository as public  [private]
  --rehash           hash every file again, even when size and mtime are unchanged
${HUB_OPTION_HELP}
  --json             print events and the result as JSON lines`,
  options: {
    repo: { type: "string" },
    public: { type: "boolean" },
    rehash: { type: "boolean" },
    endpoint: { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, positionals) {
    if (!positionals[0]) {
      console.error("error: pass the dataset folder or its data.yaml");
      return 2;
    }
    const abort = new AbortController();
    const onSignal = () => abort.abort(new Error("staging cancelled with Ctrl-C"));
    Deno.addSignalListener("SIGINT", onSignal);
    try {
      return await exitOnHubFailure(async () => {
        const steps = stageDatasetIter(positionals[0], {
          repo: values.repo as string | undefined,
          private: !values.public,
          rehash: Boolean(values.rehash),
          endpoint: values.endpoint as string | undefined,
          signal: abort.signal,
        });
        const printer = stagePrinter(Boolean(values.json));
        let step = await steps.next();
        while (!step.done) {
          printer(step.value);
          step = await steps.next();
        }
        const result = step.value;
        if (values.json) {
          console.log(JSON.stringify({ type: "result", ...result }));
          return 0;
        }
        console.log(`\nStaged ${result.repo}: ${result.url}`);
        console.log(
          `Uploaded ${result.filesUploaded} files (${formatBytes(result.bytesUploaded)}) ` +
            `in ${result.commits} commits`,
        );
        return 0;
      });
    } finally {
      Deno.removeSignalListener("SIGINT", onSignal);
    }
  },
};

/** Returns a function that prints one staging event; upload progress updates one line in place on a terminal. */
function stagePrinter(json: boolean): (event: StageEvent) => void {
  const terminal = Deno.stdout.isTerminal();
  let inPlace = false;
  const line = (text: string) => {
    if (inPlace) Deno.stdout.writeSync(new TextEncoder().encode("\r\x1b[K"));
    inPlace = false;
    console.log(text);
  };
  return (event) => {
    if (json) return console.log(JSON.stringify(event));
    switch (event.type) {
      case "scan":
        return line(`· scanned ${event.files} files (${formatBytes(event.bytes)})`);
      case "warning":
        return line(`! ${event.message} (${event.count}×, such as ${event.examples.slice(0, 2).join(", ")})`);
      case "validated":
        return line(
          event.reused
            ? "· unchanged since the last staging, so validation was skipped"
            : `· dataset valid (${event.warnings} warnings)`,
        );
      case "repo":
        return line(`· ${event.created ? "created" : "using"} ${event.url}`);
      case "plan":
        return line(
          `· ${event.upload} files to upload (${formatBytes(event.uploadBytes)}), ` +
            `${event.unchanged} unchanged, ${event.delete} to delete`,
        );
      case "commit":
        return line(
          `· commit ${event.index}/${event.total}: ${event.files} files, ${formatBytes(event.bytes)} ` +
            `(${event.oid.slice(0, 8)})`,
        );
      case "progress":
        // Plain output (a pipe or a file) gets the commit lines only.
        if (!terminal) return;
        Deno.stdout.writeSync(new TextEncoder().encode(
          `\r\x1b[K  uploaded ${event.filesUploaded}/${event.filesTotal} files, ` +
            `${formatBytes(event.bytesUploaded)} of ${formatBytes(event.bytesTotal)}`,
        ));
        inPlace = true;
    }
  };
}

// ---------------------------------------------------------------------------
// status

/** `deno task status RUN_ID`: a run's status, with the live job stage for HF Jobs runs. */
export const statusCommand: Command = {
  summary: "show a run's status, and the live job stage of an HF Jobs run",
  usage: `Usage: deno task status RUN_ID [options]

Shows the run's status from the history, its last epoch and elapsed time. For an
HF Jobs run it also asks the Hub for the job's current stage and prints the
dashboard URL. Exit code 1 when the Hub cannot be reached (the history part is
still printed). RUN_ID may be a unique prefix of a run id.
${TOKEN_NOTE}

Options:
${HUB_OPTION_HELP}
${HISTORY_OPTION_HELP}
  --json             print the status as JSON`,
  options: JOB_OPTIONS,
  async run(values, positionals) {
    if (!positionals[0]) {
      console.error("error: pass a run id (list them with `deno task runs`)");
      return 2;
    }
    const details = await readRun(values, positionals[0]);
    const run = details.run;
    const last = details.epochs.at(-1);
    const status: Record<string, unknown> = {
      id: run.id,
      backend: run.backend,
      flavor: run.flavor,
      status: run.status,
      statusMessage: run.statusMessage,
      epoch: last?.epoch,
      epochsPlanned: run.epochsPlanned,
      mAP50_95: last?.metrics["metrics/mAP50-95(B)"] ?? undefined,
      // An imported run stores the time of its results.csv only, so its training time is unknown.
      elapsedSeconds: run.backend === "imported"
        ? undefined
        : elapsedSeconds(run.startedAt ?? run.createdAt, run.finishedAt, run.status),
      dashboard: run.jobUrl,
      runDir: run.runDir ?? join(runsDirFrom(values), run.id),
    };

    let failure: HubError | undefined;
    if (run.backend === "hf-jobs" && run.jobId) {
      try {
        const target = jobTarget(run, values, "");
        const job = await withHubErrors(
          jobContext(target, "inspect the job"),
          () => getJob(jobParams(target)),
        );
        const terminal = TERMINAL_STAGES.includes(job.status.stage);
        status.job = {
          id: job.id,
          owner: target.namespace,
          stage: job.status.stage,
          message: job.status.message,
        };
        status.elapsedSeconds = elapsedSeconds(
          job.startedAt ?? job.createdAt,
          job.finishedAt ?? undefined,
          terminal ? "completed" : "running",
        );
      } catch (error) {
        if (!(error instanceof HubError)) throw error;
        failure = error;
      }
    }

    if (values.json) console.log(JSON.stringify(status, null, 2));
    else printStatus(status);
    if (failure) console.error(`error: ${failure.message}`);
    return failure ? 1 : 0;
  },
};

/** Seconds from `start` to `end`, or to now while the run is not over; undefined when unknown. */
function elapsedSeconds(
  start: string | undefined,
  end: string | undefined,
  status: string,
): number | undefined {
  if (!start) return undefined;
  const over = (TERMINAL_STATUSES as readonly string[]).includes(status);
  if (!end && over) return undefined;
  const seconds = ((end ? Date.parse(end) : Date.now()) - Date.parse(start)) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, Math.round(seconds)) : undefined;
}

function printStatus(status: Record<string, unknown>): void {
  const job = status.job as { id: string; stage: string; message?: string | null } | undefined;
  const epochs = status.epoch === undefined ? undefined : `${status.epoch}/${status.epochsPlanned ?? "?"}` +
    (typeof status.mAP50_95 === "number" ? ` (mAP50-95 ${status.mAP50_95.toFixed(3)})` : "");
  printFields([
    ["run", status.id],
    ["backend", status.flavor ? `${status.backend} on ${status.flavor}` : status.backend],
    ["status", status.statusMessage ? `${status.status}: ${status.statusMessage}` : status.status],
    ["job", job ? `${job.id} ${job.stage}${job.message ? `: ${job.message}` : ""}` : undefined],
    ["epoch", epochs],
    [
      "elapsed",
      typeof status.elapsedSeconds === "number" ? formatDuration(status.elapsedSeconds) : undefined,
    ],
    ["dashboard", status.dashboard],
    ["run folder", status.runDir],
  ]);
}

// ---------------------------------------------------------------------------
// logs

/** `deno task logs RUN_ID`: a job's log, or the events a local run recorded. */
export const logsCommand: Command = {
  summary: "print an HF Jobs run's log, or the events a local run recorded",
  usage: `Usage: deno task logs RUN_ID [options]

For an HF Jobs run, prints the job's log from its start: the trainer's event lines
formatted as epoch and status lines, other output as it is, platform "=====" lines
left out. Without --follow it prints the lines logged so far and stops once the
stream has been quiet for 2 seconds. For other runs, prints the events recorded in
the history. RUN_ID may be a unique prefix of a run id.
${TOKEN_NOTE}

Options:
  --follow, -f       keep printing until the job (or local run) ends, polling every
                     $TRAINBOOK_JOBS_POLL_MS milliseconds  [5000]
${HUB_OPTION_HELP}
${HISTORY_OPTION_HELP}
  --json             print one JSON object per event or log line`,
  options: { ...JOB_OPTIONS, follow: { type: "boolean", short: "f" } },
  async run(values, positionals) {
    if (!positionals[0]) {
      console.error("error: pass a run id (list them with `deno task runs`)");
      return 2;
    }
    const details = await readRun(values, positionals[0]);
    const options = { follow: Boolean(values.follow), json: Boolean(values.json) };
    if (details.run.backend === "hf-jobs" && details.run.jobId) {
      const target = jobTarget(details.run, values, "");
      return await exitOnHubFailure(() => printJobLog(target, options));
    }
    return await printRecordedEvents(details, values, options);
  },
};

/** Returns a function that prints one log line of a job, formatted, redacted, or as JSON. */
function logLinePrinter(json: boolean): (message: string) => void {
  return (message) => {
    if (PLATFORM_LINE.test(message)) return;
    const event = parseEventLine(message);
    if (json) {
      console.log(JSON.stringify(event ?? { type: "log", line: redactTokens(message) }));
      return;
    }
    const line = event ? formatEventLine(event, true) : redactTokens(message);
    if (line !== undefined) console.log(line);
  };
}

async function printJobLog(target: JobTarget, options: { follow: boolean; json: boolean }): Promise<number> {
  const print = logLinePrinter(options.json);
  if (!options.follow) {
    await readLogSoFar(target, print);
    return 0;
  }

  // The stream replays the log from the start, so a reconnect skips the lines already printed.
  // The loop ends after one full read that began after the job had ended, so no line is lost.
  let printed = 0;
  let stage = "";
  let dropped = 0;
  while (true) {
    const endedBefore = TERMINAL_STAGES.includes(stage);
    const abort = new AbortController();
    const watch = watchStage(target, (next) => (stage = next), abort);
    let index = 0;
    try {
      const streamFetch: typeof fetch = (input, init) =>
        target.config.fetch(input, { ...init, signal: abort.signal });
      for await (const entry of streamJobLogs({ ...jobParams(target), fetch: streamFetch })) {
        if (index++ < printed) continue;
        printed++;
        print(entry.message);
      }
      dropped = 0;
    } catch (error) {
      if (!abort.signal.aborted) {
        const failure = toHubError(error, jobContext(target, "read the job's log"));
        // An HTTP error (401, 404) will not go away by reconnecting; a dropped connection may.
        const httpError = failure instanceof HubError && failure.status !== undefined;
        if (httpError || ++dropped > 5) throw failure;
        console.error(`warning: the log stream dropped (${(failure as Error).message}); reconnecting`);
      }
    } finally {
      clearInterval(watch);
    }
    const job = await withHubErrors(jobContext(target, "inspect the job"), () => getJob(jobParams(target)));
    stage = job.status.stage;
    if (endedBefore && TERMINAL_STAGES.includes(stage)) {
      const message = job.status.message ?? undefined;
      if (options.json) console.log(JSON.stringify({ type: "status", stage, message }));
      else console.log(`· job ${target.jobId} ended: ${stage}${message ? ` (${message})` : ""}`);
      return 0;
    }
    if (!TERMINAL_STAGES.includes(stage)) await sleep(Math.min(pollMs(), 2000));
  }
}

/** Polls the job's stage; once it is terminal, aborts the stream 3 seconds later, because a stream can stay open after the job ends. */
function watchStage(
  target: JobTarget,
  onStage: (stage: string) => void,
  abort: AbortController,
): ReturnType<typeof setInterval> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = setInterval(async () => {
    try {
      const stage = (await getJob(jobParams(target))).status.stage;
      onStage(stage);
      if (timer === undefined && TERMINAL_STAGES.includes(stage)) {
        timer = setTimeout(() => abort.abort(), 3000);
      }
    } catch {
      // The loop's own getJob after the stream reports a lasting failure.
    }
  }, pollMs());
  abort.signal.addEventListener("abort", () => clearTimeout(timer));
  return watch;
}

/**
 * Prints the lines logged before this call. The stream stays open while the job
 * runs, so reading stops at the first line stamped after the call started, or
 * once no line has arrived for 2 seconds.
 */
async function readLogSoFar(target: JobTarget, print: (message: string) => void): Promise<void> {
  // NOTE: the 2-second margin absorbs small clock differences between this machine and the Hub.
  const cutoff = Date.now() + 2000;
  const abort = new AbortController();
  let idle: ReturnType<typeof setTimeout> | undefined;
  const restartIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(), 2000);
  };
  const streamFetch: typeof fetch = async (input, init) => {
    const response = await target.config.fetch(input, { ...init, signal: abort.signal });
    restartIdle();
    return response;
  };
  try {
    for await (const entry of streamJobLogs({ ...jobParams(target), fetch: streamFetch })) {
      if (entry.timestamp.getTime() > cutoff) break;
      restartIdle();
      print(entry.message);
    }
  } catch (error) {
    if (!abort.signal.aborted) throw toHubError(error, jobContext(target, "read the job's log"));
  } finally {
    clearTimeout(idle);
    abort.abort();
  }
}

async function printRecordedEvents(
  details: RunDetails,
  values: Record<string, unknown>,
  options: { follow: boolean; json: boolean },
): Promise<number> {
  let printed = 0;
  let current = details;
  while (true) {
    for (const event of current.events.slice(printed)) {
      if (options.json) console.log(JSON.stringify(event));
      else console.log(`${event.time ?? ""}  ${event.type}${event.message ? `  ${event.message}` : ""}`);
    }
    printed = current.events.length;
    if (!options.follow || TERMINAL_STATUSES.includes(current.run.status)) break;
    await sleep(pollMs());
    current = await readRun(values, current.run.id);
  }
  if (printed === 0 && !options.json) console.log(`(run ${details.run.id} has no recorded events)`);
  return 0;
}

// ---------------------------------------------------------------------------
// cancel

const LOCAL_CANCEL_HINT = "Stop a local run with Ctrl-C in the terminal that runs it, or with " +
  "run.cancel() in its notebook; imported runs have nothing to stop";

/** `deno task cancel RUN_ID`: cancels an HF Jobs run's job. */
export const cancelCommand: Command = {
  summary: "cancel the job of an HF Jobs run and mark the run cancelled",
  usage: `Usage: deno task cancel RUN_ID [options]

Cancels the HF Jobs job of the run and marks the run cancelled in the history. A
job that has already ended is left as it is (exit code 0). Local runs cannot be
reached from here: stop them with Ctrl-C in their terminal or run.cancel() in
their notebook (exit code 2). RUN_ID may be a unique prefix of a run id.
${TOKEN_NOTE}

Options:
${HUB_OPTION_HELP}
${HISTORY_OPTION_HELP}
  --json             print the outcome as JSON`,
  options: JOB_OPTIONS,
  async run(values, positionals) {
    if (!positionals[0]) {
      console.error("error: pass a run id (list them with `deno task runs`)");
      return 2;
    }
    const { run } = await readRun(values, positionals[0]);
    const target = jobTarget(run, values, LOCAL_CANCEL_HINT);
    return await exitOnHubFailure(async () => {
      const job = await withHubErrors(jobContext(target, "inspect the job"), () => getJob(jobParams(target)));
      const before = job.status.stage;
      if (TERMINAL_STAGES.includes(before)) {
        if (values.json) {
          console.log(JSON.stringify({ id: run.id, jobId: target.jobId, cancelled: false, stage: before }));
        } else {console.log(
            `Job ${target.jobId} of run ${run.id} already ended (${before}); nothing to cancel.`,
          );}
        return 0;
      }

      await withHubErrors(jobContext(target, "cancel the job"), () => cancelJob(jobParams(target)));
      const history = await openHistory(values);
      try {
        const message = `cancelled with deno task cancel while the job was ${before}`;
        await history.updateRun(run.id, {
          status: "cancelled",
          statusMessage: message,
          finishedAt: new Date().toISOString(),
        });
        await history.recordEvent(run.id, { type: "status", message: `cancelled: ${message}` });
      } finally {
        await history.close();
      }
      if (values.json) {
        console.log(JSON.stringify({ id: run.id, jobId: target.jobId, cancelled: true, stage: before }));
      } else console.log(`Cancelled job ${target.jobId} of run ${run.id} (it was ${before}).`);
      return 0;
    });
  },
};

// ---------------------------------------------------------------------------
// fetch

/** `deno task fetch RUN_ID`: downloads an HF Jobs run's artifacts again. */
export const fetchCommand: Command = {
  summary: "download and verify an HF Jobs run's artifacts again, then rewrite its report",
  usage: `Usage: deno task fetch RUN_ID [options]

Downloads what the run's job pushed to its model repository (weights/best.pt,
weights/last.pt, results.csv, results.png, args.yaml) into the run folder,
checks each file's size and hash against the Hub, records the files and epochs
in the history, and rewrites charts and report.html. Works while the job runs
too, fetching what it has pushed so far. Exit code 1 when the repository has
none of these files or a download fails. RUN_ID may be a unique prefix of a run id.
${TOKEN_NOTE}

Options:
${HUB_OPTION_HELP}
${HISTORY_OPTION_HELP}
  --json             print the downloaded files as JSON`,
  options: JOB_OPTIONS,
  async run(values, positionals) {
    if (!positionals[0]) {
      console.error("error: pass a run id (list them with `deno task runs`)");
      return 2;
    }
    const { run } = await readRun(values, positionals[0]);
    const target = jobTarget(run, values, "A local run's files are already in its run folder");
    const modelRepo = String(run.args.modelRepo ?? "");
    if (!modelRepo) {
      throw new OptionsError(`Run ${run.id} has no model repository in its history record`, {
        hint: "Runs started before the Jobs backend recorded args.modelRepo cannot be fetched",
      });
    }
    const dir = run.runDir ?? join(runsDirFrom(values), run.id);
    return await exitOnHubFailure(() => fetchArtifacts(run, target.config, modelRepo, dir, values));
  },
};

async function fetchArtifacts(
  run: RunRecord,
  config: HubConfig,
  modelRepo: string,
  dir: string,
  values: Record<string, unknown>,
): Promise<number> {
  const context = { action: "download the run's artifacts", endpoint: config.endpoint, repo: modelRepo };
  const remote = await withHubErrors(context, () => listRemoteFiles(config, modelRepo));
  const wanted = remote.filter((file) => ARTIFACT_FILES.includes(file.path));
  if (wanted.length === 0) {
    console.error(
      `error: the model repository ${modelRepo} contains none of ${ARTIFACT_FILES.join(", ")} yet`,
    );
    return 1;
  }

  const downloaded = [];
  for (const file of wanted) {
    if (!values.json) console.log(`· downloading ${file.path} (${formatBytes(file.size)})`);
    downloaded.push(
      await withHubErrors(context, () =>
        downloadArtifact(config, modelRepo, file, dir, {
          onResume: (bytes) => console.error(`warning: ${file.path} interrupted at ${bytes} bytes; resuming`),
        })),
    );
  }
  await writeFile(join(dir, "artifacts.json"), JSON.stringify(downloaded, null, 2) + "\n");

  const history = await openHistory(values);
  try {
    for (const artifact of downloaded) await history.recordArtifact(run.id, artifact);
    const table = await readResults(join(dir, "results.csv")).catch(() => undefined);
    if (table) {
      await history.replaceEpochs(
        run.id,
        table.rows.map((row) => ({ epoch: row.epoch, segment: row.segment, metrics: row.values })),
      );
    }
  } finally {
    await history.close();
  }
  const report = await writeRunReport(dir);

  if (values.json) {
    console.log(
      JSON.stringify({ id: run.id, repo: modelRepo, dir, files: downloaded, report: report.report }),
    );
    return 0;
  }
  for (const file of downloaded) {
    console.log(
      `  ${file.path.padEnd(16)} ${formatBytes(file.size).padStart(8)}  sha256 ${file.sha256.slice(0, 12)}`,
    );
  }
  console.log(`Verified ${downloaded.length} files from ${modelRepo} into ${dir}`);
  console.log(`Report: ${report.report}`);
  return 0;
}

// ---------------------------------------------------------------------------
// hardware and login

/** `deno task hardware`: the Jobs hardware flavors with prices. */
export const hardwareCommand: Command = {
  summary: "list the HF Jobs hardware flavors with CPU, RAM, accelerator and price",
  usage: `Usage: deno task hardware [options]

Lists the hardware flavors of Hugging Face Jobs, cheapest first: the name to pass
as --flavor, CPU, RAM, accelerator, and the price in US dollars per hour (Jobs
bill per minute). Needs no token.

Options:
${HUB_OPTION_HELP}
  --json             print the flavors as JSON`,
  options: { endpoint: { type: "string" }, json: { type: "boolean" } },
  run(values) {
    return exitOnHubFailure(async () => {
      const hardware = await listHardware({ endpoint: values.endpoint as string | undefined });
      console.log(values.json ? JSON.stringify(hardware.flavors, null, 2) : hardware.toString());
      return 0;
    });
  },
};

/** `deno task login`: checks a token with the Hub and saves it. */
export const loginCommand: Command = {
  summary: "check a Hugging Face access token and save it to the token file",
  usage: `Usage: deno task login [options]

Reads an access token, checks it with the Hub (whoami), and saves it with mode 0600
to the token file that trainbook and huggingface_hub read
($HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token).
The token is never taken from an argument, because arguments are visible in ps,
and it is never printed. Without --token-stdin the token comes from HF_TOKEN.
Nothing is saved when the Hub rejects the token.

  printf '%s' "$MY_TOKEN" | deno task login --token-stdin

Options:
  --token-stdin      read the token from standard input (hidden prompt on a terminal)
${HUB_OPTION_HELP}
  --json             print the account as JSON`,
  options: { "token-stdin": { type: "boolean" }, endpoint: { type: "string" }, json: { type: "boolean" } },
  async run(values) {
    const token = values["token-stdin"] ? await readTokenFromStdin() : Deno.env.get("HF_TOKEN")?.trim();
    if (!token) {
      console.error(
        "error: no token given. Pipe it in with --token-stdin " +
          `(printf '%s' "$MY_TOKEN" | deno task login --token-stdin), or set HF_TOKEN`,
      );
      return 2;
    }
    return await exitOnHubFailure(async () => {
      const endpoint = resolveEndpoint(values.endpoint as string | undefined);
      const info = await login(token, { endpoint });
      const file = tokenPath();
      if (values.json) {
        console.log(JSON.stringify({ ...info, endpoint, tokenFile: file }, null, 2));
      } else {
        const role = info.tokenRole ? `, token role ${info.tokenRole}` : "";
        console.log(`Logged in to ${endpoint} as ${info.name} (${info.type}${role}).`);
        console.log(`Token saved to ${file}`);
      }
      return 0;
    });
  },
};

/** Reads the token from standard input: the first non-empty line, or typed without echo on a terminal. */
async function readTokenFromStdin(): Promise<string | undefined> {
  if (!Deno.stdin.isTerminal()) {
    const text = await new Response(Deno.stdin.readable).text();
    return text.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== "");
  }
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode("Hugging Face access token (input hidden): "));
  Deno.stdin.setRaw(true);
  let token = "";
  try {
    const buffer = new Uint8Array(256);
    reading: while (true) {
      const count = await Deno.stdin.read(buffer);
      if (count === null) break;
      for (const byte of buffer.subarray(0, count)) {
        if (byte === 0x0d || byte === 0x0a) break reading;
        if (byte === 0x03) return undefined; // Ctrl-C
        if (byte === 0x7f || byte === 0x08) token = token.slice(0, -1);
        else if (byte >= 0x20) token += String.fromCharCode(byte);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
  return token.trim() || undefined;
}
