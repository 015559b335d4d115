/**
 * Staging of rows during {@linkcode History.batch}. Appending each epoch row to
 * the epochs table takes six native calls, two of them with strings, and the
 * appender's flush runs on the JavaScript thread. Staging writes numbers only
 * (a series number for each run, segment and metric, the epoch and the value)
 * in column chunks into temporary tables, and moves them into epochs with one
 * INSERT that DuckDB runs on its own threads. In a probe with 300 runs of 300
 * epochs and 14 metrics, this took about half the CPU time of the row appender.
 *
 * New runs and the run_metrics rows of staged epochs wait in memory too, so that
 * a bulk import pays one statement per table instead of one round trip per run
 * (about 1 ms each, measured with bench/history_bench.ts on a 2-core Linux machine).
 *
 * @module
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { loadDuckDB, loadDuckDBBindings } from "./_history_db.ts";
import type { EpochRecord } from "./history_records.ts";
import { metricValue, RUN_COLUMNS } from "./_history_rows.ts";
import { insertSummaries, type SummaryRow } from "./_history_write.ts";

/** Rows per appended chunk: DuckDB's standard vector size. */
const CHUNK_ROWS = 2048;

/** Staged rows after which add() moves them into epochs, to bound the memory of the temporary tables. */
const MAX_STAGED_ROWS = 5_000_000;

/**
 * Runs, epoch rows and run_metrics rows staged on one connection, until flush()
 * moves them into the runs, epochs and run_metrics tables.
 */
export class EpochStage {
  readonly #connection: DuckDBConnection;
  #created = false;
  #rows = 0;
  /** Staged series: [run id, segment, metric name] by series number, the index in this array. */
  #series: [string, number, string][] = [];
  /** Staged new runs: column values in RUN_COLUMNS order, as toColumnValue() returns them. */
  #runRows: DuckDBValue[][] = [];
  /** run_metrics rows of the staged epochs, by run id. */
  #summaries: [string, SummaryRow[]][] = [];
  /** Ids stored in the runs table or staged, loaded on the first hasRun() call. */
  #runIds?: Set<string>;

  constructor(connection: DuckDBConnection) {
    this.#connection = connection;
  }

  /** Number of rows waiting to be moved into epochs. */
  get rows(): number {
    return this.#rows;
  }

  /** Tells whether a run with this id is stored or staged. */
  async hasRun(id: string): Promise<boolean> {
    if (this.#runIds === undefined) {
      const reader = await this.#connection.runAndReadAll("SELECT id FROM runs");
      this.#runIds = new Set(reader.getColumnsJS()[0]?.map(String) ?? []);
      for (const values of this.#runRows) this.#runIds.add(String(values[0]));
    }
    return this.#runIds.has(id);
  }

  /** Stages a new run, given as its column values in RUN_COLUMNS order. Callers check hasRun() first. */
  addRun(values: DuckDBValue[]): void {
    this.#runRows.push(values);
    this.#runIds?.add(String(values[0]));
  }

  /** Stages the epochs of a run that has none in the epochs table, with the run's run_metrics rows. */
  async add(runId: string, epochs: EpochRecord[], summary: SummaryRow[]): Promise<void> {
    await this.#createTables();
    this.#summaries.push([runId, summary]);

    const { DOUBLE, DuckDBDataChunk, INTEGER } = await loadDuckDB();
    const bindings = await loadDuckDBBindings();
    const types = [INTEGER, INTEGER, DOUBLE];
    // Columns of one chunk, reused because they are copied into the chunk's vectors as bytes. A chunk
    // with a NULL value sets that column through setColumnValues(), which writes the validity mask.
    const series = new Int32Array(CHUNK_ROWS);
    const epochNumbers = new Int32Array(CHUNK_ROWS);
    const values = new Float64Array(CHUNK_ROWS);
    const nullable: (number | null)[] = new Array(CHUNK_ROWS);
    let hasNull = false;
    let filled = 0;
    let total = 0;
    const appender = await this.#connection.createAppender("staged_epochs", null, "temp");
    const appendChunk = () => {
      const chunk = DuckDBDataChunk.create(types, filled);
      const copy = (column: number, array: Int32Array<ArrayBuffer> | Float64Array<ArrayBuffer>) =>
        bindings.copy_data_to_vector(
          bindings.data_chunk_get_vector(chunk.chunk, column),
          0,
          array.buffer,
          0,
          filled * array.BYTES_PER_ELEMENT,
        );
      copy(0, series);
      copy(1, epochNumbers);
      if (hasNull) chunk.setColumnValues(2, nullable.slice(0, filled));
      else copy(2, values);
      appender.appendDataChunk(chunk);
      total += filled;
      filled = 0;
      hasNull = false;
    };

    // Series numbers of this run's metrics, by segment and metric name.
    const bySegment = new Map<number, Map<string, number>>();
    try {
      for (const epoch of epochs) {
        const segment = epoch.segment ?? 1;
        let numbers = bySegment.get(segment);
        if (numbers === undefined) {
          numbers = new Map();
          bySegment.set(segment, numbers);
        }
        const metrics = epoch.metrics;
        for (const name of Object.keys(metrics)) {
          let number = numbers.get(name);
          if (number === undefined) {
            number = this.#series.length;
            this.#series.push([runId, segment, name]);
            numbers.set(name, number);
          }
          const value = metricValue(metrics[name]);
          series[filled] = number;
          epochNumbers[filled] = epoch.epoch;
          values[filled] = value ?? 0;
          nullable[filled] = value;
          if (value === null) hasNull = true;
          if (++filled === CHUNK_ROWS) appendChunk();
        }
      }
      if (filled > 0) appendChunk();
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    this.#rows += total;
    if (this.#rows >= MAX_STAGED_ROWS) await this.flush();
  }

  /** Moves every staged run, epoch row and run_metrics row into its table. */
  async flush(): Promise<void> {
    await this.#flushRuns();
    if (this.#series.length > 0) {
      await this.#storeSeries();
      await this.#connection.run(
        `INSERT INTO epochs (run_id, segment, epoch, metric, value)
         SELECT r.run_id, r.segment, s.epoch, r.metric, s.value
         FROM temp.staged_epochs s JOIN temp.staged_series r ON r.series = s.series`,
      );
      await this.#connection.run("DELETE FROM temp.staged_epochs");
      await this.#connection.run("DELETE FROM temp.staged_series");
      this.#series = [];
      this.#rows = 0;
    }
    if (this.#summaries.length > 0) {
      await insertSummaries(this.#connection, this.#summaries);
      this.#summaries = [];
    }
  }

  /** Inserts the staged runs with one statement, from a temporary table of text columns. */
  async #flushRuns(): Promise<void> {
    if (this.#runRows.length === 0) return;
    const columns = RUN_COLUMNS.map(([, column]) => column);
    await this.#connection.run(
      `CREATE OR REPLACE TEMP TABLE staged_run_rows (${
        columns.map((column) => `${column} VARCHAR`).join(", ")
      })`,
    );
    const appender = await this.#connection.createAppender("staged_run_rows", null, "temp");
    try {
      for (const values of this.#runRows) {
        for (const value of values) appendText(appender, value);
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }

    // The same casts as the placeholders of createRun() outside a batch.
    const casts = RUN_COLUMNS.map(([, column, kind]) => {
      if (kind === "time") return `CAST(${column} AS TIMESTAMPTZ)`;
      if (kind === "json") return `CAST(${column} AS JSON)`;
      if (kind === "int") return `CAST(${column} AS BIGINT)`;
      return column;
    });
    await this.#connection.run(
      `INSERT INTO runs (${columns.join(", ")}, updated_at)
       SELECT ${casts.join(", ")}, now() FROM temp.staged_run_rows`,
    );
    await this.#connection.run("DROP TABLE temp.staged_run_rows");
    this.#runRows = [];
  }

  /** Writes the run id, segment and metric name of each series that the staged rows refer to by number. */
  async #storeSeries(): Promise<void> {
    const appender = await this.#connection.createAppender("staged_series", null, "temp");
    try {
      this.#series.forEach(([runId, segment, metric], number) => {
        appender.appendInteger(number);
        appender.appendVarchar(runId);
        appender.appendInteger(segment);
        appender.appendVarchar(metric);
        appender.endRow();
      });
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  async #createTables(): Promise<void> {
    if (this.#created) return;
    await this.#connection.run(
      "CREATE OR REPLACE TEMP TABLE staged_epochs (series INTEGER, epoch INTEGER, value DOUBLE)",
    );
    await this.#connection.run(
      "CREATE OR REPLACE TEMP TABLE staged_series (series INTEGER, run_id VARCHAR, segment INTEGER, metric VARCHAR)",
    );
    this.#created = true;
  }
}

function appendText(appender: DuckDBAppender, value: DuckDBValue): void {
  if (value === null) appender.appendNull();
  else appender.appendVarchar(String(value));
}
