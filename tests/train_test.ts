/**
 * Real local training on the bundled dataset with tiny settings: run folder,
 * events, history, evaluation, charts and report.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DOMParser } from "linkedom";
import { evaluate } from "../lib/evaluate.ts";
import type { EpochEvent, TrainEvent } from "../lib/events.ts";
import { History } from "../lib/history.ts";
import { readResults } from "../lib/results.ts";
import { train } from "../lib/train.ts";
import { DATASET, tempDir } from "./helpers.ts";

const EPOCHS = 2;

Deno.test("train() runs real local training end to end", async (t) => {
  await using temp = await tempDir("train");
  const runsDir = temp.path;
  const run = await train(DATASET, {
    epochs: EPOCHS,
    imgsz: 64,
    batch: 16,
    device: "cpu",
    runsDir,
    overrides: { nbs: 16, warmup_epochs: 1, plots: true },
  });

  const events: TrainEvent[] = [];
  for await (const event of run.events()) events.push(event);
  const result = await run.done;
  assert.equal(result.status, "completed", `run failed: ${result.message}\n${result.logTail.join("\n")}`);
  assert.equal(run.status, "completed");

  await t.step("one epoch event per epoch, in order", () => {
    const epochs = events.filter((event): event is EpochEvent => event.type === "epoch");
    assert.deepEqual(epochs.map((event) => event.epoch), [1, 2]);
    for (const event of epochs) {
      assert.equal(event.epochs, EPOCHS);
      assert.ok("metrics/mAP50(B)" in event.metrics, "epoch event lacks mAP50");
      assert.ok("train/box_loss" in event.metrics, "epoch event lacks the box loss");
      assert.ok(event.elapsedSeconds > 0);
    }
    assert.equal(events.filter((event) => event.type === "start").length, 1);
    assert.equal(events.filter((event) => event.type === "finish").length, 1);
    const statuses = events.filter((event) => event.type === "status").map((event) => event.status);
    assert.deepEqual(statuses, ["queued", "running", "completed"]);
  });

  await t.step("run folder holds every artifact", async () => {
    for (
      const file of [
        "weights/best.pt",
        "weights/last.pt",
        "results.csv",
        "results.png",
        "args.yaml",
        "run.json",
      ]
    ) {
      const info = await Deno.stat(join(run.dir, file));
      assert.ok(info.size > 0, `${file} is empty`);
    }
    const record = JSON.parse(await Deno.readTextFile(join(run.dir, "run.json")));
    assert.equal(record.id, run.id);
    assert.ok(record.command.includes("--epochs"), "run.json lacks the command");
    assert.match(record.versions.ultralytics, /^8\.4\./);
    assert.match(record.versions.torch, /^2\./);
    assert.match(record.versions.python, /^3\./);
  });

  await t.step("history epochs match results.csv row for row", async () => {
    const table = await readResults(join(run.dir, "results.csv"));
    assert.equal(table.rows.length, EPOCHS);
    const history = await History.open(join(runsDir, "history.duckdb"));
    try {
      const details = await history.getRun(run.id);
      assert.equal(details.run.status, "completed");
      assert.equal(details.epochs.length, table.rows.length);
      for (const [index, row] of table.rows.entries()) {
        const stored = details.epochs[index];
        assert.equal(stored.epoch, row.epoch);
        for (const [metric, value] of Object.entries(row.values)) {
          const storedValue = stored.metrics[metric];
          if (value === null) assert.equal(storedValue, null, `${metric} of epoch ${row.epoch}`);
          else assert.ok(Math.abs((storedValue as number) - value) < 1e-9, `${metric} of epoch ${row.epoch}`);
        }
      }
      const paths = details.artifacts.map((artifact) => artifact.path).sort();
      assert.deepEqual(paths, [
        "args.yaml",
        "results.csv",
        "results.png",
        "weights/best.pt",
        "weights/last.pt",
      ]);
    } finally {
      await history.close();
    }
  });

  await t.step("evaluate() reports test metrics for both classes", async () => {
    const metrics = await evaluate(run, { runsDir });
    assert.equal(metrics.split, "test");
    assert.equal(metrics.images, 20);
    assert.deepEqual(metrics.classes.map((c) => c.name), ["dog", "person"]);
    for (const value of [metrics.map50, metrics.map50_95, metrics.precision, metrics.recall]) {
      assert.ok(value >= 0, `metric ${value} below 0`);
      assert.ok(value <= 1, `metric ${value} above 1`);
    }
    assert.ok(metrics.map50_95 <= metrics.map50 + 1e-9);
    assert.equal(metrics.instances, metrics.classes.reduce((sum, c) => sum + c.instances, 0));
    const matrix = metrics.confusionMatrix?.matrix ?? [];
    assert.deepEqual(metrics.confusionMatrix?.names, ["dog", "person", "background"]);
    // Every ground-truth box lands in some cell, matched or missed (background row).
    const columnTotals = [0, 1].map((column) => matrix.reduce((sum, row) => sum + row[column], 0));
    assert.deepEqual(columnTotals, [11, 16]);
    const saved = JSON.parse(await Deno.readTextFile(join(run.dir, "test_metrics.json")));
    assert.equal(saved.map50, metrics.map50);
    const history = await History.open(join(runsDir, "history.duckdb"));
    try {
      const details = await history.getRun(run.id);
      assert.equal(details.testMetrics.length, 1, "history lacks the test metrics");
      assert.equal(details.testMetrics[0].map50, metrics.map50);
    } finally {
      await history.close();
    }
  });

  await t.step("charts parse as SVG and report.html shows each", async () => {
    const report = await Deno.readTextFile(join(run.dir, "report.html"));
    const charts = [...Deno.readDirSync(join(run.dir, "charts"))].map((entry) => entry.name).sort();
    assert.ok(charts.length >= 3, `only ${charts.length} charts`);
    for (const name of charts) {
      const svg = await Deno.readTextFile(join(run.dir, "charts", name));
      const document = new DOMParser().parseFromString(svg, "image/svg+xml");
      assert.equal(document.documentElement?.tagName.toLowerCase(), "svg", `${name} is not an SVG document`);
      assert.equal(svg.match(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g)?.length, 1, `${name} xmlns count`);
      assert.ok(report.includes(name.replace(/\.svg$/, "")), `report.html lacks chart ${name}`);
    }
    assert.ok(report.includes("person"), "report lacks the person row");
    assert.ok(report.includes("dog"), "report lacks the dog row");
  });

  await t.step("the bundled dataset folder is left unchanged", async () => {
    for (const split of ["train", "valid", "test"]) {
      await assert.rejects(Deno.stat(join(DATASET, split, "labels.cache")), Deno.errors.NotFound);
    }
  });
});

Deno.test("run.cancel() stops the trainer and marks the run cancelled", async () => {
  await using temp = await tempDir("cancel");
  const run = await train(DATASET, { epochs: 50, imgsz: 64, device: "cpu", runsDir: temp.path });
  for await (const event of run.events()) {
    if (event.type === "epoch") break;
  }
  const result = await run.cancel();
  assert.equal(result.status, "cancelled");
  assert.ok(result.epochs.length >= 1, "no epoch finished before the cancel");
  assert.ok(result.epochs.length < 50, "the run trained to the end");
  assert.equal(await processAlive(Number(run.info.pid)), false, "the trainer process is still running");
  const history = await History.open(join(temp.path, "history.duckdb"));
  try {
    const details = await history.getRun(run.id);
    assert.equal(details.run.status, "cancelled");
    assert.ok(details.epochs.length >= 1, "finished epochs were not kept");
  } finally {
    await history.close();
  }
});

Deno.test("killing the trainer marks the run interrupted and keeps last.pt", async () => {
  await using temp = await tempDir("kill");
  const run = await train(DATASET, { epochs: 50, imgsz: 64, device: "cpu", runsDir: temp.path });
  for await (const event of run.events()) {
    if (event.type === "epoch") break;
  }
  Deno.kill(Number(run.info.pid), "SIGKILL");
  const result = await run.done;
  assert.equal(result.status, "interrupted");
  assert.match(result.message ?? "", /SIGKILL/);
  assert.ok((await Deno.stat(join(run.dir, "weights", "last.pt"))).size > 0, "last.pt was not kept");
  const history = await History.open(join(temp.path, "history.duckdb"));
  try {
    const details = await history.getRun(run.id);
    assert.equal(details.run.status, "interrupted");
    assert.ok(details.epochs.length >= 1);
  } finally {
    await history.close();
  }
  // A new run can start at once in the same runs folder.
  const next = await train(DATASET, {
    epochs: 1,
    imgsz: 64,
    device: "cpu",
    runsDir: temp.path,
    report: false,
  });
  assert.equal((await next.done).status, "completed");
});

async function processAlive(pid: number): Promise<boolean> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}
