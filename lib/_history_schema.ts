/**
 * Tables of the run history and the forward migrations between schema versions.
 * A new history runs every migration from version 0; an older one runs the
 * migrations after its stored version, in one transaction.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { HistoryError } from "./errors.ts";
import { inTransaction, queryRows } from "./_history_db.ts";

/** Schema version this trainbook writes. */
export const SCHEMA_VERSION = 2;

/** `MIGRATIONS[n]` upgrades a history from version n to version n + 1. */
const MIGRATIONS: readonly string[][] = [
  // Version 1: runs, epochs in a long table, test metrics, artifacts.
  [
    `CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
    `CREATE TABLE runs (
      id VARCHAR PRIMARY KEY,
      created_at TIMESTAMPTZ NOT NULL,
      started_at TIMESTAMPTZ,
      finished_at TIMESTAMPTZ,
      backend VARCHAR NOT NULL,
      flavor VARCHAR,
      job_id VARCHAR,
      job_url VARCHAR,
      status VARCHAR NOT NULL,
      status_message VARCHAR,
      dataset_path VARCHAR,
      dataset_repo VARCHAR,
      dataset_fingerprint VARCHAR,
      model VARCHAR NOT NULL,
      task VARCHAR,
      args JSON,
      versions JSON,
      seed BIGINT,
      git_commit VARCHAR,
      run_dir VARCHAR,
      pid BIGINT,
      hostname VARCHAR,
      updated_at TIMESTAMPTZ
    )`,
    `CREATE TABLE epochs (run_id VARCHAR NOT NULL, epoch INTEGER NOT NULL, metric VARCHAR NOT NULL, value DOUBLE)`,
    `CREATE TABLE test_metrics (
      run_id VARCHAR NOT NULL, split VARCHAR NOT NULL, weights VARCHAR,
      images INTEGER, instances INTEGER, precision DOUBLE, recall DOUBLE, map50 DOUBLE, map50_95 DOUBLE,
      speed_ms JSON, confusion_matrix JSON, recorded_at TIMESTAMPTZ
    )`,
    `CREATE TABLE class_metrics (
      run_id VARCHAR NOT NULL, split VARCHAR NOT NULL, class_id INTEGER NOT NULL, name VARCHAR,
      images INTEGER, instances INTEGER, precision DOUBLE, recall DOUBLE, map50 DOUBLE, map50_95 DOUBLE
    )`,
    `CREATE TABLE artifacts (
      run_id VARCHAR NOT NULL, path VARCHAR NOT NULL, size BIGINT, sha256 VARCHAR, kind VARCHAR,
      recorded_at TIMESTAMPTZ
    )`,
  ],
  // Version 2: training segments (resumed runs), HF job owner, planned epochs, import key,
  // an events table, and run_metrics, a per-run summary of every metric that keeps the
  // leaderboard from scanning the whole epochs table.
  [
    `ALTER TABLE runs ADD COLUMN job_owner VARCHAR`,
    `ALTER TABLE runs ADD COLUMN epochs_planned INTEGER`,
    `ALTER TABLE runs ADD COLUMN import_key VARCHAR`,
    `ALTER TABLE epochs ADD COLUMN segment INTEGER DEFAULT 1`,
    `CREATE SEQUENCE event_seq`,
    `CREATE TABLE events (
      seq BIGINT DEFAULT nextval('event_seq'), run_id VARCHAR NOT NULL, time TIMESTAMPTZ NOT NULL,
      type VARCHAR NOT NULL, message VARCHAR, data JSON
    )`,
    `CREATE TABLE run_metrics (
      run_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, epochs INTEGER,
      min_value DOUBLE, min_segment INTEGER, min_epoch INTEGER,
      max_value DOUBLE, max_segment INTEGER, max_epoch INTEGER,
      last_value DOUBLE, last_segment INTEGER, last_epoch INTEGER
    )`,
    summarySql("epochs", "TRUE"),
  ],
];

/**
 * SQL that inserts the run_metrics rows computed from the rows of `source` (a table shaped like
 * epochs) that match `where`. Positions pack (segment, epoch) into one number; ties go to the
 * earliest position, and `summarizeEpochs()` in _history_write.ts computes the same in memory.
 */
export function summarySql(source: string, where: string): string {
  const position = "(segment::BIGINT * 1000000 + epoch)";
  const minPosition = `arg_min(${position}, (value, ${position})) FILTER (value IS NOT NULL)`;
  const maxPosition = `arg_max(${position}, (value, -${position})) FILTER (value IS NOT NULL)`;
  const split = (expression: string) =>
    `(${expression} // 1000000)::INTEGER, (${expression} % 1000000)::INTEGER`;
  return `INSERT INTO run_metrics
    SELECT run_id, metric, count(*)::INTEGER,
      min(value), ${split(minPosition)},
      max(value), ${split(maxPosition)},
      arg_max_null(value, ${position}), ${split(`max(${position})`)}
    FROM ${source} WHERE ${where} GROUP BY run_id, metric`;
}

/** Tells whether the database has no tables at all (a new file). */
async function isEmpty(connection: DuckDBConnection): Promise<boolean> {
  const rows = await queryRows(
    connection,
    "SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = current_database()",
  );
  return rows[0].n === 0;
}

/** Reads the stored schema version, or `undefined` when the database has no meta table. */
export async function readSchemaVersion(connection: DuckDBConnection): Promise<number | undefined> {
  const tables = await queryRows(
    connection,
    "SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'meta'",
  );
  if (tables[0].n === 0) return undefined;
  const rows = await queryRows(connection, "SELECT value FROM meta WHERE key = 'schema_version'");
  return rows.length === 0 ? undefined : Number(rows[0].value);
}

/**
 * Creates the schema in a new database or upgrades an older one in place.
 * Rejects a database written by a newer trainbook and one that is not a history,
 * without changing either.
 */
export async function ensureSchema(connection: DuckDBConnection, path: string): Promise<void> {
  let version = await readSchemaVersion(connection);
  if (version === undefined) {
    if (!(await isEmpty(connection))) {
      throw new HistoryError(
        `${path} is a DuckDB database but not a trainbook run history (it has no meta table)`,
        {
          hint: "Pass another path to History.open(); trainbook left the file unchanged",
        },
      );
    }
    version = 0;
  }
  if (!Number.isInteger(version) || version > SCHEMA_VERSION) {
    throw new HistoryError(
      `History ${path} has schema version ${version}, newer than version ${SCHEMA_VERSION} that this trainbook reads`,
      { hint: "Update trainbook to read it; trainbook left the file unchanged" },
    );
  }
  if (version === SCHEMA_VERSION) return;

  const from = version;
  await inTransaction(connection, async () => {
    for (let step = from; step < SCHEMA_VERSION; step++) {
      for (const statement of MIGRATIONS[step]) await connection.run(statement);
    }
    await connection.run(
      "INSERT OR REPLACE INTO meta VALUES ('schema_version', $1)",
      [String(SCHEMA_VERSION)],
    );
  });
}
