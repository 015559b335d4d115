/**
 * Benchmark of results.csv reading and chart drawing: parses a results.csv and
 * draws the standard training charts (losses, metrics, learning rate) from it,
 * as trainbook does after every run. The main bench runner calls
 * {@linkcode benchResultsAndCharts} and compares its time with Ultralytics'
 * `plot_results` on the same file.
 *
 * Run: deno run -A bench/results_bench.ts [epochs] [repeats]
 *
 * @module
 */
import { join } from "node:path";
import { trainingCharts } from "../lib/charts.ts";
import { readResults } from "../lib/results.ts";

const COLUMNS = [
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

/**
 * Builds the text of a detection results.csv in the current Ultralytics layout
 * (unpadded, `time` second) with smooth made-up curves, so timings do not
 * depend on a training run.
 */
export function syntheticResultsCsv(epochs: number): string {
  const lines = [["epoch", "time", ...COLUMNS].join(",")];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t = epoch / epochs;
    const decay = Math.exp(-4 * t);
    const rise = 1 - Math.exp(-5 * t);
    const wiggle = 0.01 * Math.sin(epoch * 1.7);
    const lr = 0.01 * ((1 - t) * 0.99 + 0.01);
    const values = [
      1.05 + 0.55 * decay + wiggle,
      0.7 + 2.5 * decay + wiggle,
      1.0 + 0.5 * decay + wiggle,
      0.8 * rise + wiggle,
      0.7 * rise + wiggle,
      0.72 * rise + wiggle,
      0.45 * rise + wiggle,
      1.15 + 0.35 * decay + wiggle,
      0.8 + 2.0 * decay + wiggle,
      1.05 + 0.35 * decay + wiggle,
      lr,
      lr,
      lr,
    ];
    lines.push([String(epoch), (epoch * 17.3).toFixed(3), ...values.map((v) => v.toPrecision(6))].join(","));
  }
  return lines.join("\n") + "\n";
}

/**
 * Reads `csvPath` with {@linkcode readResults} and draws {@linkcode trainingCharts},
 * serialising every SVG. Returns the wall time in milliseconds of that one pass;
 * call it once before timing so that module loading and JIT warm-up are not counted.
 */
export async function benchResultsAndCharts(csvPath: string): Promise<number> {
  const start = performance.now();
  const table = await readResults(csvPath);
  const charts = trainingCharts(table);
  let bytes = 0;
  for (const chart of charts) bytes += chart.svg.length + chart.html.length;
  const elapsed = performance.now() - start;
  if (bytes === 0) throw new Error(`no charts drawn from ${csvPath}`);
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

if (import.meta.main) {
  const epochs = Number(Deno.args[0] ?? 1000);
  const repeats = Number(Deno.args[1] ?? 10);
  const dir = await Deno.makeTempDir({ prefix: "trainbook-results-bench-" });
  try {
    const csvPath = join(dir, "results.csv");
    await Deno.writeTextFile(csvPath, syntheticResultsCsv(epochs));
    const firstMs = await benchResultsAndCharts(csvPath);
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) times.push(await benchResultsAndCharts(csvPath));
    // deno-lint-ignore no-console -- printing the timing is what this script is for
    console.log(
      `results.csv with ${epochs} epochs, read and 3 charts drawn: first ${firstMs.toFixed(1)} ms, ` +
        `median of ${repeats} ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)} ms)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
