import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DOMParser } from "linkedom";
import { testMetricsChart, trainingCharts } from "../lib/charts.ts";
import type { TestMetrics } from "../lib/metrics.ts";
import { renderReport, writeReport } from "../lib/report.ts";
import { readResults } from "../lib/results.ts";

const RESULTS = fileURLToPath(new URL("./testdata/results/", import.meta.url));

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
      name: "<script>alert(1)</script>",
      images: 30,
      instances: 64,
      precision: 0.771,
      recall: 0.637,
      map50: 0.722,
      map50_95: 0.398,
    },
  ],
  confusionMatrix: { names: ["dog", "person", "background"], matrix: [[37, 2, 5], [1, 41, 9], [10, 21, 0]] },
  speedMs: { preprocess: 0.41, inference: 23.5, postprocess: 1.2 },
};

/** Returns the problems that keep `markup` from being well-formed XML (void HTML tags must self-close). */
function wellFormedProblems(markup: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const tag =
    /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>/gi;
  let last = 0;
  for (const match of markup.matchAll(tag)) {
    const text = markup.slice(last, match.index);
    // Style and script content is CDATA in HTML, so only markup outside it is checked.
    if (stack.at(-1) !== "style" && /<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-f]+);)/i.test(text)) {
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
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(", ")}`);
  return problems;
}

function parseHtml(html: string): Document {
  return new DOMParser().parseFromString(html, "text/html") as unknown as Document;
}

async function fullInput() {
  const results = await readResults(`${RESULTS}detect_v84/results.csv`);
  return {
    title: "Thermal <dogs> & people",
    runInfo: { "run id": "run-20261204-1", model: "yolo11n.yaml", note: 'quotes " and <b>tags</b>' },
    results,
    testMetrics: METRICS,
  };
}

Deno.test("writeReport() writes a well-formed page with every chart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "nested", "report.html");
    await writeReport(path, await fullInput());
    const html = await Deno.readTextFile(path);

    assert.deepEqual(wellFormedProblems(html), []);
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    for (const name of ["losses", "metrics", "learning_rate", "test_metrics", "confusion_matrix"]) {
      assert.ok(html.includes(`id="chart-${name}"`), `chart ${name} missing`);
      assert.ok(html.includes(`href="#chart-${name}"`), `link to chart ${name} missing`);
    }
    const document = parseHtml(html);
    assert.equal(document.querySelectorAll("figure.trainbook-chart > svg").length, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("renderReport() needs no external resources", async () => {
  const html = renderReport(await fullInput());
  assert.ok(!/<(script|link|img|iframe)\b/i.test(html));
  assert.ok(!/\ssrc=/i.test(html));
  assert.ok(!/href="(?!#)/.test(html), "only in-page links");
  assert.ok(!/url\(\s*['"]?(https?:)?\/\//i.test(html));
  assert.ok(!/@import/.test(html));
});

Deno.test("renderReport() escapes all text", async () => {
  const html = renderReport(await fullInput());
  assert.ok(html.includes("<title>Thermal &lt;dogs&gt; &amp; people</title>"));
  assert.ok(html.includes("quotes &quot; and &lt;b&gt;tags&lt;/b&gt;"));
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(!html.includes("<script>"));
});

Deno.test("renderReport() shows run info, final epoch and test tables", async () => {
  const document = parseHtml(renderReport(await fullInput()));
  const runRows = Array.from(document.querySelectorAll("#run tr")).map((row) => row.textContent);
  assert.deepEqual(runRows, ["run idrun-20261204-1", "modelyolo11n.yaml", 'notequotes " and <b>tags</b>']);

  const finalHeaders = Array.from(document.querySelectorAll("#final th")).map((th) => th.textContent);
  assert.deepEqual(finalHeaders.slice(0, 3), ["column", "last epoch (10)", "best epoch (9)"]);
  assert.ok(finalHeaders.includes("metrics/mAP50-95(B)"));
  assert.ok(finalHeaders.includes("val/dfl_loss"));

  const test = document.querySelector("#test");
  assert.ok(test);
  assert.match(test.textContent ?? "", /mAP50-950\.4550/);
  assert.match(test.textContent ?? "", /inference 23\.5 ms/);
  const classRows = Array.from(test.querySelectorAll("tbody tr")).filter((row) =>
    row.querySelector("td.number")
  );
  assert.equal(classRows.length, 2);
  assert.equal(classRows[0].querySelector("td")?.textContent, "dog");
});

Deno.test("renderReport() uses the charts it is given", async () => {
  const input = await fullInput();
  const charts = [trainingCharts(input.results)[0], testMetricsChart(METRICS)];
  const html = renderReport({ ...input, charts });
  assert.ok(html.includes('id="chart-losses"'));
  assert.ok(!html.includes('id="chart-metrics"'));
  assert.ok(html.includes('id="chart-test_metrics"'));
  assert.ok(html.indexOf('id="chart-test_metrics"') > html.indexOf('<section id="test">'));
});

Deno.test("renderReport() leaves out sections without input", () => {
  const html = renderReport({ title: "empty", runInfo: {} });
  assert.deepEqual(wellFormedProblems(html), []);
  for (const id of ["run", "final", "training", "test", "warnings"]) {
    assert.ok(!html.includes(`<section id="${id}"`), `section ${id} present`);
  }
});

Deno.test("renderReport() lists results warnings and handles no epochs", async () => {
  const truncated = await readResults(`${RESULTS}truncated/results.csv`);
  assert.match(
    renderReport({ title: "t", runInfo: {}, results: truncated }),
    /<li>.*dropped it as incomplete<\/li>/,
  );
  const empty = await readResults(`${RESULTS}header_only/results.csv`);
  const html = renderReport({ title: "e", runInfo: {}, results: empty });
  assert.match(html, /results\.csv has no epochs yet/);
  assert.ok(!html.includes('<section id="training"'));
});
