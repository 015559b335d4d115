// deno-lint-ignore-file no-console
/**
 * Benchmark runner behind `deno task bench`. Each benchmark measures trainbook
 * and its baseline in the same run on the same machine, and prints the ratio (or
 * the difference) against its target. `deno task bench NAME...` runs a subset;
 * names: results, validate, stage, history, import, latency, jobs-latency, memory, overhead.
 */
import { join } from "node:path";
import { benchHistory } from "./history_bench.ts";
import { benchResultsAndCharts, syntheticResultsCsv } from "./results_bench.ts";
import { benchStage } from "./stage_bench.ts";
import { benchValidate, makeSyntheticDataset } from "./validate_bench.ts";
import { History } from "../lib/history.ts";
import { liveBundle, watch } from "../lib/live.ts";
import { trainingCharts } from "../lib/charts.ts";
import { REPO_ROOT } from "../lib/paths.ts";
import { ensurePythonEnv } from "../lib/python_env.ts";
import { TrainingRun } from "../lib/run.ts";
import { train } from "../lib/train.ts";
import { loadDataset } from "../lib/dataset.ts";
import { prepareTrainingData } from "../lib/train_data.ts";

const DATASET = join(REPO_ROOT, "datasets", "thermal-dogs-and-people");

interface Row {
  name: string;
  measured: string;
  baseline: string;
  ratio: string;
  target: string;
  met: boolean | undefined;
}

const rows: Row[] = [];

function report(row: Row): void {
  rows.push(row);
  let verdict = "report";
  if (row.met === true) verdict = "met";
  if (row.met === false) verdict = "MISSED";
  console.log(
    `${row.name}: ${row.measured} vs ${row.baseline} → ${row.ratio} (target ${row.target}) ${verdict}`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs Python code in the managed environment and returns its last stdout line as a number. */
async function pythonSeconds(code: string, env: Record<string, string> = {}): Promise<number> {
  const python = await ensurePythonEnv();
  const output = await new Deno.Command(python.python, {
    args: ["-c", code],
    env: { ...python.env, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr).slice(-2000));
  return Number(text.split("\n").at(-1));
}

async function benchResults(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "trainbook-bench-results-" });
  try {
    const csv = join(dir, "results.csv");
    await Deno.writeTextFile(csv, syntheticResultsCsv(1000));
    await benchResultsAndCharts(csv); // warm-up
    const ours = median([
      await benchResultsAndCharts(csv),
      await benchResultsAndCharts(csv),
      await benchResultsAndCharts(csv),
    ]);
    const code = `
import time
from ultralytics.utils.plotting import plot_results
plot_results(file=${JSON.stringify(csv)})
times = []
for _ in range(3):
    start = time.perf_counter(); plot_results(file=${
      JSON.stringify(csv)
    }); times.append(time.perf_counter() - start)
print(sorted(times)[1])`;
    const theirs = (await pythonSeconds(code)) * 1000;
    report({
      name: "results.csv (1,000 epochs) parse + charts",
      measured: `${ours.toFixed(0)} ms`,
      baseline: `Ultralytics plot_results ${theirs.toFixed(0)} ms`,
      ratio: (ours / theirs).toFixed(3),
      target: "≤ 0.1",
      met: ours / theirs <= 0.1,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Times Ultralytics building its label cache (verify_image_label on every pair) for one image folder. */
function ultralyticsCacheCode(imageDir: string, names: string[]): string {
  return `
import time, glob, os
from ultralytics.data.dataset import YOLODataset
for cache in glob.glob(os.path.join(${JSON.stringify(imageDir)}, "..", "*.cache")):
    os.remove(cache)
start = time.perf_counter()
YOLODataset(img_path=${JSON.stringify(imageDir)}, data={"names": ${
    JSON.stringify(Object.fromEntries(names.map((n, i) => [i, n])))
  }, "channels": 3}, task="detect", augment=False)
print(time.perf_counter() - start)`;
}

async function benchValidation(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "trainbook-bench-validate-" });
  try {
    // The bundled dataset, copied so Ultralytics' cache files land in the copy.
    const copy = join(dir, "thermal");
    await new Deno.Command("cp", { args: ["-r", DATASET, copy] }).output();
    const dataset = await loadDataset(copy);
    await benchValidate(copy); // warm-up
    const ours = (await benchValidate(copy)).ms;
    let theirs = 0;
    for (const split of [dataset.splits.train, dataset.splits.val, dataset.splits.test]) {
      for (const imageDir of split?.imageDirs ?? []) {
        theirs += (await pythonSeconds(ultralyticsCacheCode(imageDir, dataset.names))) * 1000;
      }
    }
    report({
      name: "validation, bundled dataset (203 images)",
      measured: `${ours.toFixed(0)} ms`,
      baseline: `Ultralytics label cache ${theirs.toFixed(0)} ms`,
      ratio: (ours / theirs).toFixed(3),
      target: "≤ 0.2",
      met: ours / theirs <= 0.2,
    });

    const yamlPath = await makeSyntheticDataset(join(dir, "synthetic"), 20000);
    const synthetic = await loadDataset(yamlPath);
    const oursLarge = (await benchValidate(yamlPath)).ms;
    let theirsLarge = 0;
    for (const split of [synthetic.splits.train, synthetic.splits.val, synthetic.splits.test]) {
      for (const imageDir of split?.imageDirs ?? []) {
        theirsLarge += (await pythonSeconds(ultralyticsCacheCode(imageDir, synthetic.names))) * 1000;
      }
    }
    report({
      name: "validation, generated dataset (20,000 images)",
      measured: `${oursLarge.toFixed(0)} ms`,
      baseline: `Ultralytics label cache ${theirsLarge.toFixed(0)} ms`,
      ratio: (oursLarge / theirsLarge).toFixed(3),
      target: "≤ 0.2",
      met: oursLarge / theirsLarge <= 0.2,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function benchStaging(): Promise<void> {
  const result = await benchStage();
  report({
    name: "re-staging an unchanged dataset",
    measured: `${result.restageMs.toFixed(1)} ms`,
    baseline: `hashing every file once ${result.floorMs.toFixed(1)} ms`,
    ratio: result.ratio.toFixed(2),
    target: "≤ 1.5",
    met: result.ratio <= 1.5,
  });
}

async function benchHistoryStore(): Promise<void> {
  const result = await benchHistory({ runs: 1000, epochs: 300 });
  report({
    name: `history ingestion (1,000 runs × 300 epochs, ${result.rows} rows)`,
    measured: `${result.ingestMs.toFixed(0)} ms`,
    baseline: `DuckDB read_csv ${result.floorMs.toFixed(0)} ms`,
    ratio: result.ratio.toFixed(2),
    target: "≤ 1.5",
    met: result.ratio <= 1.5,
  });
  report({
    name: "history leaderboard query",
    measured: `${result.leaderboardMs.toFixed(1)} ms`,
    baseline: "-",
    ratio: "-",
    target: "≤ 50 ms",
    met: result.leaderboardMs <= 50,
  });
}

async function benchColdImport(): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: REPO_ROOT, prefix: ".bench-import-" });
  try {
    await Deno.writeTextFile(join(dir, "import.ts"), 'import "../mod.ts";\n');
    await Deno.writeTextFile(join(dir, "bare.ts"), "\n");
    const time = async (file: string) => {
      const start = performance.now();
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", join(dir, file)],
      }).output();
      if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
      return performance.now() - start;
    };
    await time("import.ts");
    const withModule: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 7; i++) {
      withModule.push(await time("import.ts"));
      bare.push(await time("bare.ts"));
    }
    const extra = median(withModule) - median(bare);
    report({
      name: "cold import of mod.ts",
      measured: `${median(withModule).toFixed(0)} ms`,
      baseline: `bare Deno start ${median(bare).toFixed(0)} ms`,
      ratio: `+${extra.toFixed(0)} ms`,
      target: "≤ +300 ms",
      met: extra <= 300,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Latency from a results.csv row being written to the live display showing that epoch. */
async function benchLatency(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "trainbook-bench-latency-" });
  try {
    const run = await train(DATASET, {
      epochs: 4,
      imgsz: 64,
      device: "cpu",
      runsDir: dir,
      history: false,
      report: false,
    });
    const latencies: number[] = [];
    let shownEpoch = 0;
    await watch(run, {
      mode: "notebook",
      display: async () => {
        const last = run.epochs.at(-1);
        if (!last || last.epoch === shownEpoch) return;
        shownEpoch = last.epoch;
        const written = (await Deno.stat(join(run.dir, "results.csv"))).mtime!.getTime();
        latencies.push(Date.now() - written);
      },
    });
    report({
      name: "live display latency, local (per epoch)",
      measured: `max ${Math.max(...latencies)} ms, median ${
        median(latencies)
      } ms over ${latencies.length} epochs`,
      baseline: "results.csv row written",
      ratio: "-",
      target: "≤ 1000 ms",
      met: Math.max(...latencies) <= 1000,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Latency from the job's results.csv row being written to the display, through the mock's log stream. */
async function benchJobsLatency(): Promise<void> {
  const { MockHub } = await import("../tests/hub_mock/server.ts");
  const { processJobRunner } = await import("../tests/hub_mock/runner.ts");
  const env = await ensurePythonEnv();
  await using mock = await MockHub.start({
    jobRunner: processJobRunner({ python: env.python, extraEnv: env.env }),
  });
  const dir = await Deno.makeTempDir({ prefix: "trainbook-bench-jobs-" });
  Deno.env.set("TRAINBOOK_JOBS_POLL_MS", "1000");
  try {
    const run = await train(DATASET, {
      backend: "hf-jobs",
      endpoint: mock.url,
      token: mock.token,
      flavor: "cpu-basic",
      epochs: 4,
      imgsz: 64,
      runsDir: dir,
      history: false,
      datasetRepo: "trainbook-tester/bench-latency",
    });
    const latencies: number[] = [];
    let shownEpoch = 0;
    await watch(run, {
      mode: "notebook",
      charts: false,
      display: async () => {
        const last = run.epochs.at(-1);
        if (!last || last.epoch === shownEpoch) return;
        shownEpoch = last.epoch;
        // The mock runs the job on this machine, and train.py writes its run folder under /tmp/trainbook-runs.
        const written = (await Deno.stat(join("/tmp/trainbook-runs", run.id, "results.csv"))).mtime!
          .getTime();
        latencies.push(Date.now() - written);
      },
    });
    if ((await run.done).status !== "completed") throw new Error("the job did not complete");
    report({
      name: "live display latency, HF Jobs log stream on the mock (per epoch)",
      measured: `max ${Math.max(...latencies)} ms, median ${
        median(latencies)
      } ms over ${latencies.length} epochs`,
      baseline: "the job's results.csv row written",
      ratio: "-",
      target: "≤ 5000 ms",
      met: Math.max(...latencies) <= 5000,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Peak memory of the toolkit process while a simulated 300-epoch run is displayed live and recorded. */
async function benchMemory(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "trainbook-bench-memory-" });
  try {
    const history = await History.open(join(dir, "history.duckdb"));
    const run = new TrainingRun("20261204-000000-000000", dir, "local", 300);
    await history.createRun({
      id: run.id,
      createdAt: new Date().toISOString(),
      backend: "local",
      status: "running",
      model: "yolo11n.yaml",
      args: {},
      versions: {},
    });
    let peak = Deno.memoryUsage().rss;
    const start = Deno.memoryUsage().rss;
    for (let epoch = 1; epoch <= 300; epoch++) {
      const metrics: Record<string, number> = { time: epoch * 17 };
      for (const name of ["box", "cls", "dfl"]) {
        metrics[`train/${name}_loss`] = 2 / Math.sqrt(epoch);
        metrics[`val/${name}_loss`] = 2.1 / Math.sqrt(epoch);
      }
      for (const name of ["precision", "recall", "mAP50", "mAP50-95"]) {
        metrics[`metrics/${name}(B)`] = 1 - 1 / Math.sqrt(epoch);
      }
      for (const group of [0, 1, 2]) metrics[`lr/pg${group}`] = 0.01 / epoch;
      run.push({
        type: "epoch",
        epoch,
        epochs: 300,
        metrics,
        elapsedSeconds: epoch * 17,
        etaSeconds: (300 - epoch) * 17,
        time: new Date().toISOString(),
      });
      await history.recordEpoch(run.id, { epoch, metrics });
      liveBundle(run, trainingCharts);
      peak = Math.max(peak, Deno.memoryUsage().rss);
    }
    await history.close();
    report({
      name: "toolkit peak memory, 300 epochs displayed live and recorded (simulated trainer)",
      measured: `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`,
      baseline: `RSS at start ${(start / 2 ** 20).toFixed(0)} MiB`,
      ratio: `+${((peak - start) / 2 ** 20).toFixed(0)} MiB`,
      target: "report",
      met: undefined,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Wall time of trainbook's local training against the bare `yolo train` command, same arguments. */
async function benchOverhead(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "trainbook-bench-overhead-" });
  try {
    const env = await ensurePythonEnv();
    const dataset = await loadDataset(DATASET);
    const data = await prepareTrainingData(dataset, join(dir, "bare-data"));
    const settings = { epochs: 5, imgsz: 96, batch: 16, workers: 2, seed: 0 };
    const ours: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round < 2; round++) {
      let start = performance.now();
      const run = await train(DATASET, {
        ...settings,
        device: "cpu",
        runsDir: join(dir, `ours-${round}`),
        overrides: { nbs: 16 },
      });
      const result = await run.done;
      if (result.status !== "completed") throw new Error(`training failed: ${result.message}`);
      ours.push(performance.now() - start);

      start = performance.now();
      const output = await new Deno.Command(join(env.dir, "bin", "yolo"), {
        args: [
          "train",
          `data=${data.yamlPath}`,
          "model=yolo11n.yaml",
          `epochs=${settings.epochs}`,
          `imgsz=${settings.imgsz}`,
          `batch=${settings.batch}`,
          `workers=${settings.workers}`,
          `seed=${settings.seed}`,
          "device=cpu",
          "nbs=16",
          "pretrained=False",
          `project=${join(dir, `bare-${round}`)}`,
          "name=run",
        ],
        env: env.env,
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!output.success) throw new Error(new TextDecoder().decode(output.stderr).slice(-2000));
      bare.push(performance.now() - start);
    }
    const ratio = Math.min(...ours) / Math.min(...bare);
    report({
      name: `local training overhead (${settings.epochs} epochs at ${settings.imgsz} px, best of 2)`,
      measured: `${(Math.min(...ours) / 1000).toFixed(1)} s`,
      baseline: `bare yolo train ${(Math.min(...bare) / 1000).toFixed(1)} s`,
      ratio: ratio.toFixed(3),
      target: "≤ 1.03",
      met: ratio <= 1.03,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BENCHMARKS: Record<string, () => Promise<void>> = {
  results: benchResults,
  validate: benchValidation,
  stage: benchStaging,
  history: benchHistoryStore,
  import: benchColdImport,
  latency: benchLatency,
  "jobs-latency": benchJobsLatency,
  memory: benchMemory,
  overhead: benchOverhead,
};

if (import.meta.main) {
  const names = Deno.args.length > 0 ? Deno.args : Object.keys(BENCHMARKS);
  console.log(
    `trainbook benchmarks on ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs`,
  );
  for (const name of names) {
    const bench = BENCHMARKS[name];
    if (!bench) {
      console.error(`unknown benchmark "${name}"; choose from ${Object.keys(BENCHMARKS).join(", ")}`);
      Deno.exit(2);
    }
    try {
      await bench();
    } catch (error) {
      console.error(`${name}: failed: ${(error as Error).message}`);
    }
  }
  const missed = rows.filter((row) => row.met === false).length;
  console.log(`\n${rows.length} results, ${missed} targets missed`);
}
