/**
 * Imports a run folder that Ultralytics or YOLOv5 wrote elsewhere (another
 * machine, a Colab notebook, an older project) into the run history.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename, join, resolve } from "node:path";
import { NotFoundError, ResultsError } from "./errors.ts";
import type { History } from "./history.ts";
import type { RunRecord } from "./history_records.ts";
import {
  bestEpoch,
  lastSegmentRows,
  readResults,
  readRunArgs,
  type ResultsFormat,
  type ResultsTable,
  type RunArgs,
  type TaskKind,
} from "./results.ts";

/** Options of {@linkcode importRun}. */
export interface ImportRunOptions {
  /** Run id to store the run under. @default {"imported-<folder name>-<8 hex digits of the import key>"} */
  id?: string;
}

/** Outcome of {@linkcode importRun}: the run it stored, or the one stored before. */
export interface ImportRunResult {
  /** Id of the run in the history. */
  id: string;
  /** False when the same folder with the same results.csv was imported before, so nothing was written. */
  imported: boolean;
  /** "completed", or "interrupted" when results.csv has fewer epochs than planned and training did not stop early. */
  status: RunRecord["status"];
  /** Epoch rows stored, over all segments of results.csv. */
  epochs: number;
  /** Program that wrote results.csv. */
  format: ResultsFormat;
  /** Ultralytics task, from args.yaml or guessed from the columns. */
  task: TaskKind;
  /** Problems that did not stop the import, such as a dropped incomplete line. */
  warnings: string[];
}

/** Settings files a run folder may hold: Ultralytics writes args.yaml, YOLOv5 opt.yaml. */
const SETTINGS_FILES = ["args.yaml", "opt.yaml"];

/** Weight file extensions recorded as artifacts from `<folder>/weights`. */
const WEIGHT_EXTENSIONS = [".pt", ".onnx", ".engine", ".torchscript", ".safetensors"];

/**
 * Imports the run folder `folder` (results.csv, args.yaml or opt.yaml, and the
 * files in weights/ with their size and SHA-256) as a run with backend
 * "imported". A run with fewer epochs than planned is stored as interrupted,
 * unless it stopped early for lack of improvement (`patience`). Importing the
 * same folder with the same results.csv again writes nothing and returns the
 * stored run's id.
 *
 * @throws {NotFoundError} when the folder or its results.csv is missing.
 * @throws {ResultsError} when results.csv or the settings file cannot be read.
 */
export async function importRun(
  history: History,
  folder: string,
  options: ImportRunOptions = {},
): Promise<ImportRunResult> {
  const runDir = resolve(folder);
  const resultsPath = join(runDir, "results.csv");
  const resultsText = await readRequired(runDir, resultsPath);
  const table = await readResults(resultsPath);
  const settings = await readSettings(runDir);
  const importKey = sha256Text(`${runDir}\0${resultsText}`);
  const { id = `imported-${basename(runDir)}-${importKey.slice(0, 8)}` } = options;

  const planned = settings?.epochs;
  const done = lastSegmentRows(table).length;
  const { status, statusMessage } = importedStatus(table, settings, done, planned);
  const artifacts = await weightFiles(runDir);
  const resultsStat = await Deno.stat(resultsPath);
  const summary = {
    status,
    epochs: table.rows.length,
    format: table.format,
    task: table.task,
    warnings: table.warnings,
  };

  return await history.batch(async () => {
    // Inside the batch's transaction, so that two processes importing one folder store it once.
    const existing = await history.sql("SELECT id FROM runs WHERE import_key = $1", [importKey]);
    if (existing.length > 0) return { id: String(existing[0].id), imported: false, ...summary };

    const finished = resultsStat.mtime ?? new Date();
    await history.createRun({
      id,
      createdAt: finished.toISOString(),
      finishedAt: finished.toISOString(),
      backend: "imported",
      status,
      statusMessage,
      model: modelName(settings),
      task: table.task,
      datasetPath: settings?.data,
      args: settings?.raw ?? {},
      versions: {},
      runDir,
      epochsPlanned: planned,
      importKey,
    });
    await history.replaceEpochs(
      id,
      table.rows.map((row) => ({ epoch: row.epoch, segment: row.segment, metrics: row.values })),
    );
    for (const artifact of artifacts) await history.recordArtifact(id, artifact);
    await history.recordEvent(id, {
      type: "import",
      message: `Imported ${table.rows.length} epochs from ${resultsPath}`,
      data: {
        format: table.format,
        segments: table.segments,
        epochBase: table.epochBase,
        warnings: table.warnings,
      },
    });
    return { id, imported: true, ...summary };
  });
}

/** Model from args.yaml, or YOLOv5's `weights` or `cfg` in opt.yaml. */
function modelName(settings: RunArgs | undefined): string {
  const candidates = [settings?.model, settings?.raw.weights, settings?.raw.cfg];
  const name = candidates.find((value): value is string => typeof value === "string" && value !== "");
  return name ?? "unknown";
}

async function readRequired(runDir: string, resultsPath: string): Promise<string> {
  try {
    return await Deno.readTextFile(resultsPath);
  } catch (error) {
    // A file given in place of a folder gives NotADirectory; both mean "no results.csv here".
    if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) throw error;
    const folderExists = await Deno.stat(runDir).then((info) => info.isDirectory, () => false);
    throw new NotFoundError(
      folderExists ? `Run folder ${runDir} has no results.csv` : `Run folder ${runDir} not found`,
      { hint: "Pass the folder Ultralytics trained into, such as runs/detect/train", cause: error },
    );
  }
}

/** Reads args.yaml, else YOLOv5's opt.yaml; returns undefined when the folder has neither. */
async function readSettings(runDir: string): Promise<RunArgs | undefined> {
  for (const name of SETTINGS_FILES) {
    try {
      return await readRunArgs(join(runDir, name));
    } catch (error) {
      if (error instanceof ResultsError && error.cause instanceof Deno.errors.NotFound) continue;
      throw error;
    }
  }
  return undefined;
}

function importedStatus(
  table: ResultsTable,
  settings: RunArgs | undefined,
  done: number,
  planned: number | undefined,
): { status: RunRecord["status"]; statusMessage?: string } {
  if (planned === undefined) {
    return { status: "completed", statusMessage: `Planned epochs unknown; results.csv has ${done} epochs` };
  }
  if (done >= planned) return { status: "completed" };

  // Ultralytics stops early once `patience` epochs pass without a better fitness.
  const patience = typeof settings?.raw.patience === "number" ? settings.raw.patience : undefined;
  const rows = lastSegmentRows(table);
  const best = bestEpoch({ ...table, rows, segments: 1 });
  const last = rows.at(-1)?.epoch;
  if (patience !== undefined && best !== undefined && last !== undefined && last - best >= patience) {
    return {
      status: "completed",
      statusMessage: `Stopped early after ${done} of ${planned} epochs: no improvement in ${patience} epochs`,
    };
  }
  return { status: "interrupted", statusMessage: `results.csv has ${done} of ${planned} planned epochs` };
}

async function weightFiles(
  runDir: string,
): Promise<{ path: string; size: number; sha256: string; kind: string }[]> {
  const weightsDir = join(runDir, "weights");
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(weightsDir)) {
      if (entry.isFile && WEIGHT_EXTENSIONS.some((extension) => entry.name.endsWith(extension))) {
        names.push(entry.name);
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  names.sort();
  const artifacts = [];
  for (const name of names) {
    const path = join(weightsDir, name);
    const { size } = await Deno.stat(path);
    artifacts.push({ path: join("weights", name), size, sha256: await sha256File(path), kind: "weights" });
  }
  return artifacts;
}

function sha256Text(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Hashes a file as a stream, so that large weights need not fit in memory. */
async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest("hex");
}
