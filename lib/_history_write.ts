/**
 * Write steps of the run history that take more than one statement: epoch rows
 * with their per-run summary, test metrics, and the repair of runs whose trainer
 * process died.
 *
 * @module
 */
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { NotFoundError } from "./errors.ts";
import type { EpochRecord } from "./history_records.ts";
import type { TestMetrics } from "./metrics.ts";
import { execute, queryRows } from "./_history_db.ts";
import { metricValue } from "./_history_rows.ts";
import { summarySql } from "./_history_schema.ts";
import type { EpochStage } from "./_history_stage.ts";

/**
 * Throws {@linkcode NotFoundError} unless the run exists, and returns whether any
 * of its epochs is stored (from the small run_metrics table), in one query.
 */
export async function requireRun(
  connection: DuckDBConnection,
  runId: string,
  path: string,
): Promise<{ hasEpochs: boolean }> {
  const [row] = await queryRows(
    connection,
    `SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1) AS run,
       EXISTS (SELECT 1 FROM run_metrics WHERE run_id = $1) AS epochs`,
    [runId],
  );
  if (!row.run) {
    throw new NotFoundError(`Run ${JSON.stringify(runId)} not found in history ${path}`, {
      hint: "Create it with createRun() first, or list run ids with history.listRuns()",
    });
  }
  return { hasEpochs: Boolean(row.epochs) };
}

/** Inserts one epoch's metric rows with a single statement. */
export async function insertEpoch(
  connection: DuckDBConnection,
  runId: string,
  epoch: EpochRecord,
): Promise<void> {
  const entries = Object.entries(epoch.metrics);
  if (entries.length === 0) return;
  const values: DuckDBValue[] = [];
  const tuples = entries.map(([metric, value], i) => {
    values.push(metric, metricValue(value));
    return `($1, $2, $3, $${2 * i + 4}, $${2 * i + 5})`;
  });
  await execute(
    connection,
    `INSERT INTO epochs (run_id, segment, epoch, metric, value) VALUES ${tuples.join(", ")}`,
    [runId, epoch.segment ?? 1, epoch.epoch, ...values],
  );
}

/** Recomputes a run's run_metrics rows from its stored epochs. */
export async function refreshRunMetrics(connection: DuckDBConnection, runId: string): Promise<void> {
  await execute(connection, "DELETE FROM run_metrics WHERE run_id = $1", [runId]);
  await execute(connection, summarySql("epochs", "run_id = $1"), [runId]);
}

/**
 * Appends the epochs of a run that has none stored (neither in epochs nor in
 * run_metrics) and inserts the run's summary computed in memory, so that the
 * large epochs table is never scanned. With a `stage`, both wait there.
 */
export async function appendEpochs(
  connection: DuckDBConnection,
  runId: string,
  epochs: EpochRecord[],
  stage?: EpochStage,
): Promise<void> {
  if (stage) {
    await stage.add(runId, epochs, summarizeEpochs(epochs));
    return;
  }
  // Column order of the epochs table: version 2 appended segment after the version 1 columns.
  const appender = await connection.createAppender("epochs");
  try {
    for (const epoch of epochs) {
      const segment = epoch.segment ?? 1;
      for (const [metric, raw] of Object.entries(epoch.metrics)) {
        const value = metricValue(raw);
        appender.appendVarchar(runId);
        appender.appendInteger(epoch.epoch);
        appender.appendVarchar(metric);
        if (value === null) appender.appendNull();
        else appender.appendDouble(value);
        appender.appendInteger(segment);
        appender.endRow();
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  await insertSummaries(connection, [[runId, summarizeEpochs(epochs)]]);
}

/** One run_metrics row: [metric, count, min, minSegment, minEpoch, max, maxSegment, maxEpoch, last, lastSegment, lastEpoch]. */
export type SummaryRow = [string, number, ...(number | null)[]];

/** Running summary of one metric: count, and [value, segment, epoch] of the min, max and last. */
interface MetricStat {
  count: number;
  min?: [number, number, number];
  max?: [number, number, number];
  last?: [number | null, number, number];
}

/**
 * Computes run_metrics rows in memory, with the rules of `summarySql()`: NULL
 * values are skipped for min and max, ties go to the earliest (segment, epoch),
 * and the last value is the one at the latest position, even when NULL.
 * `stats` carries the summary of earlier epochs, which must all come before `epochs`.
 */
export function summarizeEpochs(epochs: EpochRecord[], stats = new Map<string, MetricStat>()): SummaryRow[] {
  const ordered = isOrdered(epochs) ? epochs : [...epochs].sort(
    (a, b) => (a.segment ?? 1) - (b.segment ?? 1) || a.epoch - b.epoch,
  );
  // The tuples belong to `stats`, so they are updated in place: a bulk import visits millions of values.
  for (const { segment: given, epoch, metrics } of ordered) {
    const segment = given ?? 1;
    for (const metric of Object.keys(metrics)) {
      const value = metricValue(metrics[metric]);
      let stat = stats.get(metric);
      if (stat === undefined) {
        stat = { count: 0 };
        stats.set(metric, stat);
      }
      stat.count++;
      setTriple(stat, "last", value, segment, epoch);
      if (value === null) continue;
      if (stat.min === undefined || value < stat.min[0]) setTriple(stat, "min", value, segment, epoch);
      if (stat.max === undefined || value > stat.max[0]) setTriple(stat, "max", value, segment, epoch);
    }
  }
  return [...stats].map(([metric, stat]) => [
    metric,
    stat.count,
    ...(stat.min ?? [null, null, null]),
    ...(stat.max ?? [null, null, null]),
    ...(stat.last ?? [null, null, null]),
  ]);
}

/** Tells whether epochs are in (segment, epoch) order already, which is the usual case. */
function isOrdered(epochs: EpochRecord[]): boolean {
  for (let i = 1; i < epochs.length; i++) {
    const previous = epochs[i - 1];
    const current = epochs[i];
    const bySegment = (current.segment ?? 1) - (previous.segment ?? 1);
    if (bySegment < 0 || (bySegment === 0 && current.epoch < previous.epoch)) return false;
  }
  return true;
}

function setTriple(
  stat: MetricStat,
  side: "min" | "max" | "last",
  value: number | null,
  segment: number,
  epoch: number,
): void {
  const triple = stat[side];
  if (triple === undefined) {
    stat[side] = [value, segment, epoch] as [number, number, number];
    return;
  }
  triple[0] = value as number;
  triple[1] = segment;
  triple[2] = epoch;
}

/**
 * Stores one epoch. A new epoch after every stored one (the usual case while
 * training) updates the run's summary from its run_metrics rows alone. An epoch
 * that replaces or precedes stored ones recomputes it from the run's epochs.
 */
export async function recordOneEpoch(
  connection: DuckDBConnection,
  runId: string,
  epoch: EpochRecord,
): Promise<void> {
  const segment = epoch.segment ?? 1;
  const rows = await queryRows(connection, "SELECT * FROM run_metrics WHERE run_id = $1", [runId]);
  const stats = new Map<string, MetricStat>();
  let lastPosition = -1;
  for (const row of rows) {
    const triple = (side: string) =>
      row[`${side}_segment`] === null
        ? undefined
        : [row[`${side}_value`], row[`${side}_segment`], row[`${side}_epoch`]] as [number, number, number];
    stats.set(String(row.metric), {
      count: Number(row.epochs),
      min: triple("min"),
      max: triple("max"),
      last: triple("last"),
    });
    lastPosition = Math.max(lastPosition, Number(row.last_segment) * 1_000_000 + Number(row.last_epoch));
  }

  if (segment * 1_000_000 + epoch.epoch > lastPosition) {
    await insertEpoch(connection, runId, epoch);
    const summary = summarizeEpochs([epoch], stats);
    await execute(connection, "DELETE FROM run_metrics WHERE run_id = $1", [runId]);
    await insertSummaries(connection, [[runId, summary]]);
    return;
  }
  await execute(connection, "DELETE FROM epochs WHERE run_id = $1 AND segment = $2 AND epoch = $3", [
    runId,
    segment,
    epoch.epoch,
  ]);
  await insertEpoch(connection, runId, epoch);
  await refreshRunMetrics(connection, runId);
}

/** Appends the run_metrics rows of each [run id, rows] entry with one appender. */
export async function insertSummaries(
  connection: DuckDBConnection,
  summaries: [string, SummaryRow[]][],
): Promise<void> {
  const appender = await connection.createAppender("run_metrics");
  try {
    for (const [runId, rows] of summaries) {
      for (const [metric, count, ...numbers] of rows) {
        appender.appendVarchar(runId);
        appender.appendVarchar(metric);
        appender.appendInteger(count);
        numbers.forEach((value, i) => {
          // Every third number (from the first) is a value; the others are segment and epoch.
          if (value === null) appender.appendNull();
          else if (i % 3 === 0) appender.appendDouble(value);
          else appender.appendInteger(value);
        });
        appender.endRow();
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Replaces the test metrics and per-class rows of one run and split. */
export async function recordTestMetricsRows(
  connection: DuckDBConnection,
  runId: string,
  metrics: TestMetrics,
): Promise<void> {
  const key = [runId, metrics.split];
  await execute(connection, "DELETE FROM test_metrics WHERE run_id = $1 AND split = $2", key);
  await execute(connection, "DELETE FROM class_metrics WHERE run_id = $1 AND split = $2", key);
  await execute(
    connection,
    `INSERT INTO test_metrics (run_id, split, weights, images, instances, precision, recall, map50, map50_95,
      speed_ms, confusion_matrix, recorded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CAST($10 AS JSON), CAST($11 AS JSON), now())`,
    [
      ...key,
      metrics.weights,
      metrics.images,
      metrics.instances,
      metricValue(metrics.precision),
      metricValue(metrics.recall),
      metricValue(metrics.map50),
      metricValue(metrics.map50_95),
      metrics.speedMs === undefined ? null : JSON.stringify(metrics.speedMs),
      metrics.confusionMatrix === undefined ? null : JSON.stringify(metrics.confusionMatrix),
    ],
  );
  if (metrics.classes.length === 0) return;

  const values: DuckDBValue[] = [...key];
  const tuples = metrics.classes.map((entry) => {
    const first = values.length + 1;
    values.push(
      entry.classId,
      entry.name,
      entry.images,
      entry.instances,
      metricValue(entry.precision),
      metricValue(entry.recall),
      metricValue(entry.map50),
      metricValue(entry.map50_95),
    );
    return `($1, $2, ${Array.from({ length: 8 }, (_, i) => `$${first + i}`).join(", ")})`;
  });
  await execute(
    connection,
    `INSERT INTO class_metrics (run_id, split, class_id, name, images, instances, precision, recall, map50, map50_95)
     VALUES ${tuples.join(", ")}`,
    values,
  );
}

/**
 * Marks as interrupted every run still `running` whose trainer process, on this
 * host, no longer exists. Its epochs stay. Returns the ids it changed.
 */
export async function repairInterruptedRuns(connection: DuckDBConnection): Promise<string[]> {
  // NOTE: only Linux is checked, through /proc; elsewhere running runs stay as they are.
  if (Deno.build.os !== "linux") return [];
  const host = Deno.hostname();
  const rows = await queryRows(
    connection,
    "SELECT id, pid FROM runs WHERE status = 'running' AND pid IS NOT NULL AND hostname = $1",
    [host],
  );
  const repaired: string[] = [];
  for (const row of rows) {
    const pid = Number(row.pid);
    if (await processExists(pid)) continue;
    const id = String(row.id);
    const message =
      `Trainer process ${pid} on ${host} ended while the run was running; its finished epochs are kept`;
    await execute(
      connection,
      `UPDATE runs SET status = 'interrupted', status_message = $2, finished_at = coalesce(finished_at, now()),
        updated_at = now() WHERE id = $1`,
      [id, message],
    );
    await execute(
      connection,
      "INSERT INTO events (run_id, time, type, message) VALUES ($1, now(), 'status', $2)",
      [id, message],
    );
    repaired.push(id);
  }
  return repaired;
}

async function processExists(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
