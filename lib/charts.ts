/**
 * Charts of a training run drawn with Observable Plot: losses, validation
 * metrics and learning rate from a results.csv, test metrics per class, the
 * confusion matrix, and a comparison of runs. Every chart is a standalone SVG
 * (for files and reports) and an HTML figure that displays itself in the Deno
 * Jupyter kernel.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OptionsError } from "./errors.ts";
import {
  type Chart,
  chartDocument,
  composeChart,
  displayCharts,
  INK,
  type LegendEntry,
  MUTED,
  PALETTE,
  type Panel,
} from "./_chart_layout.ts";
import type { Displayable } from "./display.ts";
import {
  bestRow,
  learningRateColumns,
  lossColumns,
  metricColumns,
  type ResultsRow,
  type ResultsTable,
} from "./results.ts";

export type { Chart } from "./_chart_layout.ts";
export { confusionMatrixChart, testMetricsChart } from "./_chart_evaluation.ts";
export { toVegaLite } from "./_chart_vega.ts";

const PANEL_WIDTH = 320;
const PANEL_HEIGHT = 220;
const EARLIER_RUN_OPACITY = 0.35;
const BEST_DASH = "4,3";

/** One line of a panel: a column drawn in one colour. */
interface Series {
  label: string;
  column: string;
  color: string;
  dash?: string;
}

/** Points of one series in one segment; non-finite values become gaps. */
function seriesPoints(rows: ResultsRow[], column: string): { epoch: number; value: number | null }[] {
  return rows.map((row) => {
    const value = row.values[column];
    return { epoch: row.epoch, value: typeof value === "number" && Number.isFinite(value) ? value : null };
  });
}

/** Returns the points with no defined neighbour, which a line cannot show, so they get a dot. */
function lonePoints<T extends { value: number | null }>(points: T[]): T[] {
  return points.filter((point, i) =>
    point.value !== null && (points[i - 1]?.value ?? null) === null && (points[i + 1]?.value ?? null) === null
  );
}

/** Splits rows by segment, so that an appended run starts a new line instead of joining the last one. */
function rowsBySegment(table: ResultsTable): ResultsRow[][] {
  const groups: ResultsRow[][] = [];
  for (const row of table.rows) (groups[row.segment - 1] ??= []).push(row);
  return groups.filter((group) => group !== undefined);
}

interface LinePanelOptions {
  series: Series[];
  segments: ResultsRow[][];
  lastSegment: number;
  bestEpoch?: number;
  /** Fixes the y domain to [0, 1] for proportions. */
  unitInterval?: boolean;
  yLabel?: string;
}

/** Draws the series of one panel, earlier runs fainter, with the best epoch as a dashed rule. */
function linePanel(options: LinePanelOptions): Element {
  const { series, segments, lastSegment, bestEpoch, unitInterval, yLabel } = options;
  const marks: Plot.Markish[] = [Plot.gridY({ stroke: INK, strokeOpacity: 0.08 })];

  for (const rows of segments) {
    const opacity = rows[0].segment === lastSegment ? 1 : EARLIER_RUN_OPACITY;
    for (const s of series) {
      const points = seriesPoints(rows, s.column);
      const lineOptions = {
        x: "epoch",
        y: "value",
        stroke: s.color,
        strokeWidth: 1.6,
        strokeOpacity: opacity,
      };
      marks.push(Plot.lineY(points, { ...lineOptions, strokeDasharray: s.dash }));
      marks.push(
        Plot.dot(lonePoints(points), { x: "epoch", y: "value", r: 2, fill: s.color, fillOpacity: opacity }),
      );
    }
  }
  if (bestEpoch !== undefined) {
    marks.push(Plot.ruleX([bestEpoch], { stroke: MUTED, strokeDasharray: BEST_DASH }));
  }

  // Learning rates such as 0.000144 do not fit the left margin as decimals, so small
  // values are labelled in exponent form (1.44e-4).
  let largest = 0;
  for (const rows of segments) {
    for (const s of series) {
      for (const point of seriesPoints(rows, s.column)) {
        largest = Math.max(largest, Math.abs(point.value ?? 0));
      }
    }
  }
  const smallValues = largest > 0 && largest < 0.01;

  return Plot.plot({
    document: chartDocument,
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    marginLeft: 48,
    style: { color: INK, background: "#ffffff" },
    x: { label: "epoch", labelAnchor: "right", tickFormat: "d" },
    y: {
      label: yLabel ?? null,
      domain: unitInterval ? [0, 1] : undefined,
      nice: !unitInterval,
      tickFormat: smallValues ? "~e" : undefined,
    },
    marks,
  }) as Element;
}

function bestLegend(epoch: number | undefined): LegendEntry[] {
  return epoch === undefined ? [] : [{ label: `best epoch (${epoch})`, color: MUTED, dash: BEST_DASH }];
}

function earlierRunsLegend(table: ResultsTable): LegendEntry[] {
  if (table.segments < 2) return [];
  return [{ label: `earlier runs in this file (${table.segments - 1}), faint`, color: MUTED }];
}

/** Loss kind of a loss column: `box_loss` for `train/box_loss`. */
function lossKind(column: string): string {
  return column.slice(column.indexOf("/") + 1);
}

function lossesChart(table: ResultsTable, segments: ResultsRow[][], best?: number): Chart | undefined {
  const columns = lossColumns(table);
  if (columns.length === 0) return undefined;

  const kinds = [...new Set(columns.map(lossKind))];
  const panels: Panel[] = kinds.map((kind) => {
    const series: Series[] = [];
    if (columns.includes(`train/${kind}`)) {
      series.push({ label: "train", column: `train/${kind}`, color: PALETTE[0] });
    }
    if (columns.includes(`val/${kind}`)) {
      series.push({ label: "val", column: `val/${kind}`, color: PALETTE[1] });
    }
    return {
      title: kind,
      plot: linePanel({ series, segments, lastSegment: table.segments, bestEpoch: best }),
    };
  });

  const legend: LegendEntry[] = [
    { label: "train", color: PALETTE[0] },
    { label: "val", color: PALETTE[1] },
    ...bestLegend(best),
    ...earlierRunsLegend(table),
  ];
  return composeChart({
    name: "losses",
    title: "Losses",
    legend,
    panels,
    columns: Math.min(kinds.length, 4),
  });
}

const METRIC_ORDER = ["precision", "recall", "mAP50", "mAP50-95", "accuracy_top1", "accuracy_top5"];
const SUFFIX_LABELS: Record<string, string> = { B: "box", M: "mask", P: "pose" };

/** Splits `metrics/mAP50(B)` into the metric `mAP50` and the suffix `B` (empty when there is none). */
function splitMetric(column: string): { metric: string; suffix: string } {
  const match = /^metrics\/(.*?)(?:\(([A-Z])\))?$/.exec(column);
  return { metric: match?.[1] ?? column, suffix: match?.[2] ?? "" };
}

function metricsChart(table: ResultsTable, segments: ResultsRow[][], best?: number): Chart | undefined {
  const columns = metricColumns(table);
  if (columns.length === 0) return undefined;

  const parsed = columns.map((column) => ({ column, ...splitMetric(column) }));
  const suffixes = [...new Set(parsed.map((p) => p.suffix))];
  const colorOf = (suffix: string) => PALETTE[suffixes.indexOf(suffix) % PALETTE.length];
  const labelOf = (suffix: string) => SUFFIX_LABELS[suffix] ?? (suffix || "value");
  const metrics = [...new Set(parsed.map((p) => p.metric))].sort((a, b) => {
    const rank = (m: string) => METRIC_ORDER.includes(m) ? METRIC_ORDER.indexOf(m) : METRIC_ORDER.length;
    return rank(a) - rank(b);
  });

  const panels: Panel[] = metrics.map((metric) => {
    const series = parsed.filter((p) => p.metric === metric)
      .map((p) => ({ label: labelOf(p.suffix), column: p.column, color: colorOf(p.suffix) }));
    const unitInterval = series.every((s) =>
      table.rows.every((row) => {
        const value = row.values[s.column];
        return value === null || value === undefined || (value >= 0 && value <= 1);
      })
    );
    const plot = linePanel({ series, segments, lastSegment: table.segments, bestEpoch: best, unitInterval });
    return { title: metric, plot };
  });

  const legend: LegendEntry[] = suffixes.length > 1 || suffixes[0] !== ""
    ? suffixes.map((suffix) => ({ label: labelOf(suffix), color: colorOf(suffix) }))
    : [];
  legend.push(...bestLegend(best), ...earlierRunsLegend(table));
  return composeChart({
    name: "metrics",
    title: "Validation metrics",
    legend,
    panels,
    columns: Math.min(metrics.length, 4),
  });
}

function learningRateChart(table: ResultsTable, segments: ResultsRow[][]): Chart | undefined {
  const columns = learningRateColumns(table);
  if (columns.length === 0) return undefined;

  // Groups with the same schedule overlap, so later groups are dashed to keep the earlier ones visible.
  const series: Series[] = columns.map((column, i) => ({
    label: column.slice("lr/".length),
    column,
    color: PALETTE[i % PALETTE.length],
    dash: i === 0 ? undefined : `${6 - Math.min(i, 4)},${2 + i}`,
  }));
  const plot = linePanel({ series, segments, lastSegment: table.segments, yLabel: "learning rate" });
  const legend: LegendEntry[] = series.map((s) => ({ label: s.label, color: s.color, dash: s.dash }));
  return composeChart({
    name: "learning_rate",
    title: "Learning rate",
    legend: [...legend, ...earlierRunsLegend(table)],
    panels: [{ plot }],
    columns: 1,
  });
}

/**
 * Draws the standard charts of a run from its results.csv. `losses` has one
 * panel per loss kind with train and val lines. `metrics` has one panel per
 * metric with a line for each of box, mask and pose. `learning_rate` has one
 * line per parameter group. The best epoch of the last run is a dashed rule. Missing
 * values (`nan`) and infinite values are drawn as gaps. Runs appended earlier
 * to the same file are drawn faint. A chart whose columns are absent is left
 * out, so a header-only file gives no charts.
 *
 * The returned list displays all its charts in the Deno Jupyter kernel.
 */
export function trainingCharts(table: ResultsTable): Chart[] & Displayable {
  if (table.rows.length === 0) return displayCharts([]);

  const segments = rowsBySegment(table);
  const best = bestRow(table)?.epoch;
  const charts = [
    lossesChart(table, segments, best),
    metricsChart(table, segments, best),
    learningRateChart(table, segments),
  ].filter((chart): chart is Chart & Displayable => chart !== undefined);
  return displayCharts(charts);
}

const COMPARE_DEFAULTS = [
  "metrics/mAP50-95(B)",
  "metrics/mAP50(B)",
  "metrics/accuracy_top1",
  "metrics/mAP50-95(M)",
];

function pickCompareMetric(runs: { label: string; table: ResultsTable }[], metric?: string): string {
  if (metric !== undefined) {
    if (!runs.some((run) => run.table.columns.includes(metric))) {
      throw new OptionsError("metric is not a column of any run", {
        value: metric,
        hint: `Pass one of: ${runs[0].table.columns.join(", ")}`,
      });
    }
    return metric;
  }
  const shared = COMPARE_DEFAULTS.find((name) => runs.every((run) => run.table.columns.includes(name)));
  const fallback = runs.map((run) => metricColumns(run.table)[0] ?? run.table.columns[0]).find((c) => c);
  if (shared ?? fallback) return (shared ?? fallback) as string;
  throw new OptionsError("runs have no columns to compare", { hint: "Pass runs whose results.csv has rows" });
}

/**
 * Draws one metric of several runs on one panel, aligned by epoch, with a
 * legend of run labels. Only the last run of each file is drawn. The metric
 * defaults to the first of mAP50-95(B), mAP50(B), top-1 accuracy and
 * mAP50-95(M) that every run has.
 *
 * @throws {OptionsError} when `runs` is empty or `metric` is in none of them.
 */
export function compareChart(
  runs: { label: string; table: ResultsTable }[],
  metric?: string,
): Chart & Displayable {
  if (runs.length === 0) {
    throw new OptionsError("no runs to compare", { hint: "Pass at least one { label, table } entry" });
  }
  const column = pickCompareMetric(runs, metric);

  const marks: Plot.Markish[] = [Plot.gridY({ stroke: INK, strokeOpacity: 0.08 })];
  const legend: LegendEntry[] = runs.map((run, i) => {
    const color = PALETTE[i % PALETTE.length];
    const rows = run.table.rows.filter((row) => row.segment === run.table.segments);
    const points = seriesPoints(rows, column);
    marks.push(Plot.lineY(points, { x: "epoch", y: "value", stroke: color, strokeWidth: 1.6 }));
    marks.push(Plot.dot(lonePoints(points), { x: "epoch", y: "value", r: 2, fill: color }));
    const missing = run.table.columns.includes(column) ? "" : " (no such column)";
    return { label: `${run.label}${missing}`, color };
  });

  const plot = Plot.plot({
    document: chartDocument,
    width: 640,
    height: 320,
    marginLeft: 48,
    style: { color: INK, background: "#ffffff" },
    x: { label: "epoch", labelAnchor: "right", tickFormat: "d" },
    y: { label: column, labelAnchor: "top" },
    marks,
  }) as Element;
  const title = `${column} by epoch`;
  return composeChart({ name: "compare", title, legend, panels: [{ plot }], columns: 1 });
}

/**
 * Writes each chart's standalone SVG to `<dir>/<name>.svg`, creating `dir`
 * when needed. Returns the paths written, in the order of `charts`.
 *
 * @throws {OptionsError} when two charts share a name, because one file would overwrite the other.
 */
export async function writeCharts(charts: Chart[], dir: string): Promise<string[]> {
  const names = charts.map((chart) => chart.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) {
    throw new OptionsError("two charts have the same name", { value: repeated, hint: "Rename one chart" });
  }

  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const chart of charts) {
    const path = join(dir, `${chart.name}.svg`);
    await writeFile(path, chart.svg);
    paths.push(path);
  }
  return paths;
}
