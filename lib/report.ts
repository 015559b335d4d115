/**
 * The run report: one self-contained report.html with the run settings, the
 * final-epoch metrics, the training charts, the test metrics and a gallery of
 * predictions. Charts are inline SVG, gallery images are data URLs and the CSS
 * is inline, so the file opens anywhere without a server or network access.
 *
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type Chart, confusionMatrixChart, testMetricsChart, trainingCharts } from "./charts.ts";
import { escapeHtml } from "./display.ts";
import type { TestMetrics } from "./metrics.ts";
import { bestRow, lastSegmentRows, lossColumns, metricColumns, type ResultsTable } from "./results.ts";

/** Everything a run report shows. Sections without input are left out. */
export interface ReportInput {
  /** Page title and main heading. */
  title: string;
  /** Run settings and facts shown as a two-column table, in insertion order. */
  runInfo: Record<string, string>;
  /** Training results, for the final-epoch table and, without `charts`, the training charts. */
  results?: ResultsTable;
  /** Test-set metrics, for the summary and per-class tables and, without `charts`, their charts. */
  testMetrics?: TestMetrics;
  /**
   * Charts to show. Charts named `test_metrics` and `confusion_matrix` go into
   * the test section, all others into the training section. When omitted, the
   * charts are drawn from `results` and `testMetrics`.
   */
  charts?: Chart[];
  /** HTML of the prediction gallery (or of a note why it is missing), inserted as it is. */
  predictionGallery?: string;
}

const TEST_CHART_NAMES = new Set(["test_metrics", "confusion_matrix"]);

const STYLE = `
body { margin: 0; background: #f6f8fa; color: #1f2328; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 1400px; margin: 0 auto; padding: 24px; background: #ffffff; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
nav a { margin-right: 16px; }
a { color: #0969da; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.warnings li { color: #9a6700; }
figure.trainbook-chart svg { max-width: 100%; height: auto; }
`;

/** Formats a metric for a table cell: four decimals for values up to 1, four significant digits above. */
function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) <= 1) return value.toFixed(4);
  return String(Number(value.toPrecision(4)));
}

function numberCell(value: number | null | undefined): string {
  return `<td class="number">${escapeHtml(formatNumber(value))}</td>`;
}

function table(headers: string[], rows: string[][]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.join("")}</tr>`).join("")
  }` +
    `</tbody></table>`;
}

function runInfoSection(runInfo: Record<string, string>): string {
  const rows = Object.entries(runInfo).map(([key, value]) => [
    `<th scope="row">${escapeHtml(key)}</th>`,
    `<td>${escapeHtml(String(value))}</td>`,
  ]);
  if (rows.length === 0) return "";
  return `<section id="run"><h2>Run</h2><table><tbody>${rows.map((r) => `<tr>${r.join("")}</tr>`).join("")}` +
    `</tbody></table></section>`;
}

function finalEpochSection(results: ResultsTable): string {
  const rows = lastSegmentRows(results);
  const last = rows[rows.length - 1];
  if (last === undefined) {
    return `<section id="final"><h2>Final epoch</h2><p>results.csv has no epochs yet.</p></section>`;
  }

  const best = bestRow(results);
  const columns = [...metricColumns(results), ...lossColumns(results)];
  const body = columns.map((column) => [
    `<th scope="row">${escapeHtml(column)}</th>`,
    numberCell(last.values[column]),
    numberCell(best?.values[column]),
  ]);
  const bestHeader = best ? `best epoch (${best.epoch})` : "best epoch";
  const segmentNote = results.segments > 1
    ? `<p>results.csv contains ${results.segments} runs; the tables and best epoch use the last one.</p>`
    : "";
  return `<section id="final"><h2>Final epoch</h2>${segmentNote}` +
    table(["column", `last epoch (${last.epoch})`, bestHeader], body) + `</section>`;
}

function testSummaryTable(metrics: TestMetrics): string {
  const speed = Object.entries(metrics.speedMs ?? {})
    .map(([step, ms]) => `${step} ${formatNumber(ms)} ms`)
    .join(", ");
  const rows = [
    ["split", metrics.split],
    ["weights", metrics.weights],
    ["images", String(metrics.images)],
    ["instances", String(metrics.instances)],
    ["precision", formatNumber(metrics.precision)],
    ["recall", formatNumber(metrics.recall)],
    ["mAP50", formatNumber(metrics.map50)],
    ["mAP50-95", formatNumber(metrics.map50_95)],
    ...(speed ? [["speed per image", speed]] : []),
  ].map(([key, value]) => [`<th scope="row">${escapeHtml(key)}</th>`, `<td>${escapeHtml(value)}</td>`]);
  return `<table><tbody>${rows.map((r) => `<tr>${r.join("")}</tr>`).join("")}</tbody></table>`;
}

function perClassTable(metrics: TestMetrics): string {
  const rows = metrics.classes.map((c) => [
    `<td>${escapeHtml(c.name)}</td>`,
    numberCell(c.images),
    numberCell(c.instances),
    numberCell(c.precision),
    numberCell(c.recall),
    numberCell(c.map50),
    numberCell(c.map50_95),
  ]);
  return table(["class", "images", "instances", "precision", "recall", "mAP50", "mAP50-95"], rows);
}

function chartFigures(charts: Chart[]): string {
  return charts.map((chart) => `<div class="chart" id="chart-${escapeHtml(chart.name)}">${chart.html}</div>`)
    .join("\n");
}

function navigation(charts: Chart[], hasTest: boolean, hasPredictions: boolean): string {
  const links = charts.map((chart) =>
    `<a href="#chart-${escapeHtml(chart.name)}">${escapeHtml(chart.title)}</a>`
  );
  if (hasTest) links.push(`<a href="#test">Test metrics</a>`);
  if (hasPredictions) links.push(`<a href="#predictions">Predictions</a>`);
  return links.length > 0 ? `<nav>${links.join("")}</nav>` : "";
}

/** Draws the charts the report needs when the caller passed none. */
function defaultCharts(input: ReportInput): Chart[] {
  const charts: Chart[] = [];
  if (input.results) charts.push(...trainingCharts(input.results));
  if (input.testMetrics) {
    charts.push(testMetricsChart(input.testMetrics));
    const matrix = confusionMatrixChart(input.testMetrics);
    if (matrix) charts.push(matrix);
  }
  return charts;
}

/** Builds the report page as a string; {@linkcode writeReport} writes it to a file. */
export function renderReport(input: ReportInput): string {
  const charts = input.charts ?? defaultCharts(input);
  const trainingFigures = charts.filter((chart) => !TEST_CHART_NAMES.has(chart.name));
  const testFigures = charts.filter((chart) => TEST_CHART_NAMES.has(chart.name));
  const { results, testMetrics } = input;

  const sections: string[] = [runInfoSection(input.runInfo)];
  if (results) sections.push(finalEpochSection(results));
  if (trainingFigures.length > 0) {
    sections.push(`<section id="training"><h2>Training</h2>${chartFigures(trainingFigures)}</section>`);
  }
  if (testMetrics || testFigures.length > 0) {
    const tables = testMetrics ? testSummaryTable(testMetrics) + perClassTable(testMetrics) : "";
    sections.push(`<section id="test"><h2>Test metrics</h2>${tables}${chartFigures(testFigures)}</section>`);
  }
  if (input.predictionGallery !== undefined) {
    sections.push(`<section id="predictions"><h2>Predictions</h2>${input.predictionGallery}</section>`);
  }
  if (results && results.warnings.length > 0) {
    const items = results.warnings.map((warning) => `<li>${escapeHtml(warning)}</li>`).join("");
    sections.push(`<section id="warnings"><h2>Warnings</h2><ul class="warnings">${items}</ul></section>`);
  }

  const title = escapeHtml(input.title);
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"/>` +
    `<title>${title}</title><style>${STYLE}</style></head>\n<body><main><h1>${title}</h1>` +
    `${navigation(charts, testMetrics !== undefined, input.predictionGallery !== undefined)}\n${
      sections.filter((s) => s).join("\n")
    }\n</main></body></html>\n`;
}

/**
 * Writes a self-contained report.html to `path`, creating its folder when
 * needed. All text from `input` is HTML-escaped; chart markup is inserted as
 * it comes from the chart functions.
 *
 * @example
 * ```ts ignore
 * import { writeReport } from "./report.ts";
 * import { readResults } from "./results.ts";
 * const results = await readResults("training_runs/run-1/results.csv");
 * await writeReport("training_runs/run-1/report.html", { title: "run-1", runInfo: { model: "yolo11n" }, results });
 * ```
 */
export async function writeReport(path: string, input: ReportInput): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderReport(input));
}
