/**
 * The run history: a DuckDB file that records every training run, its epochs,
 * test metrics, artifacts and events, and runs list, leaderboard and
 * comparison queries. Several processes (a notebook kernel and `deno task`
 * scripts) can share one file, because each operation opens it briefly and
 * waits while another process has it open.
 *
 * @example Record a run and rank it
 * ```ts
 * import assert from "node:assert/strict";
 * import { History } from "./history.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const history = await History.open(`${dir}/history.duckdb`);
 * await history.createRun({
 *   id: "r1", createdAt: new Date().toISOString(), backend: "local", status: "running",
 *   model: "yolo11n.yaml", args: { imgsz: 320 }, versions: {},
 * });
 * await history.recordEpoch("r1", { epoch: 1, metrics: { "metrics/mAP50-95(B)": 0.31 } });
 * const board = await history.leaderboard();
 * assert.equal(board.rows[0].id, "r1");
 * await history.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { HistoryError, NotFoundError, OptionsError, redactTokens } from "./errors.ts";
import type { TestMetrics } from "./metrics.ts";
import { defaultHistoryPath } from "./paths.ts";
import {
  execute,
  inTransaction,
  isReadOnlyQuery,
  queryRows,
  serialize,
  withDatabase,
  withOpenDatabase,
} from "./_history_db.ts";
import { ensureSchema } from "./_history_schema.ts";
import { placeholder, RUN_COLUMNS, toColumnValue, toParams } from "./_history_rows.ts";
import {
  appendEpochs,
  recordOneEpoch,
  recordTestMetricsRows,
  repairInterruptedRuns,
  requireRun,
} from "./_history_write.ts";
import { EpochStage } from "./_history_stage.ts";
import {
  compareRunsQuery,
  exportTables,
  getRunQuery,
  type LeaderboardOptions,
  leaderboardQuery,
  type ListRunsFilter,
  listRunsQuery,
} from "./_history_read.ts";
import type { Leaderboard, RunComparison, RunDetails, RunList } from "./history_views.ts";

import type { ArtifactRecord, EpochRecord, EventRecord, RunRecord } from "./history_records.ts";

export type { ArtifactRecord, EpochRecord, EventRecord, RunRecord } from "./history_records.ts";
export type { LeaderboardOptions, ListRunsFilter } from "./_history_read.ts";
export {
  Leaderboard,
  type LeaderboardRow,
  RunComparison,
  RunDetails,
  RunList,
  type RunSummary,
} from "./history_views.ts";

/** Options of {@linkcode History.open}. */
export interface HistoryOpenOptions {
  /** Maximum milliseconds an operation waits for another process's lock on the file. @default {30000} */
  lockTimeoutMs?: number;
}

/**
 * The run history stored in one DuckDB file. The file is open only while an
 * operation runs, so other processes can use it in between.
 */
export class History {
  /** Absolute path of the DuckDB file. */
  readonly path: string;
  readonly #lockTimeoutMs: number;
  #closed = false;
  /** Connection held by {@linkcode History.batch}, and the queue of operations using it. */
  #batchConnection?: DuckDBConnection;
  #batchQueue: Promise<unknown> = Promise.resolve();
  /** Runs that createRun() added in the current batch and that have no epochs yet. */
  #batchNewRuns = new Set<string>();
  /** New runs, epoch rows and run_metrics rows of the current batch that wait to be moved into their tables. */
  #stage?: EpochStage;

  private constructor(path: string, lockTimeoutMs: number) {
    this.path = path;
    this.#lockTimeoutMs = lockTimeoutMs;
  }

  /**
   * Opens the history at `path`, creating it when missing, upgrading an older
   * schema in place, and marking runs whose trainer process died as interrupted.
   * Throws {@linkcode HistoryError} for a file that is not a history or was
   * written by a newer trainbook, and leaves such a file unchanged.
   */
  static async open(path: string = defaultHistoryPath(), options: HistoryOpenOptions = {}): Promise<History> {
    const { lockTimeoutMs = 30_000 } = options;
    const absolute = resolve(path);
    try {
      await mkdir(dirname(absolute), { recursive: true });
    } catch (error) {
      throw new HistoryError(`Cannot create the folder of history ${absolute}`, {
        hint: "Pass a path in a writable folder, or set TRAINBOOK_RUNS_DIR",
        cause: error,
      });
    }
    await withDatabase(absolute, { create: true, lockTimeoutMs }, async (connection) => {
      await ensureSchema(connection, absolute);
      await repairInterruptedRuns(connection);
    });
    return new History(absolute, lockTimeoutMs);
  }

  /** Adds a run. Throws {@linkcode OptionsError} when the id exists already or a required field is missing. */
  async createRun(run: RunRecord): Promise<void> {
    if (!run.id) throw new OptionsError("createRun() needs a run id", { value: run.id });
    for (const field of REQUIRED_RUN_FIELDS) {
      if (run[field] === undefined || run[field] === null) {
        throw new OptionsError(`createRun() needs the run field ${field}`, { value: run[field] });
      }
    }
    const values = RUN_COLUMNS.map(([field, , kind]) => toColumnValue(field, kind, run[field]));
    await this.#use(false, async (connection) => {
      // Inside batch() the run waits in the stage, so that a bulk import pays no round trip per run.
      const stage = this.#stage;
      if (stage) {
        if (await stage.hasRun(run.id)) throw this.#exists(run.id);
        stage.addRun(values);
        this.#batchNewRuns.add(run.id);
        return;
      }
      // One statement that inserts only a new id.
      const sql = `INSERT INTO runs (${RUN_COLUMNS.map(([, column]) => column).join(", ")}, updated_at)
        SELECT ${RUN_COLUMNS.map(([, , kind], i) => placeholder(kind, i + 1)).join(", ")}, now()
        WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = $1)`;
      const result = await execute(connection, sql, values);
      if (result.rowsChanged === 0) throw this.#exists(run.id);
    }, { keepStage: true });
  }

  /** Changes the given fields of a run. Throws {@linkcode NotFoundError} for an unknown id. */
  async updateRun(id: string, patch: Partial<RunRecord>): Promise<void> {
    const columns = RUN_COLUMNS.filter(([field]) => field !== "id" && field in patch);
    if (columns.length === 0) return;
    const values = columns.map(([field, , kind]) => toColumnValue(field, kind, patch[field]));
    const assignments = columns.map(([, column, kind], i) => `${column} = ${placeholder(kind, i + 2)}`);
    await this.#use(false, async (connection) => {
      const result = await execute(
        connection,
        `UPDATE runs SET ${assignments.join(", ")}, updated_at = now() WHERE id = $1`,
        [id, ...values],
      );
      if (result.rowsChanged === 0) throw this.#notFound(id);
    });
  }

  /** Stores one epoch's metrics, replacing any earlier values of the same segment and epoch. */
  async recordEpoch(runId: string, epoch: EpochRecord): Promise<void> {
    checkEpoch(epoch);
    await this.#use(false, async (connection) => {
      await requireRun(connection, runId, this.path);
      this.#batchNewRuns.delete(runId);
      await inTransaction(connection, () => recordOneEpoch(connection, runId, epoch));
    });
  }

  /** Replaces all epochs of a run in one transaction, as when results.csv is read at the end. */
  async replaceEpochs(runId: string, epochs: EpochRecord[]): Promise<void> {
    for (const epoch of epochs) checkEpoch(epoch);
    await this.#use(false, async (connection) => {
      // A run created earlier in this batch exists and has no epochs, so the check can be skipped.
      // Otherwise staged runs and run_metrics rows move first, so that requireRun() finds them.
      const isNewRun = this.#batchNewRuns.delete(runId);
      if (!isNewRun) await this.#stage?.flush();
      const { hasEpochs } = isNewRun ? { hasEpochs: false } : await requireRun(connection, runId, this.path);
      await inTransaction(connection, async () => {
        // Skips the scan of the whole epochs table when the run has no epochs yet (a bulk import).
        if (hasEpochs) {
          await execute(connection, "DELETE FROM epochs WHERE run_id = $1", [runId]);
          await execute(connection, "DELETE FROM run_metrics WHERE run_id = $1", [runId]);
        }
        await appendEpochs(connection, runId, epochs, this.#stage);
      });
    }, { keepStage: true });
  }

  /** Stores test metrics and per-class rows, replacing earlier ones for the same split. */
  async recordTestMetrics(runId: string, metrics: TestMetrics): Promise<void> {
    await this.#use(false, async (connection) => {
      await requireRun(connection, runId, this.path);
      await inTransaction(connection, () => recordTestMetricsRows(connection, runId, metrics));
    });
  }

  /** Stores a file a run produced, replacing an earlier record of the same path. */
  async recordArtifact(
    runId: string,
    artifact: ArtifactRecord,
  ): Promise<void> {
    await this.#use(false, async (connection) => {
      await requireRun(connection, runId, this.path);
      await inTransaction(connection, async () => {
        await execute(connection, "DELETE FROM artifacts WHERE run_id = $1 AND path = $2", [
          runId,
          artifact.path,
        ]);
        await execute(connection, "INSERT INTO artifacts VALUES ($1, $2, $3, $4, $5, now())", [
          runId,
          artifact.path,
          artifact.size,
          artifact.sha256,
          artifact.kind ?? null,
        ]);
      });
    });
  }

  /** Appends an event to a run's log. Tokens in the message and data are redacted. */
  async recordEvent(runId: string, event: EventRecord): Promise<void> {
    const time = toColumnValue("time", "time", event.time ?? new Date().toISOString());
    const data = event.data === undefined ? null : redactTokens(JSON.stringify(event.data));
    const message = event.message === undefined ? null : redactTokens(event.message);
    await this.#use(false, async (connection) => {
      await requireRun(connection, runId, this.path);
      await execute(
        connection,
        "INSERT INTO events (run_id, time, type, message, data) VALUES ($1, CAST($2 AS TIMESTAMPTZ), $3, $4, CAST($5 AS JSON))",
        [runId, time, event.type, message, data],
      );
    });
  }

  /**
   * Returns a run with its epochs, test metrics, artifacts and events. `id` may be
   * a unique prefix of a run id. Throws {@linkcode NotFoundError} when no run matches.
   */
  getRun(id: string): Promise<RunDetails> {
    return this.#use(true, (connection) => getRunQuery(connection, id, this.path));
  }

  /** Lists runs, newest first. */
  listRuns(filter: ListRunsFilter = {}): Promise<RunList> {
    return this.#use(true, (connection) => listRunsQuery(connection, filter));
  }

  /**
   * Ranks runs by a metric: by default the best epoch's `metrics/mAP50-95(B)`;
   * `test/map50_95` and the other `test/<field>` names rank by test metrics.
   */
  leaderboard(options: LeaderboardOptions = {}): Promise<Leaderboard> {
    return this.#use(true, (connection) => leaderboardQuery(connection, options));
  }

  /** Puts the key metrics of the given runs side by side, with every epoch of each. */
  async compareRuns(ids: string[]): Promise<RunComparison> {
    if (ids.length === 0) throw new OptionsError("compareRuns() needs at least one run id", { value: ids });
    return await this.#use(true, (connection) => compareRunsQuery(connection, ids, this.path));
  }

  /**
   * Runs a read-only SQL query with bound parameters (`$1` or `$name`) and returns
   * its rows. Pass every value through `params`, never inside the query text.
   * Tables: runs, epochs (long: run_id, segment, epoch, metric, value), run_metrics,
   * test_metrics, class_metrics, artifacts, events, meta.
   */
  sql(query: string, params?: unknown[] | Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const values = toParams(params);
    return this.#use(true, async (connection) => {
      if (!(await isReadOnlyQuery(connection, query))) {
        throw new OptionsError("sql() runs only SELECT queries", {
          value: query,
          hint: "Change runs through createRun(), updateRun() and the record*() methods",
        });
      }
      return await queryRows(connection, query, values);
    });
  }

  /** Writes each table to `<folder>/<table>.parquet` and returns the file paths. */
  async exportHistory(folder: string): Promise<string[]> {
    const target = resolve(folder);
    await mkdir(target, { recursive: true });
    return await this.#use(true, (connection) => exportTables(connection, target));
  }

  /**
   * Runs `work` with the file held open and inside one transaction, so that many
   * operations in a row (a bulk import) skip reopening the file and committing
   * each step. When `work` throws, nothing it wrote is kept. Other processes wait
   * until `work` ends. Inside `work`, use this History object only: another
   * History object on the same file would wait for this batch to end, forever.
   */
  async batch<T>(work: (history: History) => Promise<T>): Promise<T> {
    this.#checkOpen();
    if (this.#batchConnection) return await work(this);
    return await serialize(
      this.path,
      () =>
        withOpenDatabase(this.path, { lockTimeoutMs: this.#lockTimeoutMs }, async (connection) => {
          this.#batchConnection = connection;
          this.#stage = new EpochStage(connection);
          try {
            return await inTransaction(connection, async () => {
              let result: T;
              try {
                result = await work(this);
              } finally {
                await this.#batchQueue.catch(() => {});
              }
              await this.#stage?.flush();
              return result;
            });
          } finally {
            this.#batchConnection = undefined;
            this.#batchNewRuns.clear();
            this.#stage = undefined;
          }
        }),
    );
  }

  /** Waits for pending operations, after which calls throw. Nothing stays open to release, because outside batch() the file is closed after every operation. */
  async close(): Promise<void> {
    this.#closed = true;
    await serialize(this.path, () => Promise.resolve());
  }

  /** Same as {@linkcode History.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new HistoryError(`History ${this.path} is closed`, { hint: "Open it again with History.open()" });
    }
  }

  #exists(id: string): OptionsError {
    return new OptionsError(`Run ${id} exists already in history ${this.path}`, {
      hint: "Use a new id, or updateRun() to change the existing run",
    });
  }

  #notFound(id: string): NotFoundError {
    return new NotFoundError(`Run ${JSON.stringify(id)} not found in history ${this.path}`, {
      hint: "List run ids with history.listRuns() or `deno task runs`",
    });
  }

  /** Runs `work` on the held batch connection, or on the file opened for this operation only. */
  async #use<T>(
    readOnly: boolean,
    work: (connection: DuckDBConnection) => Promise<T>,
    options: { keepStage?: boolean } = {},
  ): Promise<T> {
    this.#checkOpen();
    const batchConnection = this.#batchConnection;
    if (batchConnection) {
      // Operations other than createRun() and replaceEpochs() may read epochs, so staged rows move first.
      const run = async () => {
        if (!options.keepStage) await this.#stage?.flush();
        return await work(batchConnection);
      };
      const result = this.#batchQueue.catch(() => {}).then(run);
      this.#batchQueue = result.catch(() => {});
      return await result;
    }
    return await withDatabase(this.path, { readOnly, lockTimeoutMs: this.#lockTimeoutMs }, work);
  }
}

/** RunRecord fields stored in NOT NULL columns of the runs table, besides id. */
const REQUIRED_RUN_FIELDS = ["createdAt", "backend", "status", "model"] as const;

function checkEpoch(epoch: EpochRecord): void {
  // run_metrics packs (segment, epoch) into segment * 1e6 + epoch.
  if (!Number.isInteger(epoch.epoch) || epoch.epoch < 0 || epoch.epoch >= 1_000_000) {
    throw new OptionsError("Epoch number must be an integer from 0 to 999999", { value: epoch.epoch });
  }
  const segment = epoch.segment ?? 1;
  if (!Number.isInteger(segment) || segment < 1) {
    throw new OptionsError("Epoch segment must be an integer of 1 or more", { value: epoch.segment });
  }
}
