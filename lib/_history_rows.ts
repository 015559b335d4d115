/**
 * Conversion between history records and table rows: column names, types,
 * token redaction on the way in, and JavaScript values on the way out.
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import { OptionsError, redactTokens } from "./errors.ts";
import type { RunRecord } from "./history_records.ts";

type ColumnKind = "text" | "time" | "int" | "json";

/** RunRecord field, runs column and storage kind, in table order. */
export const RUN_COLUMNS: readonly [keyof RunRecord, string, ColumnKind][] = [
  ["id", "id", "text"],
  ["createdAt", "created_at", "time"],
  ["startedAt", "started_at", "time"],
  ["finishedAt", "finished_at", "time"],
  ["backend", "backend", "text"],
  ["flavor", "flavor", "text"],
  ["jobId", "job_id", "text"],
  ["jobUrl", "job_url", "text"],
  ["jobOwner", "job_owner", "text"],
  ["status", "status", "text"],
  ["statusMessage", "status_message", "text"],
  ["datasetPath", "dataset_path", "text"],
  ["datasetRepo", "dataset_repo", "text"],
  ["datasetFingerprint", "dataset_fingerprint", "text"],
  ["model", "model", "text"],
  ["task", "task", "text"],
  ["args", "args", "json"],
  ["versions", "versions", "json"],
  ["seed", "seed", "int"],
  ["gitCommit", "git_commit", "text"],
  ["runDir", "run_dir", "text"],
  ["pid", "pid", "int"],
  ["hostname", "hostname", "text"],
  ["epochsPlanned", "epochs_planned", "int"],
  ["importKey", "import_key", "text"],
];

/** SQL placeholder for parameter `n` of a column of `kind`, with the cast it needs. */
export function placeholder(kind: ColumnKind, n: number): string {
  if (kind === "time") return `CAST($${n} AS TIMESTAMPTZ)`;
  if (kind === "json") return `CAST($${n} AS JSON)`;
  return `$${n}`;
}

/** Converts a RunRecord field to its stored value, redacting Hugging Face tokens from text. */
export function toColumnValue(field: string, kind: ColumnKind, value: unknown): DuckDBValue {
  if (value === undefined || value === null) return null;
  switch (kind) {
    case "text":
      return redactTokens(String(value));
    case "json":
      return redactTokens(JSON.stringify(value));
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        throw new OptionsError(`Run field ${field} must be an integer`, { value });
      }
      return value;
    case "time": {
      const date = value instanceof Date ? value : new Date(String(value));
      if (Number.isNaN(date.getTime())) {
        throw new OptionsError(`Run field ${field} must be an ISO 8601 date and time`, {
          value,
          hint: 'Pass new Date().toISOString(), for example "2026-01-31T12:00:00.000Z"',
        });
      }
      return date.toISOString();
    }
  }
}

/** Builds a RunRecord from a row of the runs table. */
export function runFromRow(row: Record<string, unknown>): RunRecord {
  const run: Record<string, unknown> = {};
  for (const [field, column, kind] of RUN_COLUMNS) {
    const value = row[column];
    if (value === null || value === undefined) continue;
    if (kind === "time") run[field] = value instanceof Date ? value.toISOString() : String(value);
    else if (kind === "json") run[field] = typeof value === "string" ? JSON.parse(value) : value;
    else run[field] = value;
  }
  run.args ??= {};
  run.versions ??= {};
  return run as unknown as RunRecord;
}

/** Converts a metric value for storage: NaN and missing values become NULL. */
export function metricValue(value: number | null | undefined): number | null {
  if (value === null || value === undefined || Number.isNaN(value)) return null;
  return value;
}

/** Converts caller-supplied `sql()` parameters to DuckDB values, rejecting types DuckDB cannot bind. */
export function toParams(
  params: unknown[] | Record<string, unknown> | undefined,
): DuckDBValue[] | Record<string, DuckDBValue> | undefined {
  if (params === undefined) return undefined;
  const convert = (value: unknown, name: string): DuckDBValue => {
    if (value === null || value === undefined) return null;
    if (value instanceof Date) return value.toISOString();
    if (["string", "number", "boolean", "bigint"].includes(typeof value)) return value as DuckDBValue;
    throw new OptionsError(`sql() parameter ${name} has unsupported type ${typeof value}`, {
      value,
      hint:
        "Pass strings, numbers, booleans, bigints, Dates or null; serialise objects with JSON.stringify()",
    });
  };
  if (Array.isArray(params)) return params.map((value, i) => convert(value, `$${i + 1}`));
  return Object.fromEntries(Object.entries(params).map(([key, value]) => [key, convert(value, `$${key}`)]));
}
