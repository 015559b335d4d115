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
import { cancelJob, getJob } from "@huggingface/hub";
import type { Command } from "./_cli.ts";
import {
  exitOnHubFailure,
  formatBytes,
  HUB_OPTION_HELP,
  JOB_OPTIONS,
  jobContext,
  jobParams,
  jobTarget,
  readRun,
  TERMINAL_STAGES,
  TOKEN_NOTE,
} from "./_cli_hub_shared.ts";
import { printJobLog, printRecordedEvents } from "./_cli_job_logs.ts";
import { downloadArtifact, listRemoteFiles } from "./artifacts.ts";
import { HISTORY_OPTION_HELP, openHistory, runsDirFrom } from "./cli_runs.ts";
import { HubError, OptionsError } from "./errors.ts";
import { TERMINAL_STATUSES } from "./events.ts";
import { listHardware } from "./hardware.ts";
import type { RunRecord } from "./history.ts";
import { type HubConfig, withHubErrors } from "./hub.ts";
import { readResults } from "./results.ts";
import { formatDuration } from "./run.ts";
import { writeRunReport } from "./run_report.ts";

export { stageCommand } from "./_cli_stage.ts";
export { loginCommand } from "./_cli_login.ts";

/** Files a training job pushes to its model repository, the same list the Jobs backend downloads. */
const ARTIFACT_FILES = ["weights/best.pt", "weights/last.pt", "results.csv", "results.png", "args.yaml"];

/** Prints `label value` pairs with the values aligned, skipping empty values. */
function printFields(fields: [string, unknown][]): void {
  const shown = fields.filter(([, value]) => value !== undefined && value !== null && value !== "");
  const width = Math.max(...shown.map(([label]) => label.length));
  for (const [label, value] of shown) console.log(`${label.padEnd(width)}  ${value}`);
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
// hardware

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
