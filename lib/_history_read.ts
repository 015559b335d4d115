/**
 * Read queries of the run history: one run in full, run lists, leaderboards,
 * comparisons and the Parquet export.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { join } from "node:path";
import { NotFoundError, OptionsError } from "./errors.ts";
import type { RunStatus } from "./events.ts";
import type { ArtifactRecord, EpochRecord, EventRecord, RunRecord } from "./history_records.ts";
import type { ClassMetrics, TestMetrics } from "./metrics.ts";
import {
  Leaderboard,
  type LeaderboardRow,
  RunComparison,
  RunDetails,
  RunList,
  type RunSummary,
} from "./history_views.ts";
import { queryRows } from "./_history_db.ts";
import { runFromRow } from "./_history_rows.ts";

/** Metric that run lists and leaderboards use by default. */
export const DEFAULT_METRIC = "metrics/mAP50-95(B)";

/** Test-metric fields that {@linkcode leaderboardQuery} can rank by, as `test/<field>`. */
const TEST_FIELDS = ["map50", "map50_95", "precision", "recall"];

/** Tables written by the Parquet export, in dependency order. */
const TABLES = [
  "meta",
  "runs",
  "epochs",
  "run_metrics",
  "test_metrics",
  "class_metrics",
  "artifacts",
  "events",
];

/** Filter of {@linkcode History.listRuns}. */
export interface ListRunsFilter {
  /** Only runs with this status. */
  status?: RunStatus;
  /** Only runs of this backend: "local", "hf-jobs" or "imported". */
  backend?: string;
  /** Only runs whose dataset path, dataset repo or dataset fingerprint equals this. */
  dataset?: string;
  /** Maximum number of runs. @default {50} */
  limit?: number;
}

/** Options of {@linkcode History.leaderboard}. */
export interface LeaderboardOptions {
  /**
   * A results.csv column, ranked by its best epoch, or `test/map50_95`, `test/map50`,
   * `test/precision`, `test/recall` to rank by test metrics.
   * @default {"metrics/mAP50-95(B)"}
   */
  metric?: string;
  /** "max" when higher is better. @default {"min" for metric names containing "loss", else "max"} */
  order?: "max" | "min";
  /** Split of the test metrics for `test/` metrics. @default {"test"} */
  split?: string;
  /** Only runs whose dataset path, dataset repo or dataset fingerprint equals this. */
  dataset?: string;
  /** Maximum number of runs. @default {10} */
  limit?: number;
}

/** Finds the run whose id is `id` or, failing that, starts with `id`. */
export async function resolveRunId(connection: DuckDBConnection, id: string, path: string): Promise<string> {
  const exact = await queryRows(connection, "SELECT id FROM runs WHERE id = $1", [id]);
  if (exact.length === 1) return id;
  const matches = await queryRows(
    connection,
    "SELECT id FROM runs WHERE starts_with(id, $1) ORDER BY created_at DESC LIMIT 6",
    [id],
  );
  if (matches.length === 1) return String(matches[0].id);
  if (matches.length > 1) {
    const listed = matches.slice(0, 5).map((row) => row.id).join(", ");
    throw new NotFoundError(
      `Run id prefix ${JSON.stringify(id)} matches several runs in history ${path}: ${listed}`,
      {
        hint: "Give more characters of the id",
      },
    );
  }
  throw new NotFoundError(`Run ${JSON.stringify(id)} not found in history ${path}`, {
    hint: "List run ids with history.listRuns() or `deno task runs`",
  });
}

/** Loads one run with everything recorded about it. */
export async function getRunQuery(
  connection: DuckDBConnection,
  id: string,
  path: string,
): Promise<RunDetails> {
  const runId = await resolveRunId(connection, id, path);
  const [runRow] = await queryRows(connection, "SELECT * FROM runs WHERE id = $1", [runId]);
  const epochRows = await queryRows(
    connection,
    "SELECT segment, epoch, metric, value FROM epochs WHERE run_id = $1 ORDER BY segment, epoch, rowid",
    [runId],
  );
  const artifacts = await queryRows(
    connection,
    "SELECT path, size, sha256, kind FROM artifacts WHERE run_id = $1 ORDER BY path",
    [runId],
  );
  const events = await queryRows(
    connection,
    "SELECT type, message, time, data FROM events WHERE run_id = $1 ORDER BY seq",
    [runId],
  );
  return new RunDetails(
    runFromRow(runRow),
    groupEpochs(epochRows),
    await loadTestMetrics(connection, runId),
    artifacts.map((row) => withoutNulls(row) as unknown as ArtifactRecord),
    events.map((row) =>
      withoutNulls({
        ...row,
        time: row.time instanceof Date ? row.time.toISOString() : row.time,
        data: parseJson(row.data),
      }) as unknown as EventRecord
    ),
  );
}

function groupEpochs(rows: Record<string, unknown>[]): EpochRecord[] {
  const epochs: EpochRecord[] = [];
  let current: EpochRecord | undefined;
  for (const row of rows) {
    const segment = Number(row.segment);
    const epoch = Number(row.epoch);
    if (current === undefined || current.segment !== segment || current.epoch !== epoch) {
      current = { epoch, segment, metrics: {} };
      epochs.push(current);
    }
    current.metrics[String(row.metric)] = row.value as number | null;
  }
  return epochs;
}

async function loadTestMetrics(connection: DuckDBConnection, runId: string): Promise<TestMetrics[]> {
  const summaries = await queryRows(
    connection,
    "SELECT * FROM test_metrics WHERE run_id = $1 ORDER BY split",
    [runId],
  );
  const classes = await queryRows(
    connection,
    `SELECT split, class_id AS "classId", name, images, instances, precision, recall, map50, map50_95
     FROM class_metrics WHERE run_id = $1 ORDER BY split, class_id`,
    [runId],
  );
  return summaries.map((row) => {
    const metrics: TestMetrics = {
      split: String(row.split),
      weights: String(row.weights ?? ""),
      images: Number(row.images),
      instances: Number(row.instances),
      precision: row.precision as number,
      recall: row.recall as number,
      map50: row.map50 as number,
      map50_95: row.map50_95 as number,
      classes: classes.filter((entry) => entry.split === row.split).map(({ split: _, ...entry }) =>
        entry as unknown as ClassMetrics
      ),
    };
    const speed = parseJson(row.speed_ms);
    const confusion = parseJson(row.confusion_matrix);
    if (speed !== undefined) metrics.speedMs = speed as Record<string, number>;
    if (confusion !== undefined) metrics.confusionMatrix = confusion as TestMetrics["confusionMatrix"];
    return metrics;
  });
}

/** Lists runs, newest first, with their best validation and test mAP50-95. */
export async function listRunsQuery(connection: DuckDBConnection, filter: ListRunsFilter): Promise<RunList> {
  const { status, backend, dataset, limit = 50 } = filter;
  const rows = await queryRows(
    connection,
    `SELECT r.*,
       (SELECT max(m.epochs) FROM run_metrics m WHERE m.run_id = r.id) AS epochs_done,
       (SELECT m.max_value FROM run_metrics m WHERE m.run_id = r.id AND m.metric = $5) AS best,
       (SELECT t.map50_95 FROM test_metrics t WHERE t.run_id = r.id AND t.split = 'test') AS test
     FROM runs r
     WHERE ($1::VARCHAR IS NULL OR r.status = $1)
       AND ($2::VARCHAR IS NULL OR r.backend = $2)
       AND ($3::VARCHAR IS NULL OR $3 IN (r.dataset_path, r.dataset_repo, r.dataset_fingerprint))
     ORDER BY r.created_at DESC, r.id
     LIMIT $4`,
    [status ?? null, backend ?? null, dataset ?? null, checkLimit(limit), DEFAULT_METRIC],
  );
  return new RunList(rows.map((row) => {
    const run = runFromRow(row);
    return withoutNulls({
      id: run.id,
      createdAt: run.createdAt,
      status: run.status,
      backend: run.backend,
      model: run.model,
      dataset: run.datasetRepo ?? run.datasetPath,
      epochs: Number(row.epochs_done ?? 0),
      epochsPlanned: run.epochsPlanned,
      bestMap50_95: row.best,
      testMap50_95: row.test,
    }) as unknown as RunSummary;
  }));
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new OptionsError("limit must be a positive integer", { value: limit });
  }
  return limit;
}

/** Ranks runs by the best epoch of a metric or by a test metric. */
export async function leaderboardQuery(
  connection: DuckDBConnection,
  options: LeaderboardOptions,
): Promise<Leaderboard> {
  const { metric = DEFAULT_METRIC, split = "test", dataset, limit = 10 } = options;
  const order = options.order ?? (metric.toLowerCase().includes("loss") ? "min" : "max");
  const direction = order === "max" ? "DESC" : "ASC";
  const datasetFilter =
    "($2::VARCHAR IS NULL OR $2 IN (r.dataset_path, r.dataset_repo, r.dataset_fingerprint))";

  let rows: Record<string, unknown>[];
  if (metric.startsWith("test/")) {
    const field = metric.slice("test/".length);
    if (!TEST_FIELDS.includes(field)) {
      throw new OptionsError(`Unknown test metric ${JSON.stringify(metric)}`, {
        hint: `Use one of ${TEST_FIELDS.map((name) => "test/" + name).join(", ")}`,
      });
    }
    // The field name comes from TEST_FIELDS, so interpolating it is safe.
    rows = await queryRows(
      connection,
      `SELECT r.*, t.${field} AS value, NULL AS best_segment, NULL AS best_epoch
       FROM test_metrics t JOIN runs r ON r.id = t.run_id
       WHERE t.split = $1 AND t.${field} IS NOT NULL AND ${datasetFilter}
       ORDER BY value ${direction}, r.created_at LIMIT $3`,
      [split, dataset ?? null, checkLimit(limit)],
    );
  } else {
    const side = order;
    rows = await queryRows(
      connection,
      `SELECT r.*, m.${side}_value AS value, m.${side}_segment AS best_segment, m.${side}_epoch AS best_epoch
       FROM run_metrics m JOIN runs r ON r.id = m.run_id
       WHERE m.metric = $1 AND m.${side}_value IS NOT NULL AND ${datasetFilter}
       ORDER BY value ${direction}, r.created_at LIMIT $3`,
      [metric, dataset ?? null, checkLimit(limit)],
    );
    if (rows.length === 0) await checkMetricKnown(connection, metric);
  }

  const ranked = rows.map((row, i) => {
    const run = runFromRow(row);
    return withoutNulls({
      rank: i + 1,
      id: run.id,
      model: run.model,
      dataset: run.datasetRepo ?? run.datasetPath,
      status: run.status,
      value: row.value,
      segment: row.best_segment,
      epoch: row.best_epoch,
      createdAt: run.createdAt,
    }) as unknown as LeaderboardRow;
  });
  return new Leaderboard(metric, order, ranked);
}

/** Throws {@linkcode NotFoundError} naming the known metrics when `metric` was never recorded. */
async function checkMetricKnown(connection: DuckDBConnection, metric: string): Promise<void> {
  const known = await queryRows(connection, "SELECT DISTINCT metric FROM run_metrics ORDER BY metric");
  if (known.length === 0) return;
  const names = known.map((row) => String(row.metric));
  if (names.includes(metric)) return;
  throw new NotFoundError(`No run in the history has metric ${JSON.stringify(metric)}`, {
    hint: `Use a results.csv column name, such as ${names.slice(0, 12).join(", ")}, or test/map50_95`,
  });
}

/** Builds the side-by-side comparison of the given runs. */
export async function compareRunsQuery(
  connection: DuckDBConnection,
  ids: string[],
  path: string,
): Promise<RunComparison> {
  const details: RunDetails[] = [];
  for (const id of ids) details.push(await getRunQuery(connection, id, path));
  const runs = details.map((detail) => detail.run);
  const rows: Record<string, unknown>[] = [];
  const addRow = (label: string, value: (detail: RunDetails) => unknown) => {
    const row: Record<string, unknown> = { label };
    for (const detail of details) row[detail.run.id] = value(detail);
    rows.push(row);
  };

  addRow("model", (detail) => detail.run.model);
  addRow("dataset", (detail) => detail.run.datasetRepo ?? detail.run.datasetPath);
  addRow("status", (detail) => detail.run.status);
  addRow("epochs", (detail) => detail.epochs.length);
  addRow("minutes", (detail) => durationMinutes(detail.run));

  const metricNames = [
    ...new Set(details.flatMap((detail) => detail.epochs.flatMap((e) => Object.keys(e.metrics)))),
  ];
  for (const metric of metricNames.filter((name) => name.startsWith("metrics/"))) {
    addRow(`best ${metric}`, (detail) => bestValue(detail.epochs, metric, "max"));
  }
  for (const metric of metricNames.filter((name) => name.startsWith("val/"))) {
    addRow(`lowest ${metric}`, (detail) => bestValue(detail.epochs, metric, "min"));
  }
  for (const field of TEST_FIELDS) {
    addRow(
      `test ${field}`,
      (detail) => detail.testMetrics.find((entry) => entry.split === "test")?.[field as "map50"],
    );
  }

  // Training arguments that differ between the runs, so the reason for a gap is visible.
  const argNames = [...new Set(runs.flatMap((run) => Object.keys(run.args)))].sort();
  for (const name of argNames) {
    const values = runs.map((run) => JSON.stringify(run.args[name]));
    if (new Set(values).size > 1) addRow(`arg ${name}`, (detail) => detail.run.args[name]);
  }

  const epochs = Object.fromEntries(details.map((detail) => [detail.run.id, detail.epochs]));
  return new RunComparison(runs, rows, epochs);
}

function bestValue(epochs: EpochRecord[], metric: string, order: "max" | "min"): number | undefined {
  const values = epochs.map((epoch) => epoch.metrics[metric]).filter((value): value is number =>
    typeof value === "number"
  );
  if (values.length === 0) return undefined;
  return order === "max" ? Math.max(...values) : Math.min(...values);
}

function durationMinutes(run: RunRecord): number | undefined {
  if (!run.startedAt || !run.finishedAt) return undefined;
  return Math.round((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 6000) / 10;
}

/** Writes every table as `<folder>/<table>.parquet`. */
export async function exportTables(connection: DuckDBConnection, folder: string): Promise<string[]> {
  const files: string[] = [];
  for (const table of TABLES) {
    const file = join(folder, `${table}.parquet`);
    // COPY takes no bound parameter for its target, so the path goes in as an escaped SQL string literal.
    await connection.run(`COPY (SELECT * FROM ${table}) TO '${file.replaceAll("'", "''")}' (FORMAT parquet)`);
    files.push(file);
  }
  return files;
}

function parseJson(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  return typeof value === "string" ? JSON.parse(value) : value;
}

function withoutNulls(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null && value !== undefined));
}
