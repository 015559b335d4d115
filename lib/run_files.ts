/**
 * The files of a finished run folder: artifacts with their size and sha256, the
 * epochs of results.csv copied into the history, and the charts and report.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { redactTokens, ResultsError } from "./errors.ts";
import type { RunStatus } from "./events.ts";
import type { History } from "./history.ts";
import { readResults } from "./results.ts";
import { writeRunReport } from "./run_report.ts";
import type { TrainingRun } from "./run.ts";
import type { ResolvedTrainOptions } from "./train_options.ts";

/** Returns the options recorded with a run: everything but the abort signal. */
export function publicOptions(options: ResolvedTrainOptions): Record<string, unknown> {
  const { signal: _signal, ...rest } = options;
  return rest;
}

/** Writes `value` as indented JSON with a final newline (run.json, artifacts.json). */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2) + "\n");
}

/** Files every finished run folder should contain, relative to the folder. */
export const RUN_ARTIFACTS = [
  "weights/best.pt",
  "weights/last.pt",
  "results.csv",
  "results.png",
  "args.yaml",
];

/** One artifact of a run folder. */
export interface ArtifactInfo {
  /** Path relative to the run folder. */
  path: string;
  size: number;
  sha256: string;
}

/** Returns the size and sha256 of each artifact present in `dir`. */
export async function artifactInfos(dir: string, paths: string[] = RUN_ARTIFACTS): Promise<ArtifactInfo[]> {
  const infos: ArtifactInfo[] = [];
  for (const path of paths) {
    try {
      const size = (await Deno.stat(join(dir, path))).size;
      infos.push({ path, size, sha256: await sha256File(join(dir, path)) });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return infos;
}

/** Returns the hex sha256 of a file, reading it as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Records what a finished run left: every results.csv row as the run's epochs (so
 * the history matches the file row for row), the artifacts, and a report. Failures
 * here are reported as log events and never hide the run's own outcome.
 */
export async function recordRunFiles(
  run: TrainingRun,
  options: { history?: History; report: boolean; status: RunStatus; message?: string },
): Promise<void> {
  const note = (line: string) =>
    run.push({ type: "log", line: redactTokens(line), stream: "stderr", time: new Date().toISOString() });
  const { history } = options;

  try {
    const table = await readResults(join(run.dir, "results.csv"));
    await history?.replaceEpochs(
      run.id,
      table.rows.map((row) => ({ epoch: row.epoch, segment: row.segment, metrics: row.values })),
    );
  } catch (error) {
    const missing = error instanceof ResultsError && error.cause instanceof Deno.errors.NotFound;
    if (!missing) {
      note(`recording results.csv failed: ${error}`);
    }
  }

  const artifacts = await artifactInfos(run.dir);
  await writeJson(join(run.dir, "artifacts.json"), artifacts);
  for (const artifact of artifacts) {
    try {
      await history?.recordArtifact(run.id, artifact);
    } catch (error) {
      note(`recording artifact ${artifact.path} failed: ${error}`);
    }
  }
  try {
    await history?.recordEvent(run.id, {
      type: "status",
      message: `${options.status}${options.message ? `: ${options.message}` : ""}`,
    });
  } catch (error) {
    note(`recording the final status failed: ${error}`);
  }

  if (options.report) {
    try {
      await writeRunReport(run.dir);
    } catch (error) {
      note(`writing the report failed: ${error}`);
    }
  }
}
