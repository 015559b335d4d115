import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DOMParser } from "linkedom";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import {
  type Chart,
  compareChart,
  confusionMatrixChart,
  testMetricsChart,
  toVegaLite,
  trainingCharts,
  writeCharts,
} from "../lib/charts.ts";
import { JUPYTER_DISPLAY, type MimeBundle, VEGA_LITE_MIME } from "../lib/display.ts";
import { OptionsError } from "../lib/errors.ts";
import type { TestMetrics } from "../lib/metrics.ts";
import { parseResults, readResults } from "../lib/results.ts";

const RESULTS = fileURLToPath(new URL("./testdata/results/", import.meta.url));
const SNAPSHOTS = fileURLToPath(new URL("./testdata/charts/", import.meta.url));
const UPDATE = Deno.env.get("UPDATE_SNAPSHOTS") === "1";

const METRICS: TestMetrics = {
  split: "test",
  weights: "runs/detect/train/weights/best.pt",
  images: 41,
  instances: 112,
  precision: 0.812,
  recall: 0.704,
  map50: 0.768,
  map50_95: 0.455,
  classes: [
    {
      classId: 0,
      name: "dog",
      images: 22,
      instances: 48,
      precision: 0.853,
      recall: 0.771,
      map50: 0.814,
      map50_95: 0.512,
    },
    {
      classId: 1,
      name: "person <&>",
      images: 30,
      instances: 64,
      precision: 0.771,
      recall: 0.637,
      map50: 0.722,
      map50_95: 0.398,
    },
  ],
  confusionMatrix: {
    names: ["dog", "person <&>", "background"],
    matrix: [[37, 2, 5], [1, 41, 9], [10, 21, 0]],
  },
};

/**
 * Checks that markup is well-formed XML: tags nest and close, attribute values
 * are quoted, and text contains no raw `<` or stray `&`. Returns the problems found.
 */
function wellFormedProblems(markup: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const tag =
    /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>/gi;
  let last = 0;
  for (const match of markup.matchAll(tag)) {
    const text = markup.slice(last, match.index);
    if (/<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-f]+);)/i.test(text)) {
      problems.push(`bad text at ${last}: ${JSON.stringify(text.slice(0, 60))}`);
    }
    last = match.index + match[0].length;
    const [, closing, name, , selfClosing] = match;
    if (name === undefined) continue;
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}> at ${match.index}`);
    } else if (!selfClosing) {
      stack.push(name);
    }
  }
  if (/[<>]/.test(markup.slice(last).replace(/\s+$/, ""))) problems.push("bad text at the end");
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(", ")}`);
  return problems;
}

function parseSvg(svg: string): Document {
  return new DOMParser().parseFromString(svg, "image/svg+xml") as unknown as Document;
}

function assertStandaloneSvg(chart: Chart) {
  assert.deepEqual(wellFormedProblems(chart.svg), [], `${chart.name}.svg is not well-formed`);
  assert.deepEqual(wellFormedProblems(chart.html), [], `${chart.name} html is not well-formed`);
  assert.ok(
    chart.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'),
    `${chart.name}: root is not svg`,
  );
  assert.equal(
    chart.svg.match(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g)?.length,
    1,
    `${chart.name}: xmlns count`,
  );
  assert.ok(!chart.svg.includes("currentColor"), `${chart.name}: currentColor left`);
  assert.match(chart.svg, /^<svg[^>]*><rect width="100%" height="100%" fill="#ffffff"\/>/);
  assert.ok(chart.html.startsWith("<figure"), `${chart.name}: html is not a figure`);
  assert.ok(!chart.html.includes("currentColor"));
}

/** Rounds numbers to one decimal and renumbers ids, so snapshots ignore float noise. */
function normaliseSvg(svg: string): string {
  const ids = new Map<string, string>();
  const renamed = svg.replace(/\bid="([^"]+)"/g, (_m, id: string) => {
    if (!ids.has(id)) ids.set(id, `id${ids.size}`);
    return `id="${ids.get(id)}"`;
  }).replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${ids.get(id) ?? id})`);
  return renamed.replace(/-?\d+\.\d+/g, (n) => (Math.round(Number(n) * 10) / 10).toFixed(1))
    .replaceAll(">", ">\n");
}

async function assertSnapshot(name: string, svg: string) {
  const path = join(SNAPSHOTS, `${name}.svg`);
  const actual = normaliseSvg(svg);
  if (UPDATE) {
    await Deno.mkdir(SNAPSHOTS, { recursive: true });
    await Deno.writeTextFile(path, actual);
    return;
  }
  const expected = await Deno.readTextFile(path).catch(() => {
    throw new Error(`snapshot ${path} is missing; run with UPDATE_SNAPSHOTS=1 to write it`);
  });
  assert.equal(
    actual,
    expected,
    `${name}.svg differs from its snapshot; rerun with UPDATE_SNAPSHOTS=1 if intended`,
  );
}

function panelTitles(svg: string): string[] {
  return Array.from(parseSvg(svg).querySelectorAll('text[font-weight="600"]')).map((t) =>
    t.textContent ?? ""
  );
}

/** Returns the line paths drawn in `color`; Plot puts a constant stroke on the mark's group. */
function linePaths(svg: string, color: string): Element[] {
  return Array.from(parseSvg(svg).querySelectorAll(`g[aria-label="line"][stroke="${color}"] path`));
}

function bundleOf(value: unknown): MimeBundle {
  const display = (value as { [JUPYTER_DISPLAY]?: () => MimeBundle })[JUPYTER_DISPLAY];
  assert.equal(typeof display, "function", "value has no Jupyter display method");
  return display!.call(value);
}

Deno.test("trainingCharts() draws losses, metrics and learning rate", async () => {
  const table = await readResults(`${RESULTS}detect_v84/results.csv`);
  const charts = trainingCharts(table);
  assert.deepEqual(charts.map((c) => c.name), ["losses", "metrics", "learning_rate"]);
  for (const chart of charts) assertStandaloneSvg(chart);

  assert.deepEqual(panelTitles(charts[0].svg), ["Losses", "box_loss", "cls_loss", "dfl_loss"]);
  assert.equal(linePaths(charts[0].svg, "#4269d0").length, 3, "one train line per loss panel");
  assert.equal(linePaths(charts[0].svg, "#efb118").length, 3, "one val line per loss panel");
  assert.deepEqual(panelTitles(charts[1].svg), [
    "Validation metrics",
    "precision",
    "recall",
    "mAP50",
    "mAP50-95",
  ]);
  assert.equal(linePaths(charts[2].svg, "#ff725c").length, 1, "pg2 line");

  for (const name of ["losses", "metrics", "learning_rate"]) {
    await assertSnapshot(`detect_${name}`, charts.find((c) => c.name === name)!.svg);
  }
});

Deno.test("trainingCharts() marks the best epoch", async () => {
  const table = await readResults(`${RESULTS}detect_v84/results.csv`);
  const [losses, metrics] = trainingCharts(table);
  assert.match(metrics.svg, /best epoch \(9\)/);
  assert.equal(parseSvg(metrics.svg).querySelectorAll('svg svg [stroke-dasharray="4,3"]').length, 4);
  assert.equal(parseSvg(losses.svg).querySelectorAll('svg svg [stroke-dasharray="4,3"]').length, 3);
});

Deno.test("trainingCharts() leaves gaps for nan and inf", () => {
  const table = parseResults(
    "epoch,train/box_loss,val/box_loss\n1,1.5,nan\n2,1.4,1.3\n3,1.3,inf\n4,1.2,1.1\n5,1.1,1.0\n",
  );
  const [losses] = trainingCharts(table);
  const [train] = linePaths(losses.svg, "#4269d0");
  const [val] = linePaths(losses.svg, "#efb118");
  const moves = (path: Element) => (path.getAttribute("d") ?? "").match(/M/g)?.length;
  assert.equal(moves(train), 1, "train line has no gap");
  assert.equal(moves(val), 2, "val line restarts after the inf at epoch 3");
  const dots = parseSvg(losses.svg).querySelectorAll('g[aria-label="dot"][fill="#efb118"] circle');
  assert.equal(dots.length, 1, "the lone val point at epoch 2 gets a dot");
  assert.ok(!/Infinity|NaN/.test(losses.svg));
});

Deno.test("trainingCharts() draws earlier appended runs faint", async () => {
  const table = await readResults(`${RESULTS}appended/results.csv`);
  const [losses] = trainingCharts(table);
  assert.match(losses.svg, /earlier runs in this file \(1\), faint/);
  const train = linePaths(losses.svg, "#4269d0");
  assert.equal(train.length, 6, "two runs times three loss panels");
  const faint = parseSvg(losses.svg).querySelectorAll(
    'g[aria-label="line"][stroke="#4269d0"][stroke-opacity="0.35"]',
  );
  assert.equal(faint.length, 3);
});

Deno.test("trainingCharts() adapts to classification columns", async () => {
  const table = await readResults(`${RESULTS}classify/results.csv`);
  const charts = trainingCharts(table);
  assert.deepEqual(panelTitles(charts[0].svg), ["Losses", "loss"]);
  assert.deepEqual(panelTitles(charts[1].svg), ["Validation metrics", "accuracy_top1", "accuracy_top5"]);
  for (const chart of charts) assertStandaloneSvg(chart);
});

Deno.test("trainingCharts() shows box and mask for segmentation", async () => {
  const table = await readResults(`${RESULTS}segment/results.csv`);
  const [losses, metrics] = trainingCharts(table);
  assert.deepEqual(panelTitles(losses.svg).slice(1), ["box_loss", "seg_loss", "cls_loss", "dfl_loss"]);
  const legend = Array.from(parseSvg(metrics.svg).querySelectorAll('g[font-size="11"] text')).map((t) =>
    t.textContent
  );
  assert.deepEqual(legend, ["box", "mask", "best epoch (6)"]);
});

Deno.test("trainingCharts() shows YOLOv5 objectness loss", async () => {
  const table = await readResults(`${RESULTS}yolov5/results.csv`);
  const [losses] = trainingCharts(table);
  assert.deepEqual(panelTitles(losses.svg).slice(1), ["box_loss", "obj_loss", "cls_loss"]);
});

Deno.test("trainingCharts() returns no charts for a header-only file", async () => {
  const charts = trainingCharts(await readResults(`${RESULTS}header_only/results.csv`));
  assert.equal(charts.length, 0);
  assert.equal(bundleOf(charts)["text/plain"], "No charts");
});

Deno.test("charts display as HTML in Jupyter", async () => {
  const charts = trainingCharts(await readResults(`${RESULTS}detect_v84/results.csv`));
  const bundle = bundleOf(charts[0]);
  assert.equal(bundle["text/html"], charts[0].html);
  assert.equal(bundle["text/plain"], "Chart: Losses");
  const all = bundleOf(charts);
  assert.equal(all["text/html"], charts.map((c) => c.html).join("\n"));
  assert.equal(all["text/plain"], "Charts: Losses, Validation metrics, Learning rate");
  assert.deepEqual(Object.keys(charts[0]), ["name", "title", "svg", "html"]);
});

Deno.test("testMetricsChart() draws four bars per class", async () => {
  const chart = testMetricsChart(METRICS);
  assertStandaloneSvg(chart);
  assert.equal(chart.name, "test_metrics");
  const bars = parseSvg(chart.svg).querySelectorAll("svg svg rect");
  assert.equal(bars.length, 4 * 3, "precision, recall, mAP50, mAP50-95 for all classes, dog and person");
  assert.ok(chart.svg.includes("person &lt;&amp;&gt;"));
  assert.ok(!chart.svg.includes("person <&>"));
  await assertSnapshot("test_metrics", chart.svg);
});

Deno.test("confusionMatrixChart() draws counts in cells", async () => {
  const chart = confusionMatrixChart(METRICS);
  assert.ok(chart);
  assertStandaloneSvg(chart);
  const document = parseSvg(chart.svg);
  assert.equal(document.querySelectorAll('svg svg g[aria-label="cell"] rect').length, 9);
  const counts = Array.from(document.querySelectorAll('svg svg g[aria-label="text"] text')).map((t) =>
    t.textContent
  );
  assert.deepEqual(counts, ["37", "2", "5", "1", "41", "9", "10", "21"]);
  await assertSnapshot("confusion_matrix", chart.svg);
});

Deno.test("confusionMatrixChart() is undefined without a matrix", () => {
  assert.equal(confusionMatrixChart({ ...METRICS, confusionMatrix: undefined }), undefined);
});

Deno.test("compareChart() overlays runs with a legend", async () => {
  const first = await readResults(`${RESULTS}appended/results.csv`);
  const second = await readResults(`${RESULTS}detect_v84/results.csv`);
  const chart = compareChart([{ label: "baseline", table: first }, { label: "imgsz 640", table: second }]);
  assertStandaloneSvg(chart);
  assert.equal(chart.title, "metrics/mAP50-95(B) by epoch");
  assert.equal(linePaths(chart.svg, "#4269d0").length, 1, "only the last run of the appended file");
  assert.equal(linePaths(chart.svg, "#efb118").length, 1);
  assert.match(chart.svg, />baseline<.*>imgsz 640</);
  await assertSnapshot("compare", chart.svg);
});

Deno.test("compareChart() rejects an unknown metric", async () => {
  const table = await readResults(`${RESULTS}detect_v84/results.csv`);
  assert.throws(() => compareChart([{ label: "a", table }], "metrics/nope"), OptionsError);
  assert.throws(() => compareChart([]), OptionsError);
});

Deno.test("writeCharts() writes one SVG per chart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const charts = trainingCharts(await readResults(`${RESULTS}detect_v84/results.csv`));
    const paths = await writeCharts(charts, join(dir, "charts"));
    assert.deepEqual(
      paths,
      ["losses", "metrics", "learning_rate"].map((n) => join(dir, "charts", `${n}.svg`)),
    );
    assert.equal(await Deno.readTextFile(paths[0]), charts[0].svg);
    await assert.rejects(writeCharts([charts[0], charts[0]], dir), OptionsError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("toVegaLite() builds a spec Vega renders", async () => {
  const table = await readResults(`${RESULTS}detect_v84/results.csv`);
  const spec = toVegaLite(table);
  assert.equal(spec.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
  const values = (spec.data as { values: { series: string; value: number | null }[] }).values;
  assert.equal(values.length, 10 * 4);
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), { ...spec });

  const compiled = vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  assert.match(svg, /^<svg/);
  assert.match(svg, /metrics\/mAP50-95\(B\)/);

  const bundle = bundleOf(spec);
  assert.equal(bundle[VEGA_LITE_MIME], spec);
  assert.match(bundle["text/plain"], /10 epochs/);
});

Deno.test("toVegaLite() draws one metric with gaps as null", async () => {
  const table = await readResults(`${RESULTS}detect_v84/results.csv`);
  const spec = toVegaLite(table, "val/cls_loss");
  const values = (spec.data as { values: { epoch: number; value: number | null }[] }).values;
  assert.deepEqual(values.slice(0, 2).map((v) => v.value), [null, null]);
  assert.throws(() => toVegaLite(table, "metrics/nope"), OptionsError);
});

Deno.test("wellFormedProblems() finds broken markup", () => {
  assert.deepEqual(wellFormedProblems('<svg xmlns="x"><g><path d="M0"/></g></svg>'), []);
  assert.equal(wellFormedProblems("<svg><g></svg>").length, 2);
  assert.equal(wellFormedProblems("<svg><text>a < b</text></svg>").length, 1);
  assert.equal(wellFormedProblems("<svg><text>a & b</text></svg>").length, 1);
  assert.equal(wellFormedProblems("<svg width=3></svg>").length, 2);
});
