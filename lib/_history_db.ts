/**
 * Opens the history's DuckDB file for one operation at a time. DuckDB lets only
 * one process open a database file, so every operation opens the file, works,
 * and closes it again. An operation that meets another process's lock retries
 * with bounded exponential back-off.
 *
 * Inside one process, operations on the same file run one after another. DuckDB's
 * lock does not stop a second instance in the same process (seen with
 * @duckdb/node-api 1.5.6), and DuckDB's concurrency documentation allows one
 * writing instance per file, because each instance caches data and catalog in memory.
 *
 * @module
 */
import type {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBMaterializedResult,
  DuckDBPreparedStatement,
  DuckDBValue,
} from "@duckdb/node-api";
import { resolve } from "node:path";
import { HistoryError } from "./errors.ts";

type DuckDBModule = typeof import("@duckdb/node-api");
let duckdbLoading: Promise<DuckDBModule> | undefined;
let duckdb: DuckDBModule | undefined;

/**
 * Loads @duckdb/node-api (and its native library) on first use, so importing
 * trainbook does not pay for it.
 */
export async function loadDuckDB(): Promise<DuckDBModule> {
  duckdbLoading ??= import("@duckdb/node-api");
  duckdb = await duckdbLoading;
  return duckdb;
}

type DuckDBBindings = typeof import("@duckdb/node-bindings");
let bindingsLoading: Promise<DuckDBBindings> | undefined;

/**
 * Loads @duckdb/node-bindings, the native layer under @duckdb/node-api (installed
 * with it, same version), for copies of typed arrays straight into data chunk vectors.
 */
export async function loadDuckDBBindings(): Promise<DuckDBBindings> {
  bindingsLoading ??= import("@duckdb/node-bindings").then((module) => module.default ?? module);
  return await bindingsLoading;
}

/** How long an operation keeps retrying a locked file, in milliseconds. */
export const LOCK_TIMEOUT_MS = 30_000;
const FIRST_DELAY_MS = 10;
const MAX_DELAY_MS = 250;

/** Tail of the promise chain of the operations queued per resolved file path. */
const queues = new Map<string, Promise<unknown>>();

/** Bytes 8 to 11 of a DuckDB database file, after the header checksum (seen in files of DuckDB 1.5). */
const DUCKDB_MAGIC = "DUCK";

/** Options of {@linkcode withDatabase}. */
export interface DatabaseAccess {
  /** Open the file read-only (other readers may share it). */
  readOnly?: boolean;
  /** Create the file when it does not exist. */
  create?: boolean;
  /** Maximum milliseconds to wait for another process's lock. */
  lockTimeoutMs?: number;
}

/** Runs `work` after every earlier operation of this process on `path` has ended. */
export function serialize<T>(path: string, work: () => Promise<T>): Promise<T> {
  const key = resolve(path);
  const previous = queues.get(key) ?? Promise.resolve();
  const result = previous.catch(() => {}).then(work);
  const tail = result.catch(() => {});
  queues.set(key, tail);
  tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

/**
 * Opens `path`, passes a connection to `work`, and closes the file again, all
 * inside the per-path queue of this process.
 */
export function withDatabase<T>(
  path: string,
  access: DatabaseAccess,
  work: (connection: DuckDBConnection) => Promise<T>,
): Promise<T> {
  return serialize(path, () => withOpenDatabase(path, access, work));
}

/** Same as {@linkcode withDatabase}, for callers already inside the per-path queue. */
export async function withOpenDatabase<T>(
  path: string,
  access: DatabaseAccess,
  work: (connection: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const instance = await openWithRetry(path, access);
  try {
    const connection = await instance.connect();
    try {
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** Tells whether DuckDB failed because another process has the file open. */
export function isLockError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return message.includes("Could not set lock") || message.includes("Conflicting lock");
}

async function openWithRetry(path: string, access: DatabaseAccess): Promise<DuckDBInstance> {
  const { readOnly = false, create = false, lockTimeoutMs = LOCK_TIMEOUT_MS } = access;
  await checkDatabaseFile(path, create);

  const options: Record<string, string> = readOnly ? { access_mode: "READ_ONLY" } : {};
  const deadline = Date.now() + lockTimeoutMs;
  let delay = FIRST_DELAY_MS;
  while (true) {
    try {
      return await (await loadDuckDB()).DuckDBInstance.create(path, options);
    } catch (error) {
      if (!isLockError(error)) throw openError(path, error);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new HistoryError(`History ${path} stayed locked by another process for ${lockTimeoutMs} ms`, {
          hint: "Another trainbook process (a notebook kernel or a `deno task` script) holds it open; " +
            "wait for it to finish, or stop the process named in the cause",
          cause: error,
        });
      }
      // Full jitter keeps two waiting processes from retrying in step.
      const wait = Math.min(remaining, delay * (0.5 + Math.random()));
      await new Promise((done) => setTimeout(done, wait));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}

/**
 * Rejects a file that exists but is not a DuckDB database before DuckDB opens it,
 * so that the file is never changed.
 */
async function checkDatabaseFile(path: string, create: boolean): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      if (create) return;
      throw new HistoryError(`History ${path} does not exist`, {
        hint: "Open it with History.open() first, which creates it",
        cause: error,
      });
    }
    throw new HistoryError(`Cannot read history ${path}`, {
      hint: "Check the file's permissions",
      cause: error,
    });
  }
  try {
    const header = new Uint8Array(12);
    let filled = 0;
    while (filled < header.length) {
      const count = await file.read(header.subarray(filled));
      if (count === null) break;
      filled += count;
    }
    const magic = new TextDecoder().decode(header.subarray(8, 12));
    if (filled < header.length || magic !== DUCKDB_MAGIC) {
      throw new HistoryError(`${path} is not a DuckDB database, so it cannot be used as the run history`, {
        hint: "Move the file away or pass another path to History.open(); trainbook left the file unchanged",
      });
    }
  } finally {
    file.close();
  }
}

function openError(path: string, error: unknown): HistoryError {
  return new HistoryError(`Cannot open history ${path}: ${error instanceof Error ? error.message : error}`, {
    hint: "The file may be damaged. Move it away to start a new history, or restore it from a backup " +
      "(History.exportHistory() writes Parquet copies); trainbook left the file unchanged",
    cause: error,
  });
}

/** Prepared statements by SQL text, per connection; they end with their connection. */
const statements = new WeakMap<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();

async function prepared(
  connection: DuckDBConnection,
  sql: string,
  params: DuckDBValue[] | Record<string, DuckDBValue> | undefined,
): Promise<DuckDBPreparedStatement> {
  let cache = statements.get(connection);
  if (cache === undefined) {
    cache = new Map();
    statements.set(connection, cache);
  }
  let statement = cache.get(sql);
  if (statement === undefined) {
    statement = await connection.prepare(sql);
    cache.set(sql, statement);
  }
  statement.clearBindings();
  if (params !== undefined) statement.bind(params);
  return statement;
}

/**
 * Runs one statement through a prepared statement that is kept for the
 * connection's lifetime, which saves the parse and plan on repeated calls.
 */
export async function execute(
  connection: DuckDBConnection,
  sql: string,
  params?: DuckDBValue[] | Record<string, DuckDBValue>,
): Promise<DuckDBMaterializedResult> {
  return await (await prepared(connection, sql, params)).run();
}

/** Tells whether `sql` is one statement that only reads: SELECT (including WITH and FROM-first) or EXPLAIN. */
export async function isReadOnlyQuery(connection: DuckDBConnection, sql: string): Promise<boolean> {
  const type = (await prepared(connection, sql, undefined)).statementType;
  // A statement exists only after a database was opened, so the module is loaded here.
  const { StatementType } = duckdb!;
  return type === StatementType.SELECT || type === StatementType.EXPLAIN;
}

/** Runs a query and returns its rows with DuckDB values converted to plain JavaScript. */
export async function queryRows(
  connection: DuckDBConnection,
  sql: string,
  params?: DuckDBValue[] | Record<string, DuckDBValue>,
): Promise<Record<string, unknown>[]> {
  const reader = await (await prepared(connection, sql, params)).runAndReadAll();
  return reader.getRowObjectsJS().map((row) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row)) out[key] = plainValue(value);
    return out;
  });
}

/** Converts BIGINT results to numbers when they fit, so that callers get ordinary numbers. */
function plainValue(value: unknown): unknown {
  if (
    typeof value === "bigint" && value <= BigInt(Number.MAX_SAFE_INTEGER) &&
    value >= -BigInt(Number.MAX_SAFE_INTEGER)
  ) {
    return Number(value);
  }
  return value;
}

/** Connections inside a transaction that inTransaction() began. */
const inTransactionNow = new WeakSet<DuckDBConnection>();

/**
 * Runs `work` inside BEGIN/COMMIT and rolls back when it throws. Inside an
 * outer transaction, `work` joins it, because DuckDB has no nested transactions.
 */
export async function inTransaction<T>(connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  if (inTransactionNow.has(connection)) return await work();
  await connection.run("BEGIN TRANSACTION");
  inTransactionNow.add(connection);
  try {
    const result = await work();
    await connection.run("COMMIT");
    return result;
  } catch (error) {
    await connection.run("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    inTransactionNow.delete(connection);
  }
}
