/**
 * Charts and report.html of one run folder, rebuilt from its files: results.csv,
 * test_metrics.json (after evaluation) and run.json, plus predictions of
 * weights/best.pt on the test split.
 *
 * @module
 */
import { basename, join } from "node:path";
import type { Chart } from "./charts.ts";
import { escapeHtml } from "./display.ts";
import type { TestMetrics } from "./metrics.ts";
import type { ResultsTable } from "./results.ts";
import { readResults } from "./results.ts";

/** Paths written by {@linkcode writeRunReport}. */
export interface RunReportFiles {
  /** Path of report.html. */
  report: string;
  /** Paths of the SVG charts. */
  charts: string[];
}

/** Reads test_metrics.json of a run folder; undefined before evaluation. */
export async function readTestMetrics(dir: string): Promise<TestMetrics | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, "test_metrics.json"))) as TestMetrics;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Writes `<dir>/charts/*.svg` and `<dir>/report.html` from the files in the run folder. */
export async function writeRunReport(dir: string): Promise<RunReportFiles> {
  let results: ResultsTable | undefined;
  try {
    results = await readResults(join(dir, "results.csv"));
  } catch {
    results = undefined;
  }
  const testMetrics = await readTestMetrics(dir);
  // Charts and the report load Plot on first use, so importing trainbook stays fast.
  const { confusionMatrixChart, testMetricsChart, trainingCharts, writeCharts } = await import("./charts.ts");
  const { writeReport } = await import("./report.ts");
  const charts: Chart[] = [];
  if (results && results.rows.length > 0) charts.push(...trainingCharts(results));
  if (testMetrics) {
    charts.push(testMetricsChart(testMetrics));
    const matrix = confusionMatrixChart(testMetrics);
    if (matrix) charts.push(matrix);
  }
  const chartPaths = await writeCharts(charts, join(dir, "charts"));

  const runInfo: Record<string, string> = { "run folder": dir };
  try {
    const record = JSON.parse(await Deno.readTextFile(join(dir, "run.json")));
    runInfo["run id"] = record.id;
    runInfo.backend = record.backend;
    runInfo.dataset = record.dataset?.path ?? record.dataset?.repo ?? "";
    runInfo.model = record.options?.model ?? "";
    runInfo.epochs = String(record.options?.epochs ?? "");
    runInfo["image size"] = String(record.options?.imgsz ?? "");
    for (const [name, version] of Object.entries(record.versions ?? {})) runInfo[name] = String(version);
  } catch {
    runInfo["run id"] = basename(dir);
  }
  const report = join(dir, "report.html");
  await writeReport(report, {
    title: `trainbook run ${runInfo["run id"]}`,
    runInfo,
    results,
    testMetrics,
    charts,
    // The gallery costs a Python process, so it is drawn once the run has been evaluated.
    predictionGallery: testMetrics ? await galleryOrNote(dir) : undefined,
  });
  return { report, charts: chartPaths };
}

/**
 * Draws the prediction gallery when the run has weights/best.pt and its
 * data.yaml has test images. A failure never fails the report: the section
 * then contains a one-line note with the error instead.
 */
async function galleryOrNote(dir: string): Promise<string | undefined> {
  const hasWeights = await Deno.stat(join(dir, "weights", "best.pt")).then(
    (info) => info.isFile,
    () => false,
  );
  if (!hasWeights) return undefined;
  try {
    const { predictionGallery, runSplitImages } = await import("./predict.ts");
    if ((await runSplitImages(dir, "test")) === undefined) return undefined;
    // NOTE: this creates the managed Python environment when it does not exist yet, which takes minutes.
    return await predictionGallery(dir);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `<p>The prediction gallery was skipped after an error: ${escapeHtml(message)}</p>`;
  }
}
