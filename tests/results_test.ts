import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ResultsError } from "../lib/errors.ts";
import {
  bestEpoch,
  bestRow,
  fitness,
  lastSegmentRows,
  learningRateColumns,
  lossColumns,
  metricColumns,
  parseResults,
  readResults,
  readRunArgs,
} from "../lib/results.ts";

const DATA = fileURLToPath(new URL("./testdata/results/", import.meta.url));
const DETECT_COLUMNS = [
  "train/box_loss",
  "train/cls_loss",
  "train/dfl_loss",
  "metrics/precision(B)",
  "metrics/recall(B)",
  "metrics/mAP50(B)",
  "metrics/mAP50-95(B)",
  "val/box_loss",
  "val/cls_loss",
  "val/dfl_loss",
  "lr/pg0",
  "lr/pg1",
  "lr/pg2",
];

function fixture(name: string): string {
  return `${DATA}${name}/results.csv`;
}

Deno.test("readResults() reads a padded 8.1-era detect file", async () => {
  const table = await readResults(fixture("detect_v8_padded"));
  assert.equal(table.format, "ultralytics-padded");
  assert.equal(table.task, "detect");
  assert.equal(table.epochBase, 1);
  assert.deepEqual(table.columns, DETECT_COLUMNS);
  assert.equal(table.originalColumns["metrics/mAP50(B)"], "metrics/mAP50(B)");
  assert.equal(table.rows.length, 12);
  assert.deepEqual(table.rows.map((r) => r.epoch), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(table.rows[0].values["train/box_loss"], 1.6099);
  assert.equal(table.segments, 1);
  assert.deepEqual(table.warnings, []);
  assert.equal(table.source, fixture("detect_v8_padded"));
});

Deno.test("readResults() makes epochs 1-based when a padded file starts at 0", async () => {
  const table = await readResults(fixture("detect_v8_zero"));
  assert.equal(table.format, "ultralytics-padded");
  assert.equal(table.epochBase, 0);
  assert.deepEqual(table.rows.map((r) => r.epoch), [1, 2, 3]);
  assert.equal(table.segments, 1);
});

Deno.test("readResults() reads a current detect file with time, nan and inf", async () => {
  const table = await readResults(fixture("detect_v84"));
  assert.equal(table.format, "ultralytics");
  assert.deepEqual(table.columns, ["time", ...DETECT_COLUMNS]);
  assert.equal(table.rows.length, 10);
  assert.equal(table.rows[0].values["val/box_loss"], null);
  assert.equal(table.rows[1].values["val/cls_loss"], Infinity);
  assert.equal(table.rows[0].values.time, 17.5988);
  assert.equal(table.rows[0].values["lr/pg2"], 0.1);
});

Deno.test("readResults() maps YOLOv5 names and epoch 0", async () => {
  const table = await readResults(fixture("yolov5"));
  assert.equal(table.format, "yolov5");
  assert.equal(table.task, "detect");
  assert.equal(table.epochBase, 0);
  assert.equal(table.rows[0].epoch, 1);
  assert.deepEqual(table.columns, [
    "train/box_loss",
    "train/obj_loss",
    "train/cls_loss",
    "metrics/precision(B)",
    "metrics/recall(B)",
    "metrics/mAP50(B)",
    "metrics/mAP50-95(B)",
    "val/box_loss",
    "val/obj_loss",
    "val/cls_loss",
    "lr/pg0",
    "lr/pg1",
    "lr/pg2",
  ]);
  assert.equal(table.originalColumns["metrics/mAP50-95(B)"], "metrics/mAP_0.5:0.95");
  assert.equal(table.originalColumns["lr/pg1"], "x/lr1");
  assert.equal(table.originalColumns["metrics/precision(B)"], "metrics/precision");
});

Deno.test("readResults() reads a classification file", async () => {
  const table = await readResults(fixture("classify"));
  assert.equal(table.task, "classify");
  assert.deepEqual(metricColumns(table), ["metrics/accuracy_top1", "metrics/accuracy_top5"]);
  assert.deepEqual(lossColumns(table), ["train/loss", "val/loss"]);
  assert.equal(table.rows[0].values["lr/pg0"], 3.33e-5);
});

Deno.test("readResults() reads a segmentation file with (B) and (M)", async () => {
  const table = await readResults(fixture("segment"));
  assert.equal(table.task, "segment");
  assert.equal(metricColumns(table).length, 8);
  assert.ok(table.columns.includes("metrics/mAP50-95(M)"));
  assert.deepEqual(lossColumns(table).filter((c) => c.startsWith("train/")), [
    "train/box_loss",
    "train/seg_loss",
    "train/cls_loss",
    "train/dfl_loss",
  ]);
});

Deno.test("readResults() splits an appended run into segments", async () => {
  const table = await readResults(fixture("appended"));
  assert.equal(table.segments, 2);
  assert.deepEqual(table.rows.map((r) => r.segment), [1, 1, 1, 2, 2, 2, 2, 2]);
  assert.deepEqual(table.rows.map((r) => r.epoch), [1, 2, 3, 1, 2, 3, 4, 5]);
  assert.equal(lastSegmentRows(table).length, 5);
});

Deno.test("readResults() drops a cut-short last line with a warning", async () => {
  const table = await readResults(fixture("truncated"));
  assert.equal(table.rows.length, 3);
  assert.equal(table.warnings.length, 1);
  assert.match(table.warnings[0], /truncated\/results\.csv:5: last line has 14 fields but the header has 15/);
});

Deno.test("parseResults() drops a last line whose number is cut short", () => {
  const table = parseResults("epoch,time,lr/pg0\n1,10.2,3.334e-05\n2,20.4,3.1e-\n");
  assert.equal(table.rows.length, 1);
  assert.match(table.warnings[0], /results\.csv:3: last line field 3 is not a number/);
});

Deno.test("readResults() accepts a header-only file as empty", async () => {
  const table = await readResults(fixture("header_only"));
  assert.equal(table.rows.length, 0);
  assert.equal(table.segments, 0);
  assert.equal(table.columns.length, 14);
  assert.equal(table.epochBase, 1);
  assert.equal(bestEpoch(table), undefined);
});

Deno.test("parseResults() gives the same rows for CRLF line endings", async () => {
  const text = await Deno.readTextFile(fixture("detect_v84"));
  const lf = parseResults(text);
  const crlf = parseResults(text.replaceAll("\n", "\r\n"));
  assert.deepEqual(crlf.rows, lf.rows);
  assert.deepEqual(crlf.columns, lf.columns);
});

Deno.test("parseResults() reads numbers in every Python spelling", () => {
  const table = parseResults("epoch,a,b,c,d,e,f\n1,1,0,3.334e-05,nan,inf,-inf\n");
  assert.deepEqual(table.rows[0].values, { a: 1, b: 0, c: 3.334e-5, d: null, e: Infinity, f: -Infinity });
});

Deno.test("parseResults() guesses pose from (P) columns", () => {
  const table = parseResults("epoch,train/pose_loss,metrics/mAP50(B),metrics/mAP50(P)\n1,2,0.1,0.2\n");
  assert.equal(table.task, "pose");
});

Deno.test("parseResults() maps YOLOv5 segmentation and classification names", () => {
  const segment = parseResults("epoch,metrics/mAP_0.5(M),metrics/mAP_0.5:0.95(M),x/lr0\n0,0.2,0.1,0.01\n");
  assert.deepEqual(segment.columns, ["metrics/mAP50(M)", "metrics/mAP50-95(M)", "lr/pg0"]);
  assert.equal(segment.task, "segment");
  const classify = parseResults(
    "epoch,train/loss,val/loss,metrics/accuracy_top1,metrics/accuracy_top5,lr/0\n0,1,1,0.5,0.9,0.01\n",
  );
  assert.equal(classify.format, "yolov5");
  assert.deepEqual(learningRateColumns(classify), ["lr/pg0"]);
});

Deno.test("parseResults() rejects an empty file", () => {
  for (const text of ["", "\n\n", "\uFEFF"]) {
    assert.throws(
      () => parseResults(text, "runs/x/results.csv"),
      (error: unknown) =>
        error instanceof ResultsError && error.file === "runs/x/results.csv" && error.line === 1 &&
        /^runs\/x\/results\.csv:1: file is empty\. Pass the results\.csv/.test(error.message),
    );
  }
});

Deno.test("parseResults() rejects a file without an epoch column", () => {
  assert.throws(
    () => parseResults("name,value\nbox,1\n", "data.csv"),
    (error: unknown) =>
      error instanceof ResultsError && error.line === 1 &&
      /data\.csv:1: first column is not "epoch".*\(value: "name"\)/.test(error.message),
  );
});

Deno.test("parseResults() rejects binary or JSON text", () => {
  assert.throws(() => parseResults('{"epoch": 1}\n'), ResultsError);
  assert.throws(() => parseResults("\x89PNG\r\n\x1a\n\0\0\0IHDR"), ResultsError);
});

Deno.test("parseResults() rejects a bad value on a middle line", () => {
  assert.throws(
    () => parseResults("epoch,a\n1,0.5\n2,abc\n3,0.7\n", "r.csv"),
    (error: unknown) =>
      error instanceof ResultsError && error.line === 3 && error.value === "abc" &&
      /^r\.csv:3: line field 2 is not a number \(value: "abc"\)\. Fix or delete that line/.test(
        error.message,
      ),
  );
});

Deno.test("parseResults() rejects a short middle line", () => {
  assert.throws(
    () => parseResults("epoch,a,b\n1,0.5\n2,0.6,0.7\n"),
    (error: unknown) => error instanceof ResultsError && error.line === 2,
  );
});

Deno.test("readResults() parses text that contains a newline", async () => {
  const table = await readResults("epoch,metrics/mAP50(B)\n1,0.5\n");
  assert.equal(table.rows.length, 1);
  assert.equal(table.source, undefined);
});

Deno.test("readResults() reports a missing file", async () => {
  await assert.rejects(
    readResults(`${DATA}missing/results.csv`),
    (error: unknown) =>
      error instanceof ResultsError && /results\.csv not found\. Check the run folder/.test(error.message),
  );
});

Deno.test("readResults() takes the task from args.yaml", async () => {
  const table = await readResults(fixture("obb"));
  assert.equal(table.task, "obb");
  assert.deepEqual(table.warnings, []);
});

Deno.test("readResults() warns when args.yaml next to it is invalid", async () => {
  const table = await readResults(fixture("bad_args"));
  assert.equal(table.task, "detect");
  assert.equal(table.warnings.length, 1);
  assert.match(
    table.warnings[0],
    /args\.yaml next to the file was not used: .*args\.yaml:3: args\.yaml is not valid YAML/,
  );
});

Deno.test("readRunArgs() reads a current args.yaml with folded values", async () => {
  const args = await readRunArgs(`${DATA}detect_v84/args.yaml`);
  assert.equal(args.task, "detect");
  assert.equal(args.epochs, 10);
  assert.equal(args.batch, 16);
  assert.equal(args.imgsz, 320);
  assert.equal(args.model, "yolo11n.yaml");
  assert.equal(
    args.data,
    "/home/ana/Projects/wildlife-monitoring/datasets/thermal dogs and people (2024 export)/data.yaml",
  );
  assert.equal(
    args.raw.project,
    "/home/ana/Projects/wildlife-monitoring/training runs with a rather long folder name/thermal",
  );
  assert.equal(args.raw.lr0, 0.01);
});

Deno.test("readRunArgs() takes the larger side of a list imgsz", async () => {
  const args = await readRunArgs(`${DATA}detect_v8_padded/args.yaml`);
  assert.equal(args.imgsz, 640);
  assert.equal(args.batch, -1);
  assert.equal(args.raw.device, "0");
});

Deno.test("readRunArgs() keeps a fractional batch", async () => {
  const args = await readRunArgs(`${DATA}classify/args.yaml`);
  assert.equal(args.task, "classify");
  assert.equal(args.batch, 0.7);
});

Deno.test("readRunArgs() rejects invalid YAML with its line", async () => {
  await assert.rejects(
    readRunArgs(`${DATA}bad_args/args.yaml`),
    (error: unknown) => error instanceof ResultsError && error.line === 3,
  );
});

Deno.test("readRunArgs() rejects a YAML list", async () => {
  await assert.rejects(readRunArgs(`${DATA}bad_args/list_args.yaml`), /is not a mapping of settings/);
});

Deno.test("readRunArgs() reports a missing file", async () => {
  await assert.rejects(readRunArgs(`${DATA}missing/args.yaml`), /args\.yaml not found/);
});

Deno.test("fitness() weights mAP50 and mAP50-95 as Ultralytics", () => {
  const row = { epoch: 1, segment: 1, values: { "metrics/mAP50(B)": 0.5, "metrics/mAP50-95(B)": 0.3 } };
  assert.ok(Math.abs((fitness(row) ?? 0) - 0.32) < 1e-12);
  const segment = {
    epoch: 1,
    segment: 1,
    values: {
      "metrics/mAP50(B)": 0.5,
      "metrics/mAP50-95(B)": 0.3,
      "metrics/mAP50(M)": 0.4,
      "metrics/mAP50-95(M)": 0.2,
    },
  };
  assert.ok(Math.abs((fitness(segment) ?? 0) - 0.54) < 1e-12);
  const classify = {
    epoch: 1,
    segment: 1,
    values: { "metrics/accuracy_top1": 0.6, "metrics/accuracy_top5": 0.9 },
  };
  assert.ok(Math.abs((fitness(classify) ?? 0) - 0.75) < 1e-12);
  assert.equal(fitness({ epoch: 1, segment: 1, values: { "train/loss": 1 } }), null);
});

Deno.test("bestEpoch() picks the highest fitness of the last run", async () => {
  const table = await readResults(fixture("appended"));
  const rows = lastSegmentRows(table);
  const expected = rows.reduce((a, b) => (fitness(b) ?? -1) > (fitness(a) ?? -1) ? b : a);
  assert.equal(bestEpoch(table), expected.epoch);
  assert.equal(bestRow(table)?.segment, 2);
});

Deno.test("bestEpoch() skips nan and minimises losses", () => {
  const table = parseResults(
    "epoch,metrics/mAP50(B),val/box_loss\n1,0.2,1\n2,nan,0.9\n3,0.4,inf\n4,0.3,0.8\n",
  );
  assert.equal(bestEpoch(table), 3);
  assert.equal(bestEpoch(table, "metrics/mAP50(B)"), 3);
  assert.equal(bestEpoch(table, "val/box_loss"), 4);
});
