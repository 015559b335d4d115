/**
 * The Hugging Face Jobs backend. It stages the dataset and starts python/train.py
 * as a uv script on the chosen hardware. It then follows the job's stage and its
 * log stream, where the trainer's per-epoch event lines arrive live. When the job
 * ends, it downloads, verifies, records and evaluates what the job pushed to its
 * model repository.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { downloadArtifact, type DownloadedArtifact, listRemoteFiles } from "./artifacts.ts";
import { requireToken, whoami } from "./credentials.ts";
import type { Dataset } from "./dataset.ts";
import { loadDataset } from "./dataset.ts";
import { NotFoundError, OptionsError, redactTokens } from "./errors.ts";
import type { RunStatus, TrainEvent } from "./events.ts";
import { parseEventLine } from "./events.ts";
import { History } from "./history.ts";
import { type HubConfig, hubConfig, hubParams } from "./hub.ts";
import { defaultRunsDir, PYTHON_DIR } from "./paths.ts";
import { trainingArguments } from "./local_backend.ts";
import { TrainingRun } from "./run.ts";
import { newRunId } from "./run_id.ts";
import { publicOptions, recordRunFiles, writeJson } from "./run_files.ts";
import { writeRunReport } from "./run_report.ts";
import { stageDataset } from "./stage.ts";
import { prepareTrainingData } from "./train_data.ts";
import type { ResolvedTrainOptions, TrainOptions } from "./train_options.ts";

/** Container image of uv scripts on HF Jobs. */
export const UV_IMAGE = "ghcr.io/astral-sh/uv:python3.12-bookworm";
/** Label that ties a job to its trainbook run. */
export const RUN_LABEL = "trainbook-run-id";
/** Files the job pushes and trainbook downloads into the run folder. */
const ARTIFACT_FILES = ["weights/best.pt", "weights/last.pt", "results.csv", "results.png", "args.yaml"];
/** Stages after which a job changes no more. */
const TERMINAL_STAGES = ["COMPLETED", "CANCELED", "CANCELLED", "ERROR", "DELETED"];
/** Platform lines in the log stream that are not the job's own output. */
const PLATFORM_LINE = /^=====\s*Job (started|completed|finished|failed)|^===== /;

/** HF Jobs settings after validation. */
interface JobSettings {
  flavor: string;
  timeout: number;
  pushEvery: number;
  namespace: string;
  datasetRepo: string;
  modelRepo: string;
  pollMs: number;
}

/**
 * Starts a training run on HF Jobs and returns its handle once the job is
 * created; called by `train()` for `backend: "hf-jobs"`.
 */
export async function trainOnJobs(
  dataset: string | Dataset,
  options: TrainOptions,
  resolved: ResolvedTrainOptions,
): Promise<TrainingRun> {
  const config = hubConfig({ endpoint: options.endpoint, token: options.token });
  requireToken(config.token);
  const loaded = typeof dataset === "string" ? await loadDataset(dataset) : dataset;
  const settings = await jobSettings(options, config, loaded);
  const id = resolved.runId ?? newRunId();
  const dir = join(resolved.runsDir, id);
  const run = new TrainingRun(id, dir, "hf-jobs", resolved.epochs);
  run.info.flavor = settings.flavor;
  run.push({ type: "status", status: "queued", time: now() });
  resolved.signal?.addEventListener("abort", () => run.cancel("cancelled: the abort signal fired"), {
    once: true,
  });
  launch(run, loaded, resolved, settings, config).catch((error) => {
    const message = redactTokens(String(error?.message ?? error));
    run.push({ type: "error", message, time: now() });
    run.finish("failed", message);
  });
  return run;
}

async function jobSettings(options: TrainOptions, config: HubConfig, dataset: Dataset): Promise<JobSettings> {
  const flavor = options.flavor ?? "cpu-basic";
  const { listHardware, validateFlavor } = await import("./hardware.ts");
  validateFlavor(flavor, await listHardware({ endpoint: config.endpoint, token: config.token }));
  const timeout = options.timeout ?? 3600;
  if (!Number.isInteger(timeout) || timeout < 60) {
    throw new OptionsError("Invalid timeout: must be a whole number of seconds, at least 60", {
      value: timeout,
      hint:
        "Pass the job's time limit in seconds, such as 3600; the platform default of 30 minutes applies otherwise",
    });
  }
  const pushEvery = options.pushEvery ?? 5;
  if (!Number.isInteger(pushEvery) || pushEvery < 0) {
    throw new OptionsError("Invalid pushEvery: must be an integer of 0 or more", {
      value: pushEvery,
      hint: "Pass how often, in epochs, the job uploads its artifacts (0: only at the end)",
    });
  }
  const namespace = options.namespace ??
    (await whoami({ endpoint: config.endpoint, token: config.token })).name;
  const datasetName = dataset.root.split("/").filter(Boolean).at(-1) ?? "dataset";
  return {
    flavor,
    timeout,
    pushEvery,
    namespace,
    datasetRepo: options.datasetRepo ?? `${namespace}/${repoName(datasetName)}`,
    modelRepo: options.modelRepo ?? "",
    pollMs: Number(Deno.env.get("TRAINBOOK_JOBS_POLL_MS") ?? 5000),
  };
}

function repoName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "").slice(0, 90) || "dataset";
}

async function launch(
  run: TrainingRun,
  dataset: Dataset,
  options: ResolvedTrainOptions,
  settings: JobSettings,
  config: HubConfig,
): Promise<void> {
  const setup = (message: string) => run.push({ type: "setup", message, time: now() });
  const hub = await import("@huggingface/hub");

  setup(`Staging the dataset to ${settings.datasetRepo}`);
  const staged = await stageDataset(dataset.yamlPath, {
    repo: settings.datasetRepo,
    endpoint: config.endpoint,
    token: config.token,
    onRetry: (event) => setup(`retrying a Hub request: ${event.reason} (attempt ${event.attempt})`),
  });
  setup(`Dataset staged: ${staged.filesUploaded} files uploaded, ${staged.commits} commits`);

  const modelRepo = settings.modelRepo || `${settings.namespace}/trainbook-${run.id}`;
  try {
    await hub.createRepo({ repo: { type: "model", name: modelRepo }, private: true, ...hubParams(config) });
    setup(`Created the private model repository ${modelRepo}`);
  } catch (error) {
    if (!(error instanceof Error && /409|already exists/i.test(error.message))) throw error;
  }

  const script = await Deno.readTextFile(join(PYTHON_DIR, "train.py"));
  const args = [
    "--hub-dataset-repo",
    staged.repo,
    "--hub-model-repo",
    modelRepo,
    "--push-every",
    String(settings.pushEvery),
    ...trainingArguments(options, run.id, "/tmp/trainbook-runs"),
  ];
  const job = await hub.runJob({
    namespace: settings.namespace,
    dockerImage: UV_IMAGE,
    command: [
      "bash",
      "-c",
      'echo "$UV_SCRIPT_ENCODED" | base64 -d > /tmp/train.py && exec uv run /tmp/train.py "$@"',
      "train",
    ],
    arguments: args,
    environment: {
      UV_SCRIPT_ENCODED: Buffer.from(script, "utf-8").toString("base64"),
      PYTHONUNBUFFERED: "1",
    },
    // The token travels only as a secret: the platform keeps it out of the job's plain environment.
    secrets: { HF_TOKEN: config.token! },
    flavor: settings.flavor as never,
    timeoutSeconds: settings.timeout,
    labels: { [RUN_LABEL]: run.id },
    ...hubParams(config),
  });
  const owner = job.owner?.name ?? settings.namespace;
  const jobUrl = `${config.endpoint}/jobs/${owner}/${job.id}`;
  run.info.job = job.id;
  run.info.dashboard = jobUrl;
  setup(`Job ${job.id} started on ${settings.flavor}: ${jobUrl}`);

  await Deno.mkdir(run.dir, { recursive: true });
  // The local data.yaml lets evaluate() run on the local test split after the job.
  await prepareTrainingData(dataset, run.dir);
  const record = {
    id: run.id,
    backend: "hf-jobs",
    createdAt: run.createdAt.toISOString(),
    dataset: { path: dataset.root, repo: staged.repo, fingerprint: staged.fingerprint, names: dataset.names },
    options: publicOptions(options),
    job: {
      id: job.id,
      owner,
      url: jobUrl,
      flavor: settings.flavor,
      timeoutSeconds: settings.timeout,
      modelRepo,
    },
    command: [...(job.command ?? []), ...args],
    versions: {} as Record<string, string>,
  };
  await writeJson(join(run.dir, "run.json"), record);

  const history = options.history === false ? undefined : await History.open(options.history);
  await history?.createRun({
    id: run.id,
    createdAt: run.createdAt.toISOString(),
    backend: "hf-jobs",
    flavor: settings.flavor,
    jobId: job.id,
    jobUrl,
    jobOwner: owner,
    status: "queued",
    datasetPath: dataset.root,
    datasetRepo: staged.repo,
    datasetFingerprint: staged.fingerprint,
    model: options.model,
    task: dataset.task,
    args: { ...publicOptions(options), modelRepo, timeout: settings.timeout },
    versions: {},
    seed: options.seed,
    runDir: run.dir,
    epochsPlanned: options.epochs,
  });
  await followJob(run, { config, owner, jobId: job.id, modelRepo, history, pollMs: settings.pollMs, record });
}

/** Settings for following a job, from a launch or from the history in {@linkcode attach}. */
interface FollowTarget {
  config: HubConfig;
  owner: string;
  jobId: string;
  modelRepo: string;
  history?: History;
  pollMs: number;
  record?: { versions: Record<string, string> };
  evaluate?: boolean;
}

/** Follows the job to its end, then fetches, records and evaluates its results. */
async function followJob(run: TrainingRun, target: FollowTarget): Promise<void> {
  const hub = await import("@huggingface/hub");
  const { config, owner, jobId, history } = target;
  const params = { namespace: owner, jobId, ...hubParams(config) };
  run.attachController({
    cancel: async () => {
      await hub.cancelJob(params);
    },
  });

  let stage = "";
  let stageMessage: string | undefined;
  let errorMessage: string | undefined;
  const onEvent = async (event: TrainEvent) => {
    run.push(event);
    if (event.type === "start") {
      if (target.record) target.record.versions = event.versions;
      await safely(run, () => history?.updateRun(run.id, { versions: event.versions }));
    } else if (event.type === "epoch") {
      await safely(run, () => history?.recordEpoch(run.id, { epoch: event.epoch, metrics: event.metrics }));
    } else if (event.type === "error") {
      errorMessage = event.message;
    }
  };

  // The stage is read by polling, and a change is announced as a status event. A terminal
  // stage is announced only after the rest of the log has been read.
  let announced = "";
  const pollStage = async (): Promise<void> => {
    const job = await hub.getJob(params);
    stage = String(job.status?.stage ?? "UNKNOWN");
    stageMessage = job.status?.message ?? undefined;
  };
  const announce = async (): Promise<void> => {
    if (stage === announced) return;
    announced = stage;
    const status = statusOfStage(stage);
    run.push({ type: "status", status, stage, message: stageMessage, time: now() });
    if (!TERMINAL_STAGES.includes(stage)) {
      await safely(run, () => history?.updateRun(run.id, { status, statusMessage: stageMessage }));
    }
  };

  // Stage polling and log streaming run side by side; the log loop reconnects
  // whenever the stream ends before the job does, skipping lines already seen.
  let done = false;
  const poller = (async () => {
    while (!done) {
      await pollStage().catch((error) => note(run, `checking the job failed: ${error}`));
      if (TERMINAL_STAGES.includes(stage)) break;
      await announce();
      await sleep(target.pollMs);
    }
  })();
  let seen = 0;
  while (true) {
    // The stream replays the job's log from its start, so one full read after the job
    // has ended collects every line. Lines already handled are skipped by index.
    const endedBefore = TERMINAL_STAGES.includes(stage);
    let index = 0;
    let dropped = false;
    // A stream can stay open after the job has ended (after a build error, say), so
    // it is aborted a few seconds after a terminal stage has been seen.
    const streamAbort = new AbortController();
    let abortTimer: ReturnType<typeof setTimeout> | undefined;
    const watchdog = setInterval(() => {
      if (abortTimer === undefined && TERMINAL_STAGES.includes(stage)) {
        abortTimer = setTimeout(() => streamAbort.abort(), 3000);
      }
    }, 1000);
    const streamFetch: typeof fetch = (input, init) =>
      config.fetch(input, { ...init, signal: streamAbort.signal });
    try {
      for await (const entry of hub.streamJobLogs({ ...params, fetch: streamFetch })) {
        if (index++ < seen) continue;
        seen++;
        await handleLogLine(entry.message, onEvent);
      }
    } catch (error) {
      dropped = true;
      if (!streamAbort.signal.aborted) {
        note(run, `the log stream dropped: ${redactTokens(String(error))}; reconnecting`);
      }
    } finally {
      clearInterval(watchdog);
      clearTimeout(abortTimer);
    }
    await pollStage().catch(() => {});
    if (endedBefore && (!dropped || streamAbort.signal.aborted)) break;
    if (!TERMINAL_STAGES.includes(stage)) await sleep(Math.min(target.pollMs, 2000));
  }
  done = true;
  await poller;
  await announce();

  await finishRun(run, target, stage, errorMessage ?? stageMessage);
}

async function handleLogLine(line: string, onEvent: (event: TrainEvent) => Promise<void>): Promise<void> {
  if (PLATFORM_LINE.test(line)) return;
  const event = parseEventLine(line);
  await onEvent(event ?? { type: "log", line: redactTokens(line), stream: "stdout", time: now() });
}

/** Maps a Jobs stage to a run status; unknown stages count as running. */
export function statusOfStage(stage: string): RunStatus {
  switch (stage) {
    case "SCHEDULING":
      return "queued";
    case "COMPLETED":
      return "completed";
    case "CANCELED":
    case "CANCELLED":
      return "cancelled";
    case "ERROR":
    case "DELETED":
      return "failed";
    default:
      return "running";
  }
}

async function finishRun(
  run: TrainingRun,
  target: FollowTarget,
  stage: string,
  message?: string,
): Promise<void> {
  const { history } = target;
  const status = statusOfStage(stage);
  let finalMessage = message;
  if (status === "failed") {
    const tail = run.logTail.slice(-5).join(" | ");
    finalMessage = `job ended in ${stage}${message ? `: ${message}` : ""}${
      tail ? ` (last output: ${tail})` : ""
    }`;
  }

  // Whatever the job pushed is downloaded, also after an error or a cancel.
  await fetchArtifacts(run, target).catch((error) => {
    note(run, `downloading the artifacts failed: ${redactTokens(String(error?.message ?? error))}`);
  });
  if (target.record) await writeJson(join(run.dir, "run.json"), { ...target.record }).catch(() => {});
  // The same recording as a local run: epochs from results.csv, artifacts, the final event.
  await recordRunFiles(run, { history, report: false, status, message: finalMessage }).catch((error) =>
    note(run, `recording the run folder failed: ${redactTokens(String(error?.message ?? error))}`)
  );

  // evaluate() writes the report itself, so it is written here only when no evaluation ran.
  let reported = false;
  if (status === "completed" && target.evaluate !== false) {
    try {
      const { evaluate } = await import("./evaluate.ts");
      run.push({ type: "setup", message: "Evaluating best.pt on the local test split", time: now() });
      await evaluate(run, { runsDir: join(run.dir, ".."), history: history?.path ?? false });
      reported = true;
    } catch (error) {
      note(run, `test evaluation skipped: ${redactTokens(String((error as Error)?.message ?? error))}`);
    }
  }
  if (!reported) {
    await writeRunReport(run.dir).catch((error) => note(run, `writing the report failed: ${error}`));
  }
  await safely(
    run,
    () => history?.updateRun(run.id, { status, statusMessage: finalMessage, finishedAt: now() }),
  );
  await history?.close();
  run.finish(status, finalMessage);
}

async function fetchArtifacts(run: TrainingRun, target: FollowTarget): Promise<DownloadedArtifact[]> {
  const remote = await listRemoteFiles(target.config, target.modelRepo);
  const wanted = remote.filter((file) => ARTIFACT_FILES.includes(file.path));
  const downloaded: DownloadedArtifact[] = [];
  for (const file of wanted) {
    run.push({ type: "setup", message: `Downloading ${file.path} (${file.size} bytes)`, time: now() });
    downloaded.push(
      await downloadArtifact(target.config, target.modelRepo, file, run.dir, {
        onResume: (bytes, error) =>
          note(run, `download of ${file.path} interrupted at ${bytes} bytes (${error}); resuming`),
      }),
    );
  }
  return downloaded;
}

/** Options of {@linkcode attach}. */
export interface AttachOptions {
  /** History that recorded the run. @default {`<runsDir>/history.duckdb`} */
  history?: string;
  /** Folder of run folders. @default {`$TRAINBOOK_RUNS_DIR` or "./training_runs"} */
  runsDir?: string;
  /** Hub endpoint. @default {"https://huggingface.co"} */
  endpoint?: string;
  /** Access token. @default {HF_TOKEN, else the Hugging Face token file} */
  token?: string;
}

/**
 * Reconnects to the job of an HF Jobs run, for example after a kernel restart:
 * the run handle replays the job's log from the start and follows it to the end.
 *
 * @throws {NotFoundError} when the history has no such run, or it is not an HF Jobs run.
 */
export async function attach(runId: string, options: AttachOptions = {}): Promise<TrainingRun> {
  const runsDir = options.runsDir ?? defaultRunsDir();
  const history = await History.open(options.history ?? join(runsDir, "history.duckdb"));
  const details = await history.getRun(runId);
  const record = details.run;
  if (record.backend !== "hf-jobs" || !record.jobId) {
    throw new NotFoundError("This run has no HF Jobs job to attach to", {
      value: runId,
      hint: 'attach() follows runs started with backend "hf-jobs"; local runs cannot be re-attached',
    });
  }
  const config = hubConfig({ endpoint: options.endpoint, token: options.token });
  requireToken(config.token);
  const modelRepo = String((record.args as Record<string, unknown>).modelRepo ?? "");
  const run = new TrainingRun(
    runId,
    record.runDir ?? join(runsDir, runId),
    "hf-jobs",
    record.epochsPlanned ?? 0,
  );
  run.info.job = record.jobId;
  if (record.jobUrl) run.info.dashboard = record.jobUrl;
  if (record.flavor) run.info.flavor = record.flavor;
  followJob(run, {
    config,
    owner: record.jobOwner ?? record.jobUrl?.split("/").at(-2) ?? "",
    jobId: record.jobId,
    modelRepo,
    history,
    pollMs: Number(Deno.env.get("TRAINBOOK_JOBS_POLL_MS") ?? 5000),
  }).catch((error) => {
    const message = redactTokens(String(error?.message ?? error));
    run.push({ type: "error", message, time: now() });
    run.finish("failed", message);
  });
  return run;
}

async function safely(run: TrainingRun, action: () => Promise<unknown> | undefined): Promise<void> {
  try {
    await action();
  } catch (error) {
    note(run, `history: ${redactTokens(String(error))}`);
  }
}

function note(run: TrainingRun, line: string): void {
  run.push({ type: "log", line: redactTokens(line), stream: "stderr", time: now() });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function now(): string {
  return new Date().toISOString();
}
