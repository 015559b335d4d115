/** Bad training input: each case raises its typed error before anything is written. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatasetError, OptionsError } from "../lib/errors.ts";
import { train } from "../lib/train.ts";
import type { TrainOptions } from "../lib/train_options.ts";
import { DATASET, tempDir } from "./helpers.ts";

const BAD_OPTIONS: [string, TrainOptions, RegExp][] = [
  ["epochs 0", { epochs: 0 }, /Invalid epochs.*value: 0/],
  ["negative epochs", { epochs: -3 }, /Invalid epochs.*value: -3/],
  ["fractional epochs", { epochs: 2.5 }, /Invalid epochs/],
  ["imgsz as text", { imgsz: "640" as unknown as number }, /Invalid imgsz.*"640"/],
  ["imgsz not an integer", { imgsz: 320.5 }, /Invalid imgsz/],
  ["imgsz too small", { imgsz: 8 }, /imgsz.*32 to 8192/],
  ["batch 0", { batch: 0 }, /Invalid batch/],
  ["negative workers", { workers: -1 }, /Invalid workers/],
  ["unknown model name", { model: "yolo99z.yaml" }, /Model file not found.*yolo99z\.yaml/],
  ["model without extension", { model: "resnet" }, /Unknown model.*"resnet".*yolo11n\.yaml/],
  [
    "pretrained weights not on disk",
    { model: "yolo11n.pt" },
    /Model file not found.*pretrained weights are not downloaded/,
  ],
  ["unknown device", { device: "gpu" }, /Invalid device.*"gpu"/],
  ["override of a managed argument", { overrides: { epochs: 3 } }, /"epochs" is set by trainbook/],
  ["override that is not a name", { overrides: { "lr0; rm": 1 } }, /not an Ultralytics argument name/],
  ["run id with a slash", { runId: "../escape" }, /Invalid run name/],
  ["unknown backend", { backend: "tpu" as "local" }, /Invalid backend.*"tpu"/],
];

for (const [name, options, message] of BAD_OPTIONS) {
  Deno.test(`train() rejects ${name}`, async () => {
    await using temp = await tempDir("options");
    await assert.rejects(train(DATASET, { ...options, runsDir: temp.path }), (error: unknown) => {
      assert.ok(error instanceof OptionsError, `expected OptionsError, got ${error}`);
      assert.match(error.message, message);
      assert.ok(error.hint, "the error gives no fix");
      return true;
    });
    assert.deepEqual([...Deno.readDirSync(temp.path)], [], "train() wrote files for bad input");
  });
}

const BAD_DATASETS: [string, (dir: string) => Promise<string>, RegExp][] = [
  [
    "a dataset path that does not exist",
    (dir) => Promise.resolve(join(dir, "missing")),
    /not found|does not exist/i,
  ],
  ["a data.yaml that is not YAML", async (dir) => {
    await Deno.writeTextFile(join(dir, "data.yaml"), "train: [unclosed\nval: x: y\n");
    return dir;
  }, /data\.yaml:\d+/],
  ["a missing split folder", async (dir) => {
    await Deno.mkdir(join(dir, "train", "images"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "data.yaml"),
      "path: .\ntrain: train/images\nval: valid/images\nnames: [a]\n",
    );
    return dir;
  }, /val/],
  ["a label row with letters", async (dir) => {
    await Deno.mkdir(join(dir, "images"), { recursive: true });
    await Deno.mkdir(join(dir, "labels"), { recursive: true });
    await Deno.copyFile(firstImage(), join(dir, "images", "a.jpg"));
    await Deno.writeTextFile(join(dir, "labels", "a.txt"), "0 0.5 0.5 0.2 0.2\n0 x 0.5 0.2 0.2\n");
    await Deno.writeTextFile(
      join(dir, "data.yaml"),
      `path: ${dir}\ntrain: images\nval: images\nnames: [a]\n`,
    );
    return dir;
  }, /a\.txt:2/],
];

for (const [name, make, message] of BAD_DATASETS) {
  Deno.test(`train() rejects ${name}`, async () => {
    await using data = await tempDir("dataset");
    await using runs = await tempDir("runs");
    const path = await make(data.path);
    await assert.rejects(train(path, { runsDir: runs.path }), (error: unknown) => {
      assert.ok(error instanceof DatasetError, `expected DatasetError, got ${error}`);
      assert.match(error.message, message);
      return true;
    });
    assert.deepEqual([...Deno.readDirSync(runs.path)], [], "train() wrote a run folder for a bad dataset");
  });
}

function firstImage(): string {
  const dir = join(DATASET, "train", "images");
  for (const entry of Deno.readDirSync(dir)) return join(dir, entry.name);
  throw new Error("the bundled dataset has no images");
}
