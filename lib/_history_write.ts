/**
 * Write steps of the run history that take more than one statement: epoch rows
 * with their per-run summary, test metrics, and the repair of runs whose trainer
 * process died.
 *
 * @module
 */
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { NotFoundError } from "./errors.ts";
import type { EpochRecord } from "./history.ts";
import type { TestMetrics } from "./metrics.ts";
import { queryRows } from "./_history_db.ts";
import { metricValue } from "./_history_rows.ts";
import { summarySql } from "./_history_schema.ts";

/** Throws {@linkcode NotFoundError} unless the run exists. */
export async function requireRun(connection: DuckDBConnection, runId: string, path: string): Promise<void> {
  const rows = await queryRows(connection, "SELECT 1 FROM runs WHERE id = $1", [runId]);
  if (rows.length === 0) {
    throw new NotFoundError(`Run ${JSON.stringify(runId)} not found in history ${path}`, {
      hint: "Create it with createRun() first, or list run ids with history.listRuns()",
    });
  }
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
  await connection.run(
    `INSERT INTO epochs (run_id, segment, epoch, metric, value) VALUES ${tuples.join(", ")}`,
    [runId, epoch.segment ?? 1, epoch.epoch, ...values],
  );
}

/** Recomputes a run's run_metrics rows from its stored epochs. */
export async function refreshRunMetrics(connection: DuckDBConnection, runId: string): Promise<void> {
  await connection.run("DELETE FROM run_metrics WHERE run_id = $1", [runId]);
  await connection.run(summarySql("epochs", "run_id = $1"), [runId]);
}

/**
 * Appends many epochs through DuckDB's appender into a temporary table, then
 * moves them into epochs and computes the run's summary from the temporary
 * table, so that the large epochs table is not scanned.
 */
export async function appendEpochs(
  connection: DuckDBConnection,
  runId: string,
  epochs: EpochRecord[],
): Promise<void> {
  await connection.run(
    "CREATE OR REPLACE TEMP TABLE new_epochs (run_id VARCHAR, segment INTEGER, epoch INTEGER, metric VARCHAR, value DOUBLE)",
  );
  const appender = await connection.createAppender("new_epochs", null, "temp");
  try {
    for (const epoch of epochs) {
      const segment = epoch.segment ?? 1;
      for (const [metric, raw] of Object.entries(epoch.metrics)) {
        const value = metricValue(raw);
        appender.appendVarchar(runId);
        appender.appendInteger(segment);
        appender.appendInteger(epoch.epoch);
        appender.appendVarchar(metric);
        if (value === null) appender.appendNull();
        else appender.appendDouble(value);
        appender.endRow();
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }

  await connection.run(
    "INSERT INTO epochs (run_id, segment, epoch, metric, value) SELECT run_id, segment, epoch, metric, value FROM new_epochs",
  );
  await connection.run("DELETE FROM run_metrics WHERE run_id = $1", [runId]);
  await connection.run(summarySql("new_epochs", "TRUE"));
  await connection.run("DROP TABLE new_epochs");
}

/** Replaces the test metrics and per-class rows of one run and split. */
export async function recordTestMetricsRows(
  connection: DuckDBConnection,
  runId: string,
  metrics: TestMetrics,
): Promise<void> {
  const key = [runId, metrics.split];
  await connection.run("DELETE FROM test_metrics WHERE run_id = $1 AND split = $2", key);
  await connection.run("DELETE FROM class_metrics WHERE run_id = $1 AND split = $2", key);
  await connection.run(
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
  await connection.run(
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
    await connection.run(
      `UPDATE runs SET status = 'interrupted', status_message = $2, finished_at = coalesce(finished_at, now()),
        updated_at = now() WHERE id = $1`,
      [id, message],
    );
    await connection.run(
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
