/**
 * The chart and report functions of the public API. They load Observable Plot and
 * linkedom on first use, so importing mod.ts stays fast; lib/charts.ts and
 * lib/report.ts hold the synchronous implementations.
 *
 * @module
 */
import type { Chart } from "./charts.ts";
import type { Displayable } from "./display.ts";
import type { TestMetrics } from "./metrics.ts";
import type { ReportInput } from "./report.ts";
import type { ResultsTable } from "./results.ts";

/** Loss, metric and learning-rate charts of a results table; the list displays itself in notebooks. */
export async function trainingCharts(table: ResultsTable): Promise<Chart[] & Displayable> {
  return (await import("./charts.ts")).trainingCharts(table);
}

/** Per-class bars of test metrics. */
export async function testMetricsChart(metrics: TestMetrics): Promise<Chart> {
  return (await import("./charts.ts")).testMetricsChart(metrics);
}

/** Confusion matrix heatmap, when the evaluation provided one. */
export async function confusionMatrixChart(metrics: TestMetrics): Promise<Chart | undefined> {
  return (await import("./charts.ts")).confusionMatrixChart(metrics);
}

/** Several runs' curves of one metric overlaid, aligned by epoch, with a legend. */
export async function compareChart(
  runs: { label: string; table: ResultsTable }[],
  metric?: string,
): Promise<Chart & Displayable> {
  return (await import("./charts.ts")).compareChart(runs, metric);
}

/** Writes each chart as `<dir>/<name>.svg` and returns the paths. */
export async function writeCharts(charts: Chart[], dir: string): Promise<string[]> {
  return await (await import("./charts.ts")).writeCharts(charts, dir);
}

/** Builds a Vega-Lite spec of a metric's curve, for users who prefer Vega-Lite. */
export async function toVegaLite(
  table: ResultsTable,
  metric?: string,
): Promise<Record<string, unknown> & Displayable> {
  return (await import("./charts.ts")).toVegaLite(table, metric);
}

/** Writes a self-contained report.html. */
export async function writeReport(path: string, input: ReportInput): Promise<void> {
  await (await import("./report.ts")).writeReport(path, input);
}
