/**
 * Predictions of a real tiny model (2 epochs at 64 px) on the bundled dataset.
 * Such a model finds little, so the checks cover shapes and behaviour, with
 * conf 0.001 where detections are needed.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { labelPathFor } from "../lib/dataset.ts";
import { NotFoundError, OptionsError } from "../lib/errors.ts";
import { evaluate } from "../lib/evaluate.ts";
import { predict, predictionGallery, type Predictions, runSplitImages } from "../lib/predict.ts";
import { writeRunReport } from "../lib/run_report.ts";
import { train } from "../lib/train.ts";
import { DATASET, tempDir } from "./helpers.ts";

const TEST_IMAGES = join(DATASET, "test", "images");
const IMAGE_SIZE = 416;

function sortedImageNames(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((entry) => entry.name).filter((name) => name.endsWith(".jpg")).sort();
}

function assertWellFormed(predictions: Predictions, conf: number): void {
  for (const entry of predictions.images) {
    assert.equal(entry.width, IMAGE_SIZE, `width of ${entry.image}`);
    assert.equal(entry.height, IMAGE_SIZE, `height of ${entry.image}`);
    for (const detection of entry.detections) {
      const { x1, y1, x2, y2 } = detection.box;
      assert.ok(x1 >= 0, `x1 ${x1} left of the image`);
      assert.ok(y1 >= 0, `y1 ${y1} above the image`);
      assert.ok(x1 <= x2, `x1 ${x1} right of x2 ${x2}`);
      assert.ok(y1 <= y2, `y1 ${y1} below y2 ${y2}`);
      assert.ok(x2 <= entry.width, `x2 ${x2} right of the image`);
      assert.ok(y2 <= entry.height, `y2 ${y2} below the image`);
      assert.ok(detection.confidence >= conf, `confidence ${detection.confidence} below ${conf}`);
      assert.ok(detection.confidence <= 1, `confidence ${detection.confidence} above 1`);
      assert.equal(detection.className, predictions.names[detection.classId]);
    }
  }
}

/** Awaits a promise that must reject with an instance of `kind`, and returns the error. */
async function rejection<T extends Error>(
  promise: Promise<unknown>,
  kind: new (...args: never[]) => T,
): Promise<T> {
  const error = await promise.then(() => undefined, (reason) => reason);
  assert.ok(error instanceof kind, `expected ${kind.name}, got ${error}`);
  return error;
}

function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

Deno.test("predict() on a tiny trained run", async (t) => {
  await using temp = await tempDir("predict");
  const runsDir = temp.path;
  const run = await train(DATASET, { epochs: 2, imgsz: 64, batch: 16, device: "cpu", runsDir });
  const result = await run.done;
  assert.equal(result.status, "completed", `run failed: ${result.message}\n${result.logTail.join("\n")}`);
  const testNames = sortedImageNames(TEST_IMAGES);
  let folderPredictions: Predictions | undefined;

  await t.step("folder input gives one entry per image", async () => {
    const predictions = await predict(run, TEST_IMAGES, { conf: 0.001 });
    folderPredictions = predictions;
    assert.deepEqual(predictions.images.map((entry) => basename(entry.image)), testNames);
    assert.deepEqual(predictions.names, ["dog", "person"]);
    assert.equal(predictions.imgsz, 64, "imgsz is not the training image size");
    assert.equal(predictions.conf, 0.001);
    assert.equal(predictions.weights, join(run.dir, "weights", "best.pt"));
    assert.ok(predictions.images.some((entry) => entry.detections.length > 0), "no detections at conf 0.001");
    assertWellFormed(predictions, 0.001);
  });

  await t.step("list input keeps input order", async () => {
    const images = [
      join(TEST_IMAGES, testNames[3]),
      join(TEST_IMAGES, testNames[0]),
      join(TEST_IMAGES, testNames[7]),
    ];
    const predictions = await predict(run.dir, images, { conf: 0.05, weights: "last" });
    assert.deepEqual(predictions.images.map((entry) => entry.image), images);
    assert.equal(predictions.weights, join(run.dir, "weights", "last.pt"));
    assertWellFormed(predictions, 0.05);
  });

  await t.step("run id, one image and maxImages", async () => {
    const single = await predict(run.id, join(TEST_IMAGES, testNames[1]), { runsDir, imgsz: 96 });
    assert.equal(single.images.length, 1);
    assert.equal(single.imgsz, 96);
    assertWellFormed(single, 0.25);
    const capped = await predict(run, [TEST_IMAGES], { maxImages: 2, conf: 0.001 });
    assert.deepEqual(capped.images.map((entry) => basename(entry.image)), testNames.slice(0, 2));
  });

  await t.step("display bundle draws each image", () => {
    const predictions = folderPredictions!;
    const bundle = (predictions as unknown as Record<symbol, () => Record<string, string>>)[
      Symbol.for("Jupyter.display")
    ]();
    assert.deepEqual(Object.keys(bundle).sort(), ["text/html", "text/plain"]);
    assert.equal(bundle["text/plain"], predictions.toString());
    assert.equal(String(predictions), predictions.toString());
    assert.match(bundle["text/plain"], /^Predictions: \d+ detections on 20 images \(conf >= 0\.001\)/);
    const html = bundle["text/html"];
    assert.equal(countMatches(html, /<img /g), 12, "the display does not cap the images at 12");
    assert.equal(countMatches(html, /<svg /g), 12, "one SVG overlay per image expected");
    assert.equal(countMatches(html, /src="data:image\/jpeg;base64,/g), 12);
    assert.match(html, /Showing 12 of 20 images/);
    const shownDetections = predictions.images.slice(0, 12).reduce(
      (sum, entry) => sum + entry.detections.length,
      0,
    );
    assert.equal(countMatches(html, /fill="none" stroke="#/g), shownDetections, "one outline per detection");
    assert.doesNotMatch(html, /currentColor/);
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(predictions))), [
      "runDir",
      "weights",
      "imgsz",
      "conf",
      "iou",
      "names",
      "images",
    ]);
  });

  await t.step("folder without images is rejected", async () => {
    const empty = join(temp.path, "empty");
    await Deno.mkdir(empty);
    await Deno.writeTextFile(join(empty, "notes.txt"), "no images here");
    const error = await rejection(predict(run, empty), NotFoundError);
    assert.match(error.message, /No images found/);
    assert.match(error.message, /\.jpg/, "the message does not list the extensions");
  });

  await t.step("missing weights are rejected", async () => {
    const missing = join(temp.path, "missing.pt");
    const error = await rejection(predict(run, TEST_IMAGES, { weights: missing }), NotFoundError);
    assert.equal(error.file, missing);
  });

  await t.step("text file given as an image is rejected", async () => {
    const text = labelPathFor(join(DATASET, "test", "images", testNames[0]));
    const error = await rejection(predict(run, [join(TEST_IMAGES, testNames[0]), text]), OptionsError);
    assert.equal(error.file, text);
    assert.match(error.message, /Not an image file/);
  });

  await t.step("undecodable image is rejected", async () => {
    const broken = join(temp.path, "broken.jpg");
    await Deno.writeTextFile(broken, "this is not a JPEG");
    const error = await rejection(predict(run, [join(TEST_IMAGES, testNames[0]), broken]), OptionsError);
    assert.equal(error.file, broken);
    assert.match(error.message, /cannot be decoded/);
  });

  await t.step("out-of-range options are rejected", async () => {
    await rejection(predict(run, TEST_IMAGES, { conf: 1.5 }), OptionsError);
    await rejection(predict(run, TEST_IMAGES, { maxImages: 0 }), OptionsError);
  });

  await t.step("predictionGallery() shows predictions and ground truth", async () => {
    const images = (await runSplitImages(run.dir, "test"))!;
    assert.deepEqual(images.map((image) => basename(image)), testNames);
    const html = await predictionGallery(run, { maxImages: 3, conf: 0.001 });
    assert.equal(countMatches(html, /<img /g), 3);
    assert.equal(countMatches(html, /<svg /g), 3);
    const labelled = await groundTruthCount(images.slice(0, 3));
    assert.ok(labelled > 0, "the first test images have no labels");
    assert.equal(countMatches(html, /stroke-dasharray/g), labelled, "one dashed box per ground-truth row");
    assert.match(html, /Showing 3 of 20 test images/);
  });

  await t.step("report.html contains the gallery after evaluation", async () => {
    assert.doesNotMatch(await Deno.readTextFile(join(run.dir, "report.html")), /id="predictions"/);
    await evaluate(run, { runsDir, history: false });
    const report = await Deno.readTextFile(join(run.dir, "report.html"));
    const start = report.indexOf('<section id="predictions">');
    assert.ok(start >= 0, "report.html lacks the predictions section");
    const section = report.slice(start, report.indexOf("</section>", start));
    assert.equal(countMatches(section, /<img /g), 8);
    const images = (await runSplitImages(run.dir, "test"))!.slice(0, 8);
    assert.equal(countMatches(section, /stroke-dasharray/g), await groundTruthCount(images));
    assert.match(report, /<a href="#predictions">/);
  });

  await t.step("report notes a gallery that failed", async () => {
    const copy = join(temp.path, "broken-run");
    await Deno.mkdir(join(copy, "weights"), { recursive: true });
    for (const file of ["data.yaml", "args.yaml", "results.csv", "run.json", "test_metrics.json"]) {
      await Deno.copyFile(join(run.dir, file), join(copy, file));
    }
    await Deno.writeTextFile(join(copy, "weights", "best.pt"), "not a checkpoint");
    const { report } = await writeRunReport(copy);
    const html = await Deno.readTextFile(report);
    assert.match(
      html,
      /<section id="predictions"><h2>Predictions<\/h2><p>The prediction gallery was skipped/,
    );
    assert.match(html, /Prediction failed/);
  });

  await t.step("report leaves the gallery out without best.pt", async () => {
    const copy = join(temp.path, "no-weights");
    await Deno.mkdir(copy);
    for (const file of ["data.yaml", "args.yaml", "results.csv", "run.json", "test_metrics.json"]) {
      await Deno.copyFile(join(run.dir, file), join(copy, file));
    }
    const { report } = await writeRunReport(copy);
    assert.doesNotMatch(await Deno.readTextFile(report), /id="predictions"/);
  });
});

async function groundTruthCount(images: string[]): Promise<number> {
  let rows = 0;
  for (const image of images) {
    const text = await Deno.readTextFile(labelPathFor(image)).catch(() => "");
    rows += text.split("\n").filter((line) => line.trim().length > 0).length;
  }
  return rows;
}
