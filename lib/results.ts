/**
 * Reads the results.csv and args.yaml files that Ultralytics and YOLOv5 write
 * into a run folder, and turns every results.csv layout they have used into one
 * normalised table.
 *
 * Layouts handled: Ultralytics up to 8.3.8 (headers and values padded with
 * spaces, no `time` column), Ultralytics from 8.3.9 (unpadded, `time` second),
 * and YOLOv5 (padded, epochs counted from 0, `metrics/mAP_0.5` and `x/lr0`
 * names). Column names are normalised to the current Ultralytics names.
 *
 * @module
 */
import { parse as parseCsv } from "csv-parse/sync";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { basename, dirname, join } from "node:path";
import { ResultsError } from "./errors.ts";

/** Which program wrote a results.csv, as identified from its header. */
export type ResultsFormat = "ultralytics" | "ultralytics-padded" | "yolov5";

/** Ultralytics task of a run. `unknown` when neither the columns nor args.yaml tell it. */
export type TaskKind = "detect" | "segment" | "pose" | "classify" | "obb" | "unknown";

/** One epoch of a results.csv. */
export interface ResultsRow {
  /** 1-based epoch number, whatever base the file used. */
  epoch: number;
  /** 1-based run number within the file: 2 and up when a later run was appended to the same file. */
  segment: number;
  /**
   * Values keyed by normalised column name. `nan` in the file becomes `null`, so that
   * charts draw a gap; `inf` and `-inf` become `Infinity` and `-Infinity`.
   */
  values: Record<string, number | null>;
}

/** A results.csv read into normalised names and 1-based epochs. */
export interface ResultsTable {
  /** Program and version range that wrote the file. */
  format: ResultsFormat;
  /** Task guessed from the columns; OBB runs look like detect runs unless args.yaml was read. */
  task: TaskKind;
  /** Number of the first epoch in the file: 0 for YOLOv5 and early YOLOv8, else 1. */
  epochBase: 0 | 1;
  /** Normalised column names in file order, without `epoch`. */
  columns: string[];
  /** Header text of each column as the file spells it, keyed by normalised name. */
  originalColumns: Record<string, string>;
  /** Epochs in file order, the rows of appended runs included. */
  rows: ResultsRow[];
  /** Number of runs in the file (1 unless a later run was appended). */
  segments: number;
  /** Problems that did not stop the reading, such as a dropped incomplete last line. */
  warnings: string[];
  /** File the table was read from, when there was one. */
  source?: string;
}

/** Settings of a run, from the args.yaml Ultralytics writes next to results.csv. */
export interface RunArgs {
  /** Task from `task`, or `unknown` when it is missing or not an Ultralytics task. */
  task: TaskKind;
  /** Planned number of epochs. */
  epochs?: number;
  /** Dataset YAML path or name, as passed to training. */
  data?: string;
  /** Model YAML or weights, as passed to training. */
  model?: string;
  /** Image size in pixels (the larger side when args.yaml contains a list). */
  imgsz?: number;
  /** Batch size; -1 or a fraction below 1 means automatic batch sizing. */
  batch?: number;
  /** Every key of args.yaml as parsed. */
  raw: Record<string, unknown>;
}

const TASKS: readonly TaskKind[] = ["detect", "segment", "pose", "classify", "obb"];

const CSV_HINT = "Pass the results.csv from an Ultralytics or YOLOv5 run folder";

/**
 * Maps a header name to the current Ultralytics name. YOLOv5 names get the
 * Ultralytics spelling; `metrics/precision` without a suffix is a box metric.
 */
function normaliseColumn(name: string): string {
  let column = name.trim();
  const lr = /^(?:x\/lr|lr\/)(\d+)$/.exec(column);
  if (lr) return `lr/pg${lr[1]}`;
  column = column.replace(/mAP_0\.5:0\.95/, "mAP50-95").replace(/mAP_0\.5/, "mAP50");
  const metric = /^metrics\/(precision|recall|mAP50|mAP50-95)$/.exec(column);
  if (metric) column = `metrics/${metric[1]}(B)`;
  return column;
}

function isYolov5Header(header: string[]): boolean {
  return header.some((name) => /mAP_0\.5|^x\/lr\d+$|^lr\/\d+$/.test(name.trim()));
}

/** Guesses the task from the metric columns. */
function guessTask(columns: string[]): TaskKind {
  if (columns.some((c) => c.endsWith("(P)"))) return "pose";
  if (columns.some((c) => c.endsWith("(M)"))) return "segment";
  if (columns.some((c) => /accuracy_top[15]$/.test(c))) return "classify";
  if (columns.some((c) => c.endsWith("(B)"))) return "detect";
  return "unknown";
}

/**
 * Parses one value. Returns `undefined` for text that is not a number, so the
 * caller can report the line.
 */
function parseValue(text: string): number | null | undefined {
  const lower = text.toLowerCase();
  if (lower === "nan" || lower === "-nan" || text === "") return null;
  if (lower === "inf" || lower === "+inf" || lower === "infinity") return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

function readCsvRecords(text: string, file: string): CsvRecord[] {
  try {
    return parseCsv(text, {
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as CsvRecord[];
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new ResultsError("file is not valid CSV", { file, line, hint: CSV_HINT, cause: error });
  }
}

/** Builds the normalised column list, renaming a duplicate with a warning. */
function buildColumns(header: string[], warnings: string[]) {
  const columns: string[] = [];
  const originalColumns: Record<string, string> = {};
  for (const original of header.slice(1)) {
    let name = normaliseColumn(original);
    if (name in originalColumns) {
      warnings.push(
        `column "${original.trim()}" repeats "${originalColumns[name]}"; kept under its own name`,
      );
      name = original.trim();
    }
    columns.push(name);
    originalColumns[name] = original.trim();
  }
  return { columns, originalColumns };
}

/**
 * Parses the text of a results.csv. Epochs become 1-based; when the epoch
 * number falls back (a second run appended to the same file), the rows that
 * follow get the next `segment`. An incomplete last line (too few fields or a
 * field that is not a number) is dropped with a warning.
 *
 * @throws {ResultsError} when the text is empty, has no `epoch` column, or a
 * line other than the last has the wrong number of fields or a non-numeric value.
 *
 * @example
 * ```ts
 * import { parseResults } from "./results.ts";
 * const table = parseResults("epoch,time,metrics/mAP50(B)\n1,10.5,0.25\n2,20.9,nan\n");
 * console.assert(table.rows.length === 2 && table.rows[1].values["metrics/mAP50(B)"] === null);
 * ```
 */
export function parseResults(text: string, source?: string): ResultsTable {
  const file = source ?? "results.csv";
  const normalised = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  if (normalised.trim() === "") {
    throw new ResultsError("file is empty", {
      file,
      line: 1,
      hint: `${CSV_HINT}; a new run writes the header first`,
    });
  }

  const records = readCsvRecords(normalised, file);
  const header = records[0].record;
  if (header[0]?.trim() !== "epoch") {
    throw new ResultsError('first column is not "epoch", so this is not a results.csv', {
      file,
      line: records[0].info.lines,
      value: header[0]?.trim(),
      hint: CSV_HINT,
    });
  }

  const warnings: string[] = [];
  const { columns, originalColumns } = buildColumns(header, warnings);
  const yolov5 = isYolov5Header(header);
  const padded = header.some((name) => name !== name.trim());
  let format: ResultsFormat = "ultralytics";
  if (yolov5) format = "yolov5";
  else if (padded) format = "ultralytics-padded";

  const rawRows = readRawRows(records, header.length, file, warnings);
  // A header-only file has no epoch to look at, so the format's usual base applies.
  let epochBase: 0 | 1 = yolov5 ? 0 : 1;
  if (rawRows.length > 0) epochBase = rawRows[0].epoch === 0 ? 0 : 1;
  const rows = splitSegments(rawRows, columns, epochBase);

  return {
    format,
    task: guessTask(columns),
    epochBase,
    columns,
    originalColumns,
    rows,
    segments: rows.length === 0 ? 0 : rows[rows.length - 1].segment,
    warnings,
    source,
  };
}

interface RawRow {
  epoch: number;
  numbers: (number | null)[];
}

/** Converts the data records to numbers, dropping an incomplete last record. */
function readRawRows(records: CsvRecord[], width: number, file: string, warnings: string[]): RawRow[] {
  const rows: RawRow[] = [];
  for (let index = 1; index < records.length; index++) {
    const { record, info } = records[index];
    const isLast = index === records.length - 1;
    const numbers = record.map((field) => parseValue(field.trim()));
    const badField = numbers.findIndex((value) => value === undefined);

    if (record.length !== width || badField >= 0) {
      const problem = record.length !== width
        ? `has ${record.length} fields but the header has ${width}`
        : `field ${badField + 1} is not a number`;
      if (isLast && record.length <= width) {
        warnings.push(`${file}:${info.lines}: last line ${problem}; dropped it as incomplete`);
        continue;
      }
      throw new ResultsError(`line ${problem}`, {
        file,
        line: info.lines,
        value: badField >= 0 ? record[badField].trim() : record.join(","),
        hint: "Fix or delete that line; every line of a results.csv holds one number per header column",
      });
    }

    const epoch = numbers[0];
    if (typeof epoch !== "number" || !Number.isInteger(epoch) || epoch < 0) {
      throw new ResultsError("epoch is not a whole number", {
        file,
        line: info.lines,
        value: record[0].trim(),
        hint: "Fix or delete that line",
      });
    }
    rows.push({ epoch, numbers: numbers.slice(1) as (number | null)[] });
  }
  return rows;
}

/** Numbers the rows 1-based and starts a new segment wherever the epoch does not increase. */
function splitSegments(rawRows: RawRow[], columns: string[], epochBase: 0 | 1): ResultsRow[] {
  const rows: ResultsRow[] = [];
  let segment = 1;
  let previous = -1;
  for (const raw of rawRows) {
    if (raw.epoch <= previous) segment++;
    previous = raw.epoch;
    const values: Record<string, number | null> = {};
    columns.forEach((name, i) => values[name] = raw.numbers[i]);
    rows.push({ epoch: raw.epoch - epochBase + 1, segment, values });
  }
  return rows;
}

async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const missing = error instanceof Deno.errors.NotFound;
    throw new ResultsError(missing ? `${what} not found` : `${what} could not be read`, {
      file: path,
      hint: missing
        ? "Check the run folder path; Ultralytics writes it there after the first epoch"
        : undefined,
      cause: error,
    });
  }
}

/**
 * Reads a results.csv from a path, or parses CSV text: an argument without a
 * newline is a path. When an args.yaml lies next to the file and names a task,
 * that task replaces the one guessed from the columns (an OBB run's columns look
 * like a detect run's).
 *
 * @throws {ResultsError} when the file is missing, unreadable or not a results.csv.
 */
export async function readResults(pathOrText: string): Promise<ResultsTable> {
  if (pathOrText.includes("\n")) return parseResults(pathOrText);

  const table = parseResults(await readTextFile(pathOrText, "results.csv"), pathOrText);
  const argsPath = join(dirname(pathOrText), "args.yaml");
  try {
    const args = await readRunArgs(argsPath);
    if (args.task !== "unknown") table.task = args.task;
  } catch (error) {
    if (!(error instanceof ResultsError && error.cause instanceof Deno.errors.NotFound)) {
      table.warnings.push(`${basename(argsPath)} next to the file was not used: ${(error as Error).message}`);
    }
  }
  return table;
}

function optionalNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (Array.isArray(value)) {
    const numbers = value.filter((v): v is number => typeof v === "number");
    return numbers.length > 0 ? Math.max(...numbers) : undefined;
  }
  return undefined;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Reads an Ultralytics args.yaml. Unknown or missing `task` values give
 * `unknown`; every key stays available in `raw`.
 *
 * @throws {ResultsError} when the file is missing, is not valid YAML or is not a mapping.
 */
export async function readRunArgs(path: string): Promise<RunArgs> {
  const text = await readTextFile(path, "args.yaml");
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    const line = error instanceof YAMLParseError ? error.linePos?.[0].line : undefined;
    throw new ResultsError("args.yaml is not valid YAML", {
      file: path,
      line,
      hint: "Use the args.yaml Ultralytics wrote into the run folder",
      cause: error,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ResultsError("args.yaml is not a mapping of settings", {
      file: path,
      line: 1,
      hint: "Use the args.yaml Ultralytics wrote into the run folder",
    });
  }

  const raw = parsed as Record<string, unknown>;
  const task = TASKS.find((t) => t === raw.task) ?? "unknown";
  return {
    task,
    epochs: optionalNumber(raw.epochs),
    data: optionalString(raw.data),
    model: optionalString(raw.model),
    imgsz: optionalNumber(raw.imgsz),
    batch: optionalNumber(raw.batch),
    raw,
  };
}

/** Names of the metric columns (`metrics/...`) in file order. */
export function metricColumns(table: ResultsTable): string[] {
  return table.columns.filter((c) => c.startsWith("metrics/"));
}

/** Names of the training and validation loss columns (`train/...`, `val/...`) in file order. */
export function lossColumns(table: ResultsTable): string[] {
  return table.columns.filter((c) => c.startsWith("train/") || c.startsWith("val/"));
}

/** Names of the learning-rate columns (`lr/pg0`, `lr/pg1`, ...) in file order. */
export function learningRateColumns(table: ResultsTable): string[] {
  return table.columns.filter((c) => c.startsWith("lr/"));
}

/** Returns the rows of the last run in the file, the run whose weights are in the run folder. */
export function lastSegmentRows(table: ResultsTable): ResultsRow[] {
  return table.rows.filter((row) => row.segment === table.segments);
}

/**
 * Computes the fitness Ultralytics uses to pick best.pt. For detection it is
 * 0.1 × mAP50 + 0.9 × mAP50-95, summed over (B), (M) and (P) where present, and
 * a single mAP column counts alone. For classification it is the mean of top-1
 * and top-5 accuracy. Returns `null` when the row has none of these values.
 */
export function fitness(row: ResultsRow): number | null {
  const v = row.values;
  let total = 0;
  let found = false;
  for (const suffix of ["B", "M", "P"]) {
    const map50 = v[`metrics/mAP50(${suffix})`];
    const map = v[`metrics/mAP50-95(${suffix})`];
    if (typeof map50 === "number" && typeof map === "number") total += 0.1 * map50 + 0.9 * map;
    else if (typeof map === "number") total += map;
    else if (typeof map50 === "number") total += map50;
    else continue;
    found = true;
  }
  if (found) return total;

  const top1 = v["metrics/accuracy_top1"];
  const top5 = v["metrics/accuracy_top5"];
  if (typeof top1 === "number" && typeof top5 === "number") return (top1 + top5) / 2;
  return typeof top1 === "number" ? top1 : null;
}

/**
 * Finds the row of the last run with the best `metric`: the lowest value for a
 * loss column (`train/...`, `val/...`), else the highest. Without a metric it
 * uses the highest {@linkcode fitness}. Rows with a missing or non-finite value
 * are skipped, and the earliest epoch wins a tie.
 */
export function bestRow(table: ResultsTable, metric?: string): ResultsRow | undefined {
  const sign = metric !== undefined && /^(train|val)\//.test(metric) ? -1 : 1;
  let best: ResultsRow | undefined;
  let bestValue = -Infinity;
  for (const row of lastSegmentRows(table)) {
    const raw = metric === undefined ? fitness(row) : row.values[metric];
    if (typeof raw !== "number" || !Number.isFinite(raw)) continue;
    const value = sign * raw;
    if (value > bestValue) {
      best = row;
      bestValue = value;
    }
  }
  return best;
}

/**
 * Returns the 1-based epoch of {@linkcode bestRow}: the last run's epoch with the
 * best `metric`, or with the highest fitness by default. `undefined` when no
 * row has a value.
 *
 * @example
 * ```ts
 * import { bestEpoch, parseResults } from "./results.ts";
 * const table = parseResults("epoch,metrics/mAP50(B),metrics/mAP50-95(B)\n1,0.5,0.3\n2,0.6,0.2\n");
 * console.assert(bestEpoch(table) === 1 && bestEpoch(table, "metrics/mAP50(B)") === 2);
 * ```
 */
export function bestEpoch(table: ResultsTable, metric?: string): number | undefined {
  return bestRow(table, metric)?.epoch;
}
