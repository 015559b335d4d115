/**
 * Benchmark of the run history: ingests `runs` × `epochs` epochs of a detection
 * results.csv (14 metrics per epoch) through {@linkcode History}, and compares
 * the time with DuckDB's own `read_csv` of the same rows into a new file, which
 * is the floor for getting these rows into DuckDB. Also times the default
 * leaderboard query on the filled history and single operations that open the
 * file each time.
 *
 * Run: deno run -A bench/history_bench.ts [runs] [epochs]
 *
 * @module
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { join } from "node:path";
import { type EpochRecord, History, type RunRecord } from "../lib/history.ts";

/** Options of {@linkcode benchHistory}. */
export interface BenchHistoryOptions {
  /** Runs to ingest. @default {1000} */
  runs?: number;
  /** Epochs per run. @default {300} */
  epochs?: number;
  /** Leaderboard queries to time; the median is reported. @default {20} */
  leaderboardRepeats?: number;
  /** Rounds of ingestion and floor, alternating; the fastest of each is reported, to damp noise from other load. @default {3} */
  rounds?: number;
}

/** Timings of {@linkcode benchHistory}, in milliseconds. */
export interface BenchHistoryResult {
  /** Epoch rows in the long table (runs × epochs × metrics). */
  rows: number;
  /** Fastest ingestion through History.batch(), createRun() and replaceEpochs(), open to close. */
  ingestMs: number;
  /** Fastest DuckDB read_csv of the same rows into a new database file, open to close. */
  floorMs: number;
  /** ingestMs / floorMs. */
  ratio: number;
  /** CPU time of this process (all threads) for the fastest ingestion and floor rounds; undefined off Linux. */
  cpuMs?: { ingest: number; floor: number };
  /** Median of History.leaderboard() calls, each opening and closing the file. */
  leaderboardMs: number;
  /** Median of History.leaderboard() calls inside batch(), with the file already open. */
  leaderboardQueryMs: number;
  /** Median of single recordEpoch() calls without batch(), each opening and closing the file. */
  recordEpochMs: number;
}

const METRICS = [
  "time",
  "train/box_loss",
  "train/cls_loss",
  "train/dfl_loss",
  "metrics/precision(B)",
  "metrics/recall(B)",
  "metrics/mAP50(B)",
  "metrics/mAP50-95(B)",
  "val/box_loss",
  "val/cls_loss",
  "val/dfl_loss",
  "lr/pg0",
  "lr/pg1",
  "lr/pg2",
];

function syntheticEpochs(run: number, epochs: number): EpochRecord[] {
  return Array.from({ length: epochs }, (_, i) => {
    const progress = (i + 1) / epochs;
    const metrics: Record<string, number> = {};
    METRICS.forEach((name, m) => {
      metrics[name] = name.includes("loss")
        ? 2 - progress + m / 100
        : (progress * (run % 97)) / 100 + m / 1000;
    });
    return { epoch: i + 1, metrics };
  });
}

function syntheticRun(run: number): RunRecord {
  return {
    id: `bench-${String(run).padStart(5, "0")}`,
    createdAt: new Date(Date.UTC(2026, 0, 1) + run * 60_000).toISOString(),
    backend: "local",
    status: "completed",
    model: "yolo11n.yaml",
    datasetPath: "/data/dogs/data.yaml",
    args: { imgsz: 320, batch: 16 },
    versions: { ultralytics: "8.4.31" },
  };
}

/** CPU time of this process, all threads, in milliseconds, from /proc (Linux only). */
function processCpuMs(): number | undefined {
  try {
    const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    // utime and stime are fields 14 and 15 of the file, in clock ticks of 10 ms on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Runs `work` and returns its wall time and this process's CPU time, in milliseconds. */
async function measure(work: () => Promise<unknown>): Promise<{ wall: number; cpu?: number }> {
  const cpuStart = processCpuMs();
  const start = performance.now();
  await work();
  const wall = performance.now() - start;
  const cpuEnd = processCpuMs();
  return { wall, cpu: cpuStart === undefined || cpuEnd === undefined ? undefined : cpuEnd - cpuStart };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Writes the benchmark rows as CSV files in `dir`, for the floor. */
async function writeCsv(dir: string, runs: RunRecord[], epochs: EpochRecord[][]): Promise<void> {
  const runsCsv = join(dir, "runs.csv");
  const epochsCsv = join(dir, "epochs.csv");
  await Deno.writeTextFile(
    runsCsv,
    "id,created_at,backend,status,model,dataset_path,args,versions\n" +
      runs.map((run) =>
        [run.id, run.createdAt, run.backend, run.status, run.model, run.datasetPath, "{}", "{}"].join(",")
      ).join("\n") + "\n",
  );
  const file = await Deno.open(epochsCsv, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  await file.write(encoder.encode("run_id,segment,epoch,metric,value\n"));
  for (let r = 0; r < runs.length; r++) {
    const lines = epochs[r].flatMap((epoch) =>
      Object.entries(epoch.metrics).map(([metric, value]) =>
        `${runs[r].id},1,${epoch.epoch},${metric},${value}`
      )
    );
    await file.write(encoder.encode(lines.join("\n") + "\n"));
  }
  file.close();
}

/** Loads the CSV files in `dir` with DuckDB's read_csv into the new database file `target`. */
async function loadFloor(dir: string, target: string): Promise<void> {
  const runsCsv = join(dir, "runs.csv");
  const epochsCsv = join(dir, "epochs.csv");
  const instance = await DuckDBInstance.create(target);
  const connection = await instance.connect();
  await connection.run(
    `CREATE TABLE runs AS SELECT * FROM read_csv('${runsCsv}', header = true,
      columns = {'id': 'VARCHAR', 'created_at': 'TIMESTAMPTZ', 'backend': 'VARCHAR', 'status': 'VARCHAR',
        'model': 'VARCHAR', 'dataset_path': 'VARCHAR', 'args': 'JSON', 'versions': 'JSON'})`,
  );
  await connection.run(
    `CREATE TABLE epochs AS SELECT * FROM read_csv('${epochsCsv}', header = true,
      columns = {'run_id': 'VARCHAR', 'segment': 'INTEGER', 'epoch': 'INTEGER', 'metric': 'VARCHAR', 'value': 'DOUBLE'})`,
  );
  connection.closeSync();
  instance.closeSync();
}

/** Ingests the runs and their epochs into a new history at `path`, open to close. */
async function ingest(path: string, runs: RunRecord[], epochs: EpochRecord[][]): Promise<void> {
  const history = await History.open(path);
  await history.batch(async () => {
    for (let r = 0; r < runs.length; r++) {
      await history.createRun(runs[r]);
      await history.replaceEpochs(runs[r].id, epochs[r]);
    }
  });
  await history.close();
}

/** Runs the benchmark in a temporary folder and returns its timings. */
export async function benchHistory(options: BenchHistoryOptions = {}): Promise<BenchHistoryResult> {
  const { runs: runCount = 1000, epochs: epochCount = 300, leaderboardRepeats = 20, rounds = 3 } = options;
  const dir = await Deno.makeTempDir({ prefix: "history_bench_" });
  try {
    const runs = Array.from({ length: runCount }, (_, r) => syntheticRun(r));
    const epochs = runs.map((_, r) => syntheticEpochs(r, epochCount));

    await writeCsv(dir, runs, epochs);

    const floorTimes: { wall: number; cpu?: number }[] = [];
    const ingestTimes: { wall: number; cpu?: number }[] = [];
    let historyPath = "";
    for (let round = 0; round < rounds; round++) {
      floorTimes.push(await measure(() => loadFloor(dir, join(dir, `floor-${round}.duckdb`))));
      historyPath = join(dir, `history-${round}.duckdb`);
      ingestTimes.push(await measure(() => ingest(historyPath, runs, epochs)));
    }
    const fastest = (times: { wall: number; cpu?: number }[]) =>
      times.reduce((a, b) => b.wall < a.wall ? b : a);
    const floor = fastest(floorTimes);
    const ingested = fastest(ingestTimes);
    const floorMs = floor.wall;
    const ingestMs = ingested.wall;

    const reopened = await History.open(historyPath);
    const leaderboardTimes: number[] = [];
    for (let i = 0; i < leaderboardRepeats; i++) {
      const t = performance.now();
      await reopened.leaderboard();
      leaderboardTimes.push(performance.now() - t);
    }
    const queryTimes: number[] = [];
    await reopened.batch(async () => {
      for (let i = 0; i < leaderboardRepeats; i++) {
        const t = performance.now();
        await reopened.leaderboard();
        queryTimes.push(performance.now() - t);
      }
    });
    const recordTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await reopened.recordEpoch(runs[0].id, { epoch: epochCount + 1 + i, metrics: epochs[0][0].metrics });
      recordTimes.push(performance.now() - t);
    }
    await reopened.close();

    return {
      rows: runCount * epochCount * METRICS.length,
      ingestMs,
      floorMs,
      ratio: ingestMs / floorMs,
      cpuMs: floor.cpu === undefined || ingested.cpu === undefined
        ? undefined
        : { ingest: ingested.cpu, floor: floor.cpu },
      leaderboardMs: median(leaderboardTimes),
      leaderboardQueryMs: median(queryTimes),
      recordEpochMs: median(recordTimes),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const [runs, epochs] = Deno.args.map(Number);
  const result = await benchHistory({ runs: runs || undefined, epochs: epochs || undefined });
  // deno-lint-ignore no-console -- a benchmark script reports on stdout
  console.log(
    `history: ${result.rows} epoch rows, ingest ${result.ingestMs.toFixed(0)} ms, ` +
      `read_csv floor ${result.floorMs.toFixed(0)} ms, ratio ${result.ratio.toFixed(2)}x (target <= 1.5x)` +
      (result.cpuMs ? `; CPU time ${result.cpuMs.ingest} ms vs ${result.cpuMs.floor} ms` : ""),
  );
  // deno-lint-ignore no-console -- a benchmark script reports on stdout
  console.log(
    `history: leaderboard ${result.leaderboardMs.toFixed(1)} ms (target <= 50 ms; ` +
      `${result.leaderboardQueryMs.toFixed(1)} ms with the file already open), ` +
      `single recordEpoch ${result.recordEpochMs.toFixed(1)} ms`,
  );
}
