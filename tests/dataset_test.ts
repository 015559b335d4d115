import assert from "node:assert/strict";
import { join, resolve, sep } from "node:path";
import { parse } from "yaml";
import { datasetFingerprint, labelPathFor, loadDataset, writeTrainingYaml } from "../lib/dataset.ts";
import { DatasetError } from "../lib/errors.ts";
import { basicDataset, tinyJpeg, writeDataset } from "./testdata/datasets/_fixture_images.ts";

const THERMAL = resolve("datasets/thermal-dogs-and-people");

async function tempDataset(files: Record<string, string | Uint8Array>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "trainbook-dataset-" });
  await writeDataset(root, files);
  return root;
}

async function rejection(promise: Promise<unknown>): Promise<DatasetError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DatasetError, `expected DatasetError, got ${error}`);
    return error;
  }
  assert.fail("expected a DatasetError");
}

Deno.test("loadDataset() resolves the bundled thermal dataset", async () => {
  const dataset = await loadDataset(THERMAL);
  assert.equal(dataset.root, THERMAL);
  assert.equal(dataset.yamlPath, join(THERMAL, "data.yaml"));
  assert.deepEqual(dataset.names, ["dog", "person"]);
  assert.equal(dataset.nc, 2);
  assert.equal(dataset.task, "detect");
  assert.equal(dataset.splits.train.imageFiles.length, 142);
  assert.equal(dataset.splits.val.imageFiles.length, 41);
  assert.deepEqual(dataset.splits.train.imageDirs, [join(THERMAL, "train", "images")]);
  assert.deepEqual(dataset.splits.train.labelDirs, [join(THERMAL, "train", "labels")]);
  assert.equal(dataset.splits.train.declared, true);
});

Deno.test("loadDataset() finds the undeclared thermal test split", async () => {
  const dataset = await loadDataset(THERMAL);
  assert.ok(dataset.splits.test);
  assert.equal(dataset.splits.test.declared, false);
  assert.equal(dataset.splits.test.imageFiles.length, 20);
  assert.equal(dataset.warnings.length, 1);
  assert.match(dataset.warnings[0], /test\/images contains 20 images/);
});

Deno.test("loadDataset() sorts image files by code point", async () => {
  const dataset = await loadDataset(THERMAL);
  const files = dataset.splits.train.imageFiles;
  assert.deepEqual([...files].sort(), files);
});

Deno.test("loadDataset() accepts the YAML file path", async () => {
  const dataset = await loadDataset(join(THERMAL, "data.yaml"));
  assert.equal(dataset.root, THERMAL);
});

Deno.test("labelPathFor() swaps the last images folder", () => {
  assert.equal(
    labelPathFor(`${sep}d${sep}images${sep}train${sep}images${sep}a b.JPG`),
    `${sep}d${sep}images${sep}train${sep}labels${sep}a b.txt`,
  );
  assert.equal(labelPathFor(`${sep}d${sep}train${sep}x.y.png`), `${sep}d${sep}train${sep}x.y.txt`);
});

Deno.test("loadDataset() infers nc from a names mapping", async () => {
  const root = await tempDataset(
    basicDataset("train: train/images\nval: valid/images\nnames: {0: body, 1: head}\n"),
  );
  const dataset = await loadDataset(root);
  assert.deepEqual(dataset.names, ["body", "head"]);
  assert.equal(dataset.nc, 2);
});

Deno.test("loadDataset() names classes from nc alone", async () => {
  const root = await tempDataset(basicDataset("train: train/images\nval: valid/images\nnc: 2\n"));
  const dataset = await loadDataset(root);
  assert.deepEqual(dataset.names, ["class_0", "class_1"]);
});

Deno.test("loadDataset() rejects nc that disagrees with names", async () => {
  const root = await tempDataset(
    basicDataset("train: train/images\nval: valid/images\nnc: 3\nnames: [a, b]\n"),
  );
  const error = await rejection(loadDataset(root));
  assert.match(error.message, /nc: 3/);
  assert.match(error.message, /2 classes/);
  assert.equal(error.line, 3);
});

Deno.test("loadDataset() rejects a missing dataset path", async () => {
  const error = await rejection(loadDataset("/nonexistent/trainbook-dataset"));
  assert.match(error.message, /not found/);
  assert.ok(error.hint);
});

Deno.test("loadDataset() reports the YAML parser's line", async () => {
  const root = await tempDataset(basicDataset("train: train/images\nval: [valid/images\nnames: [a, b]\n"));
  const error = await rejection(loadDataset(root));
  assert.match(error.message, /Invalid YAML/);
  assert.equal(error.line, 3);
  assert.equal(error.file, join(root, "data.yaml"));
});

Deno.test("loadDataset() rejects a YAML list", async () => {
  const root = await tempDataset(basicDataset("- train\n- val\n"));
  const error = await rejection(loadDataset(root));
  assert.match(error.message, /not a mapping/);
});

Deno.test("loadDataset() rejects a YAML without val", async () => {
  const root = await tempDataset(basicDataset("train: train/images\nnames: [a, b]\n"));
  const error = await rejection(loadDataset(root));
  assert.match(error.message, /no val: key/);
});

Deno.test("loadDataset() reads validation: as val", async () => {
  const root = await tempDataset(
    basicDataset("train: train/images\nvalidation: valid/images\nnames: [a, b]\n"),
  );
  const dataset = await loadDataset(root);
  assert.equal(dataset.splits.val.imageFiles.length, 1);
});

Deno.test("loadDataset() rejects a missing split folder", async () => {
  const root = await tempDataset(basicDataset("train: train/images\nval: val/images\nnames: [a, b]\n"));
  const error = await rejection(loadDataset(root));
  assert.match(error.message, /val split folder does not exist/);
  assert.equal(error.line, 2);
});

Deno.test("loadDataset() falls back from ../ only for strings", async () => {
  const stringRoot = await tempDataset(
    basicDataset("train: ../train/images\nval: ../valid/images\nnames: [a, b]\n"),
  );
  assert.equal((await loadDataset(stringRoot)).splits.train.imageFiles.length, 1);

  const listRoot = await tempDataset(
    basicDataset("train: [../train/images]\nval: ../valid/images\nnames: [a, b]\n"),
  );
  const error = await rejection(loadDataset(listRoot));
  assert.match(error.message, /train split folder does not exist/);
});

Deno.test("loadDataset() resolves a relative path: against the working directory", async () => {
  const parent = await Deno.makeTempDir({ prefix: "trainbook-cwd-" });
  await writeDataset(
    join(parent, "ds"),
    basicDataset("path: ds\ntrain: train/images\nval: valid/images\nnames: [a]\n"),
  );
  const previous = Deno.cwd();
  Deno.chdir(parent);
  try {
    const dataset = await loadDataset(join(parent, "ds"));
    assert.equal(dataset.root, join(await Deno.realPath(parent), "ds"));
  } finally {
    Deno.chdir(previous);
  }
});

Deno.test("loadDataset() reads .txt image lists", async () => {
  const root = await tempDataset({
    ...basicDataset("train: train.txt\nval: valid/images\nnames: [a, b]\n"),
    "train.txt": "./train/images/a.jpg\n",
  });
  const dataset = await loadDataset(root);
  assert.deepEqual(dataset.splits.train.imageDirs, []);
  assert.deepEqual(dataset.splits.train.imageFiles, [join(root, "train", "images", "a.jpg")]);
  assert.deepEqual(dataset.splits.train.labelDirs, [join(root, "train", "labels")]);
});

Deno.test("loadDataset() rejects a non-numeric label row", async () => {
  const root = await tempDataset({
    ...basicDataset(),
    "valid/labels/b.txt": "1 0.4 0.4 0.3 0.3\ndog 0.5 0.5 0.1 0.1\n",
  });
  const error = await rejection(loadDataset(root));
  assert.equal(error.file, join(root, "valid", "labels", "b.txt"));
  assert.equal(error.line, 2);
  assert.equal(error.value, "dog 0.5 0.5 0.1 0.1");
});

Deno.test("loadDataset() rejects a label file with a BOM", async () => {
  const root = await tempDataset({ ...basicDataset(), "train/labels/a.txt": "\uFEFF0 0.5 0.5 0.2 0.2\n" });
  const error = await rejection(loadDataset(root));
  assert.match(error.message, /byte order mark/);
  assert.equal(error.line, 1);
});

Deno.test("loadDataset() infers segment from polygon labels", async () => {
  const root = await tempDataset({
    ...basicDataset(),
    "train/labels/a.txt": "0 0.1 0.1 0.2 0.1 0.2 0.2 0.1 0.2\n",
    "valid/labels/b.txt": "1 0.1 0.1 0.2 0.1 0.2 0.2\n",
  });
  assert.equal((await loadDataset(root)).task, "segment");
});

Deno.test("writeTrainingYaml() writes absolute splits and a names mapping", async () => {
  const dataset = await loadDataset(THERMAL);
  const out = join(await Deno.makeTempDir(), "nested", "data.yaml");
  await writeTrainingYaml(dataset, out);
  const written = parse(await Deno.readTextFile(out));
  assert.equal(written.path, THERMAL.replaceAll("\\", "/"));
  assert.equal(written.train, `${THERMAL}/train/images`.replaceAll("\\", "/"));
  assert.equal(written.val, `${THERMAL}/valid/images`.replaceAll("\\", "/"));
  assert.equal(written.test, `${THERMAL}/test/images`.replaceAll("\\", "/"));
  assert.deepEqual(written.names, { 0: "dog", 1: "person" });
  assert.equal(written.nc, 2);
});

Deno.test("writeTrainingYaml() rewrites .txt lists as absolute lists", async () => {
  const root = await tempDataset({
    ...basicDataset("train: train.txt\nval: valid/images\nnames: [a, b]\n"),
    "train.txt": "./train/images/a.jpg\n",
  });
  const out = join(root, "out", "train.yaml");
  await writeTrainingYaml(await loadDataset(root), out);
  const written = parse(await Deno.readTextFile(out));
  assert.equal(written.train, join(root, "out", "train.train.txt").replaceAll("\\", "/"));
  assert.equal(await Deno.readTextFile(join(root, "out", "train.train.txt")), `${root}/train/images/a.jpg\n`);
});

Deno.test("datasetFingerprint() changes when a label changes", async () => {
  const root = await tempDataset(basicDataset());
  const first = await datasetFingerprint(await loadDataset(root));
  assert.match(first, /^[0-9a-f]{64}$/);
  assert.equal(await datasetFingerprint(await loadDataset(root)), first);
  await Deno.writeTextFile(join(root, "train/labels/a.txt"), "0 0.5 0.5 0.2 0.3\n");
  assert.notEqual(await datasetFingerprint(await loadDataset(root)), first);
});

Deno.test("datasetFingerprint() ignores the dataset location", async () => {
  const files = { ...basicDataset(), "train/images/c.jpg": tinyJpeg() };
  const first = await datasetFingerprint(await loadDataset(await tempDataset(files)));
  const second = await datasetFingerprint(await loadDataset(await tempDataset(files)));
  assert.equal(first, second);
});
