// deno-lint-ignore-file no-console
/**
 * Help text, options and job helpers shared by the Hub commands in cli_hub.ts
 * and the private modules it is split into.
 *
 * @module
 */
import { ArtifactError } from "./artifacts.ts";
import { HISTORY_OPTIONS, openHistory } from "./cli_runs.ts";
import { requireToken } from "./credentials.ts";
import { HubError, OptionsError } from "./errors.ts";
import type { RunDetails, RunRecord } from "./history.ts";
import { type HubConfig, hubConfig, hubParams } from "./hub.ts";

export const HUB_OPTION_HELP =
  `  --endpoint URL     Hub URL  [$TRAINBOOK_HF_ENDPOINT, else $HF_ENDPOINT, else https://huggingface.co]`;
export const TOKEN_NOTE =
  "The access token comes from HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the token\n" +
  "file that `deno task login` writes.";
export const JOB_OPTIONS = {
  endpoint: { type: "string" },
  ...HISTORY_OPTIONS,
  json: { type: "boolean" },
} as const;

/** Job stages after which a job changes no more. */
export const TERMINAL_STAGES = ["COMPLETED", "CANCELED", "CANCELLED", "ERROR", "DELETED"];

/** Runs `work`, turning a failed Hub request or download into a one-line error and exit code 1. */
export async function exitOnHubFailure(work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof HubError || error instanceof ArtifactError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
}

/** Reads one run from the history that `--history` / `--runs-dir` name. */
export async function readRun(values: Record<string, unknown>, id: string): Promise<RunDetails> {
  const history = await openHistory(values);
  try {
    return await history.getRun(id);
  } finally {
    await history.close();
  }
}

/** The job of an HF Jobs run and the connection to reach it. */
export interface JobTarget {
  config: HubConfig;
  namespace: string;
  jobId: string;
}

/** Returns the job of `run`, or throws {@linkcode OptionsError} with `localHint` as the fix when the run has no job. */
export function jobTarget(run: RunRecord, values: Record<string, unknown>, localHint: string): JobTarget {
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

export function jobContext(target: JobTarget, action: string) {
  return { action, endpoint: target.config.endpoint, jobId: target.jobId, namespace: target.namespace };
}

export function jobParams(target: JobTarget) {
  return { namespace: target.namespace, jobId: target.jobId, ...hubParams(target.config) };
}

export function formatBytes(bytes: number): string {
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
