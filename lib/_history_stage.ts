/**
 * Staging of epoch rows during {@linkcode History.batch}. Appending each row to
 * the epochs table takes six native calls, two of them with strings, and the
 * appender's flush runs on the JavaScript thread. Staging writes numbers only
 * (run and metric as indexes) in column chunks into temporary tables, and moves
 * them into epochs with one INSERT that DuckDB runs on its own threads. In a
 * probe with 300 runs of 300 epochs and 14 metrics, this took about half the CPU
 * time of the row appender.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { loadDuckDB } from "./_history_db.ts";
import type { EpochRecord } from "./history_records.ts";
import { metricValue } from "./_history_rows.ts";

/** Rows per appended chunk: DuckDB's standard vector size. */
const CHUNK_ROWS = 2048;

/** Staged rows after which add() moves them into epochs, to bound the memory of the temporary tables. */
const MAX_STAGED_ROWS = 5_000_000;

/** Epoch rows staged in temporary tables of one connection, until flush() moves them into epochs. */
export class EpochStage {
  readonly #connection: DuckDBConnection;
  #created = false;
  #rows = 0;
  /** Staged run ids, by index. */
  #runs: string[] = [];
  /** Metric names by index, for every metric staged on this connection. */
  #metrics = new Map<string, number>();
  #metricsStored = 0;

  constructor(connection: DuckDBConnection) {
    this.#connection = connection;
  }

  /** Number of rows waiting to be moved into epochs. */
  get rows(): number {
    return this.#rows;
  }

  /** Stages the epochs of a run that has none in the epochs table. */
  async add(runId: string, epochs: EpochRecord[]): Promise<void> {
    await this.#createTables();
    const run = this.#runs.length;
    this.#runs.push(runId);
    const rows = this.#collect(run, epochs);

    const { DOUBLE, DuckDBDataChunk, INTEGER } = await loadDuckDB();
    const appender = await this.#connection.createAppender("staged_epochs", null, "temp");
    try {
      for (let start = 0; start < rows.value.length; start += CHUNK_ROWS) {
        const end = Math.min(start + CHUNK_ROWS, rows.value.length);
        const chunk = DuckDBDataChunk.create([INTEGER, INTEGER, INTEGER, INTEGER, DOUBLE], end - start);
        chunk.setColumnValues(0, rows.run.slice(start, end));
        chunk.setColumnValues(1, rows.segment.slice(start, end));
        chunk.setColumnValues(2, rows.epoch.slice(start, end));
        chunk.setColumnValues(3, rows.metric.slice(start, end));
        chunk.setColumnValues(4, rows.value.slice(start, end));
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    this.#rows += rows.value.length;
    if (this.#rows >= MAX_STAGED_ROWS) await this.flush();
  }

  /** Moves every staged row into the epochs table. */
  async flush(): Promise<void> {
    if (this.#rows === 0 && this.#runs.length === 0) return;
    await this.#storeNames();
    await this.#connection.run(
      `INSERT INTO epochs (run_id, segment, epoch, metric, value)
       SELECT r.id, s.segment, s.epoch, m.name, s.value
       FROM temp.staged_epochs s JOIN temp.staged_runs r ON r.run = s.run JOIN temp.staged_metrics m ON m.metric = s.metric`,
    );
    await this.#connection.run("DELETE FROM temp.staged_epochs");
    await this.#connection.run("DELETE FROM temp.staged_runs");
    this.#runs = [];
    this.#rows = 0;
  }

  /** Turns the epochs of one run into columns, numbering metric names as they first appear. */
  #collect(run: number, epochs: EpochRecord[]) {
    const rows = {
      run: [] as number[],
      segment: [] as number[],
      epoch: [] as number[],
      metric: [] as number[],
      value: [] as (number | null)[],
    };
    for (const epoch of epochs) {
      const segment = epoch.segment ?? 1;
      for (const [name, raw] of Object.entries(epoch.metrics)) {
        let metric = this.#metrics.get(name);
        if (metric === undefined) {
          metric = this.#metrics.size;
          this.#metrics.set(name, metric);
        }
        rows.run.push(run);
        rows.segment.push(segment);
        rows.epoch.push(epoch.epoch);
        rows.metric.push(metric);
        rows.value.push(metricValue(raw));
      }
    }
    return rows;
  }

  /** Writes the run ids and the metric names that the staged rows refer to by index. */
  async #storeNames(): Promise<void> {
    const runs = await this.#connection.createAppender("staged_runs", null, "temp");
    try {
      this.#runs.forEach((id, index) => {
        runs.appendInteger(index);
        runs.appendVarchar(id);
        runs.endRow();
      });
      runs.flushSync();
    } finally {
      runs.closeSync();
    }

    const names = [...this.#metrics.keys()].slice(this.#metricsStored);
    if (names.length === 0) return;
    const metrics = await this.#connection.createAppender("staged_metrics", null, "temp");
    try {
      names.forEach((name, i) => {
        metrics.appendInteger(this.#metricsStored + i);
        metrics.appendVarchar(name);
        metrics.endRow();
      });
      metrics.flushSync();
    } finally {
      metrics.closeSync();
    }
    this.#metricsStored += names.length;
  }

  async #createTables(): Promise<void> {
    if (this.#created) return;
    await this.#connection.run(
      "CREATE OR REPLACE TEMP TABLE staged_epochs (run INTEGER, segment INTEGER, epoch INTEGER, metric INTEGER, value DOUBLE)",
    );
    await this.#connection.run("CREATE OR REPLACE TEMP TABLE staged_runs (run INTEGER, id VARCHAR)");
    await this.#connection.run("CREATE OR REPLACE TEMP TABLE staged_metrics (metric INTEGER, name VARCHAR)");
    this.#created = true;
  }
}
