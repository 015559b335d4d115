/**
 * Charts of test-set metrics: per-class bars and the confusion matrix.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { type Chart, chartDocument, composeChart, INK, type LegendEntry, PALETTE } from "./_chart_layout.ts";
import type { Displayable } from "./display.ts";
import type { TestMetrics } from "./metrics.ts";

const BAR_METRICS = [
  { key: "precision", label: "precision", color: PALETTE[0] },
  { key: "recall", label: "recall", color: PALETTE[1] },
  { key: "map50", label: "mAP50", color: PALETTE[2] },
  { key: "map50_95", label: "mAP50-95", color: PALETTE[3] },
] as const;
const BAR_HEIGHT = 7;
const ALL_CLASSES = "all classes";

/** Left margin wide enough for the longest label, estimated at 6.5 px per character at 10 px. */
function labelMargin(labels: string[]): number {
  return Math.min(220, 16 + 6.5 * Math.max(4, ...labels.map((label) => label.length)));
}

/**
 * Draws precision, recall, mAP50 and mAP50-95 as grouped horizontal bars for
 * every class, with the all-classes values as the first group.
 */
export function testMetricsChart(metrics: TestMetrics): Chart & Displayable {
  const groups = [
    { name: ALL_CLASSES, ...metrics },
    ...metrics.classes.map((c) => ({ ...c, name: c.name || `class ${c.classId}` })),
  ];
  const names = groups.map((group) => group.name);
  const bars = groups.flatMap((group) =>
    BAR_METRICS.map((metric) => ({ name: group.name, metric: metric.label, value: group[metric.key] }))
  );

  const plot = Plot.plot({
    document: chartDocument,
    width: 640,
    height: 40 + groups.length * (BAR_METRICS.length * BAR_HEIGHT + 10),
    marginLeft: labelMargin(names),
    marginTop: 24,
    marginRight: 24,
    style: { color: INK, background: "#ffffff" },
    x: { domain: [0, 1], grid: true, label: null, axis: "top" },
    y: { axis: null, domain: BAR_METRICS.map((m) => m.label) },
    fy: { domain: names, label: null, axis: "left", padding: 0.15 },
    color: { domain: BAR_METRICS.map((m) => m.label), range: BAR_METRICS.map((m) => m.color) },
    marks: [
      Plot.barX(bars, { fy: "name", y: "metric", x: "value", fill: "metric" }),
      Plot.ruleX([0], { stroke: INK }),
    ],
  }) as Element;

  const legend: LegendEntry[] = BAR_METRICS.map((m) => ({ label: m.label, color: m.color, shape: "square" }));
  return composeChart({
    name: "test_metrics",
    title: `Metrics per class on the ${metrics.split} split`,
    legend,
    panels: [{ plot }],
    columns: 1,
  });
}

/** Largest cell side in pixels; cells shrink for many classes so the matrix stays under about 640 px. */
const MAX_CELL = 40;
/** Counts are written into cells at least this big. */
const MIN_LABELLED_CELL = 22;

/**
 * Draws the confusion matrix with predicted classes as rows and true classes
 * as columns. Each cell shows its count, and the cell colour is the share of
 * that true class's instances (column-normalised, as Ultralytics plots it).
 * Returns `undefined` when `metrics` has no confusion matrix.
 */
export function confusionMatrixChart(metrics: TestMetrics): (Chart & Displayable) | undefined {
  const matrix = metrics.confusionMatrix;
  if (!matrix || matrix.matrix.length === 0) return undefined;

  const { names } = matrix;
  const columnTotals = names.map((_, column) =>
    matrix.matrix.reduce((sum, row) => sum + (row[column] ?? 0), 0)
  );
  const cells = matrix.matrix.flatMap((row, predicted) =>
    row.map((count, actual) => ({
      predicted: names[predicted] ?? String(predicted),
      actual: names[actual] ?? String(actual),
      count,
      share: columnTotals[actual] > 0 ? count / columnTotals[actual] : 0,
    }))
  );

  const cell = Math.max(10, Math.min(MAX_CELL, Math.floor(640 / names.length)));
  const margin = labelMargin(names);
  const marks: Plot.Markish[] = [
    Plot.cell(cells, { x: "actual", y: "predicted", fill: "share", inset: 0.5 }),
  ];
  if (cell >= MIN_LABELLED_CELL) {
    marks.push(Plot.text(cells.filter((c) => c.count > 0), {
      x: "actual",
      y: "predicted",
      text: "count",
      fill: (c: { share: number }) => c.share > 0.55 ? "#ffffff" : INK,
    }));
  }

  const plot = Plot.plot({
    document: chartDocument,
    width: margin + names.length * cell + 20,
    height: margin + names.length * cell + 20,
    marginLeft: margin,
    marginBottom: margin,
    marginTop: 10,
    marginRight: 10,
    style: { color: INK, background: "#ffffff" },
    x: { domain: names, label: "true class", tickRotate: -45 },
    y: { domain: names, label: "predicted class" },
    color: { type: "linear", domain: [0, 1], range: ["#f4f8fd", "#08306b"] },
    marks,
  }) as Element;

  return composeChart({
    name: "confusion_matrix",
    title: `Confusion matrix on the ${metrics.split} split`,
    legend: [
      { label: "0% of the true class", color: "#f4f8fd", shape: "square" },
      { label: "100% of the true class", color: "#08306b", shape: "square" },
    ],
    panels: [{ plot }],
    columns: 1,
  });
}
