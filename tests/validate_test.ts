import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import {
  type Finding,
  formatValidationReport,
  validateDataset,
  type ValidationReport,
} from "../lib/validate.ts";
import { inspectImage } from "../lib/image_header.ts";
import { tinyJpeg, tinyPng, writeDataset } from "./testdata/datasets/_fixture_images.ts";

const FIXTURES = resolve("tests/testdata/datasets");
const THERMAL = resolve("datasets/thermal-dogs-and-people");

function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** `severity:code@file:line` of every finding, in report order. */
function summary(report: ValidationReport): string[] {
  return report.findings.map((finding) =>
    `${finding.severity}:${finding.code}@${finding.file ?? ""}${
      finding.line === undefined ? "" : `:${finding.line}`
    }`
  );
}

function only(report: ValidationReport, code: string): Finding {
  const matches = report.findings.filter((finding) => finding.code === code);
  assert.equal(matches.length, 1, `expected one ${code} finding, got ${JSON.stringify(report.findings)}`);
  return matches[0];
}

/** Every fixture and the exact findings its report must contain. */
const EXPECTED: Record<string, string[]> = {
  "valid-basic": [],
  "names-mapping-no-nc": [],
  "nc-mismatch": ["error:nc-mismatch@data.yaml:3"],
  "nc-only": ["warning:names-missing@data.yaml:3"],
  "nc-invalid": ["error:nc-invalid@data.yaml:3"],
  "names-missing": ["error:names-missing@data.yaml"],
  "names-gap": ["error:names-invalid@data.yaml:3"],
  "validation-key": [],
  "val-key-missing": ["error:val-missing@data.yaml"],
  "yaml-invalid": ["error:yaml-invalid@data.yaml:3"],
  "yaml-not-mapping": ["error:yaml-not-mapping@data.yaml"],
  "model-yaml": ["error:not-a-dataset-yaml@data.yaml"],
  "args-yaml": ["error:not-a-dataset-yaml@data.yaml"],
  "windows-drive-path": ["error:windows-path@data.yaml:1"],
  "windows-backslash-split": ["error:windows-path@data.yaml:1"],
  "windows-mixed-separators": ["error:windows-path@data.yaml:2"],
  "split-missing": ["error:split-missing@data.yaml:2"],
  "split-empty": ["error:split-empty@data.yaml:2"],
  "list-split-no-fallback": ["error:split-missing@data.yaml:1"],
  "parent-fallback": [],
  "test-empty": ["warning:test-empty@data.yaml:3"],
  "test-empty-folder-exists": ["warning:test-not-declared@data.yaml:3"],
  "val-is-train": ["warning:val-is-train@data.yaml:2"],
  "txt-lists": [],
  "txt-list-missing-image": ["error:image-missing@train/images/gone.jpg"],
  "split-overlap": ["warning:split-overlap@valid/images/b.jpg"],
  "pose-flip-idx-missing": ["warning:flip-idx-missing@data.yaml:3"],
  "pose-flip-idx-invalid": ["error:flip-idx-invalid@data.yaml:4"],
  "pose-wrong-columns": ["error:label-columns@train/labels/a.txt:1"],
  "kpt-shape-invalid": ["error:kpt-shape-invalid@data.yaml:3"],
  "flip-idx-without-kpt-shape": ["warning:flip-idx-without-kpt-shape@data.yaml:3"],
  "class-out-of-range": ["error:label-class-out-of-range@train/labels/a.txt:1"],
  "class-not-integer": ["error:label-class-not-integer@train/labels/a.txt:1"],
  "wrong-columns": ["error:label-columns@train/labels/a.txt:1"],
  "not-numeric": ["error:label-not-numeric@train/labels/a.txt:2"],
  "out-of-range": ["error:label-out-of-range@train/labels/a.txt:1"],
  "negative-coordinate": ["error:label-out-of-range@train/labels/a.txt:1"],
  "pixel-units": ["error:label-pixel-units@train/labels/a.txt:1"],
  "zero-size": ["warning:label-zero-size@train/labels/a.txt:1"],
  "duplicate-rows": ["warning:label-duplicate@train/labels/a.txt:3"],
  "mixed-rows": ["error:label-mixed-rows@train/labels/a.txt"],
  "polygon-in-detect": ["warning:label-polygon-in-detect@train/labels/a.txt"],
  "polygon-odd-coordinates": ["error:label-columns@train/labels/a.txt:1"],
  "box-in-segment": ["error:label-box-in-segment@valid/labels/b.txt"],
  "crlf-no-final-newline": [],
  "bom": ["error:label-bom@train/labels/a.txt:1"],
  "label-not-utf8": ["error:label-not-utf8@train/labels/a.txt"],
  "empty-label": [],
  "no-labels-in-val": ["error:split-no-labels@valid/labels"],
  "classes-txt": ["warning:classes-txt@train/labels/classes.txt"],
  "classes-txt-mismatch": ["warning:classes-txt-mismatch@train/labels/classes.txt"],
  "image-without-label": ["warning:image-without-label@train/images/c.jpg"],
  "label-without-image": ["warning:label-without-image@train/labels/orphan.txt"],
  "truncated-jpeg": ["error:image-truncated@train/images/a.jpg"],
  "trailing-bytes-jpeg": ["warning:image-trailing-data@train/images/a.jpg"],
  "unreadable-image": ["error:image-unreadable@train/images/a.jpg"],
  "empty-image": ["error:image-unreadable@train/images/a.jpg"],
  "unsupported-format": ["warning:image-format-unsupported@train/images/c.gif"],
  "image-too-small": ["error:image-too-small@train/images/a.png"],
  "extension-mismatch": ["warning:image-extension-mismatch@train/images/a.jpg"],
};

for (const [name, expected] of Object.entries(EXPECTED)) {
  Deno.test(`validateDataset() reports exactly the findings of ${name}`, async () => {
    const report = await validateDataset(fixture(name));
    assert.deepEqual(summary(report), expected);
    assert.equal(report.ok, !expected.some((line) => line.startsWith("error:")));
  });
}

Deno.test("validateDataset() fixtures all have expectations", async () => {
  const folders: string[] = [];
  for await (const entry of Deno.readDir(FIXTURES)) if (entry.isDirectory) folders.push(entry.name);
  assert.deepEqual(folders.sort(), Object.keys(EXPECTED).sort());
});

Deno.test("validateDataset() infers nc from a names mapping", async () => {
  const report = await validateDataset(fixture("names-mapping-no-nc"));
  assert.deepEqual(report.names, ["body", "head"]);
  assert.equal(report.stats[0].perClass.length, 2);
});

Deno.test("validateDataset() names both counts when nc disagrees", async () => {
  const finding = only(await validateDataset(fixture("nc-mismatch")), "nc-mismatch");
  assert.match(finding.message, /nc: 3/);
  assert.match(finding.message, /2 classes/);
  assert.equal(finding.value, "3");
  assert.match(finding.fix, /nc: 2/);
});

Deno.test("validateDataset() advises clipping slightly-outside boxes", async () => {
  const finding = only(await validateDataset(fixture("out-of-range")), "label-out-of-range");
  assert.equal(finding.value, "0 0.5 0.5 1.2 0.3");
  assert.match(finding.message, /1\.2/);
  assert.match(finding.fix, /Clip/);
});

Deno.test("validateDataset() recognises pixel-unit boxes", async () => {
  const finding = only(await validateDataset(fixture("pixel-units")), "label-pixel-units");
  assert.equal(finding.value, "0 315 240 80 60");
  assert.match(finding.message, /pixel units/);
  assert.match(finding.fix, /0 0\.7572 0\.5769 0\.1923 0\.1442/);
  assert.doesNotMatch(finding.fix, /Clip/);
});

Deno.test("validateDataset() flags zero-size boxes", async () => {
  const finding = only(await validateDataset(fixture("zero-size")), "label-zero-size");
  assert.equal(finding.value, "0 0.431 0.4935 0 0");
  assert.equal(finding.severity, "warning");
});

Deno.test("validateDataset() explains files mixing boxes and polygons", async () => {
  const finding = only(await validateDataset(fixture("mixed-rows")), "label-mixed-rows");
  assert.match(finding.message, /1 box rows with 1 polygon rows/);
  assert.match(finding.message, /two-point polygons/);
});

Deno.test("validateDataset() rejects a Windows drive path with a fix", async () => {
  const finding = only(await validateDataset(fixture("windows-drive-path")), "windows-path");
  assert.equal(finding.value, "e:\\drone\\data");
  assert.match(finding.message, /drive letter e:/);
  assert.match(finding.fix, /Delete the `path:` line/);
});

Deno.test("validateDataset() names mixed separators", async () => {
  const finding = only(await validateDataset(fixture("windows-mixed-separators")), "windows-path");
  assert.match(finding.message, /mixed \/ and \\ separators/);
});

Deno.test("validateDataset() accepts the thermal dataset", async () => {
  const report = await validateDataset(THERMAL);
  assert.equal(report.ok, true);
  assert.deepEqual(summary(report), ["warning:test-not-declared@data.yaml"]);
  assert.match(report.warnings[0].fix, /test: test\/images/);
  assert.deepEqual(report.stats.map((stats) => stats.split), ["train", "val", "test"]);
});

Deno.test("validateDataset() counts thermal statistics", async () => {
  const [train, val, test] = (await validateDataset(THERMAL)).stats;
  assert.equal(train.images, 142);
  assert.equal(val.images, 41);
  assert.equal(test.images, 20);
  const background = train.backgroundImages + val.backgroundImages + test.backgroundImages;
  assert.equal(background, 18);
  assert.deepEqual(train.imageSizes, [{ width: 416, height: 416, count: 142 }]);
  assert.equal(train.perClass[0].name, "dog");
  assert.equal(train.perClass[0].instances + train.perClass[1].instances, train.instances);
  assert.ok(train.boxSize.p10 <= train.boxSize.p50);
  assert.ok(train.boxSize.p50 <= train.boxSize.p90);
});

Deno.test("validateDataset() counts empty label files as background", async () => {
  const [train] = (await validateDataset(fixture("empty-label"))).stats;
  assert.equal(train.images, 2);
  assert.equal(train.backgroundImages, 1);
  assert.equal(train.instances, 1);
  assert.deepEqual(train.boxesPerImage, { mean: 0.5, max: 1 });
});

Deno.test("validateDataset() reads CRLF rows without a final newline", async () => {
  const [train] = (await validateDataset(fixture("crlf-no-final-newline"))).stats;
  assert.equal(train.instances, 2);
});

Deno.test("validateDataset() reports the YAML error line", async () => {
  const finding = only(await validateDataset(fixture("yaml-invalid")), "yaml-invalid");
  assert.equal(finding.line, 3);
  assert.match(finding.message, /Invalid YAML/);
});

Deno.test("validateDataset() reports a missing dataset path", async () => {
  const report = await validateDataset(join(FIXTURES, "does-not-exist"));
  assert.equal(report.ok, false);
  assert.equal(report.errors[0].code, "dataset-not-found");
});

Deno.test("validateDataset() explains classes.txt mismatches", async () => {
  const finding = only(await validateDataset(fixture("classes-txt-mismatch")), "classes-txt-mismatch");
  assert.match(finding.message, /\[head, body\]/);
  assert.match(finding.message, /\[body, head\]/);
});

Deno.test("validateDataset() checks labels for an explicit task", async () => {
  const report = await validateDataset(fixture("polygon-in-detect"), { task: "segment" });
  assert.deepEqual(summary(report), [
    "error:label-box-in-segment@train/labels/c.txt",
    "error:label-box-in-segment@valid/labels/b.txt",
  ]);
});

Deno.test("validateDataset() skips image checks when asked", async () => {
  const report = await validateDataset(fixture("truncated-jpeg"), { checkImages: false });
  assert.deepEqual(summary(report), []);
  assert.deepEqual(report.stats[0].imageSizes, []);
});

Deno.test("validateDataset() caps findings per code", async () => {
  const root = await Deno.makeTempDir({ prefix: "trainbook-validate-" });
  const files: Record<string, string | Uint8Array> = {
    "data.yaml": "train: train/images\nval: valid/images\nnames: [a]\n",
    "valid/images/v.jpg": tinyJpeg(),
    "valid/labels/v.txt": "0 0.5 0.5 0.2 0.2\n",
  };
  for (let i = 0; i < 5; i++) files[`train/images/${i}.jpg`] = tinyJpeg();
  await writeDataset(root, files);
  const report = await validateDataset(root, { maxFindingsPerCode: 2 });
  const missing = report.findings.filter((finding) => finding.code === "image-without-label");
  assert.equal(missing.length, 3);
  assert.match(missing[2].message, /3 more findings/);
});

Deno.test("validateDataset() stops when the signal aborts", async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(validateDataset(THERMAL, { signal: controller.signal }), { name: "AbortError" });
});

Deno.test("formatValidationReport() lists findings with fixes", async () => {
  const text = formatValidationReport(await validateDataset(fixture("out-of-range")));
  assert.match(text, /FAILED, 1 errors, 0 warnings/);
  assert.match(text, /ERROR \[label-out-of-range\] train\/labels\/a\.txt:1: /);
  assert.match(text, /fix: Clip/);
  assert.match(text, /train: 1 images \(0 background\), 1 objects/);
});

Deno.test("validateDataset() report displays in Jupyter", async () => {
  const report = await validateDataset(THERMAL);
  const display = (report as unknown as Record<symbol, () => Promise<Record<string, string>>>)[
    Symbol.for("Jupyter.display")
  ];
  const bundle = await display();
  assert.match(bundle["text/plain"], /OK, 0 errors, 1 warnings/);
  assert.match(bundle["text/html"], /<table/);
  assert.match(bundle["text/html"], /test-not-declared/);
  assert.match(bundle["text/html"], /<figure/);
  const svgTags = bundle["text/html"].match(/<svg[^>]*>/g) ?? [];
  assert.ok(svgTags.length > 0);
  for (const tag of svgTags) assert.equal(tag.match(/xmlns=/g)?.length, 1);
  assert.doesNotMatch(JSON.stringify(report), /Jupyter/);
});

Deno.test("inspectImage() reads PNG and JPEG sizes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trainbook-image-" });
  await Deno.writeFile(join(dir, "a.png"), tinyPng(37, 23));
  await Deno.writeFile(join(dir, "b.jpg"), tinyJpeg());
  assert.deepEqual(await inspectImage(join(dir, "a.png")), {
    format: "png",
    width: 37,
    height: 23,
    bytes: (await Deno.stat(join(dir, "a.png"))).size,
  });
  const jpeg = await inspectImage(join(dir, "b.jpg"));
  assert.equal(jpeg.format, "jpeg");
  assert.equal(jpeg.width, 16);
  assert.equal(jpeg.height, 16);
  assert.equal(jpeg.problem, undefined);
});

Deno.test("inspectImage() reads the thermal JPEGs as complete", async () => {
  const dir = join(THERMAL, "valid", "images");
  for await (const entry of Deno.readDir(dir)) {
    const image = await inspectImage(join(dir, entry.name));
    assert.deepEqual(
      [image.format, image.width, image.height, image.problem],
      ["jpeg", 416, 416, undefined],
      entry.name,
    );
  }
});

Deno.test("inspectImage() reports a truncated JPEG", async () => {
  const image = await inspectImage(join(fixture("truncated-jpeg"), "train", "images", "a.jpg"));
  assert.equal(image.problem, "truncated");
  assert.match(image.detail ?? "", /FFD9/);
});
