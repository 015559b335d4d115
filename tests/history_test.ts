import assert from "node:assert/strict";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { HistoryError, NotFoundError, OptionsError } from "../lib/errors.ts";
import { History, type RunRecord } from "../lib/history.ts";
import type { TestMetrics } from "../lib/metrics.ts";
import { JUPYTER_DISPLAY } from "../lib/_table.ts";

/** A temporary folder that is removed when the test leaves its scope. */
async function tempFolder(): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "history_test_" });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** Awaits a promise that must reject and returns its error. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  throw new assert.AssertionError({ message: "expected the promise to reject" });
}

function makeRun(id: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    createdAt: "2026-01-10T08:00:00.000Z",
    backend: "local",
    status: "running",
    model: "yolo11n.yaml",
    args: { imgsz: 320, batch: 16 },
    versions: { ultralytics: "8.4.31" },
    datasetPath: "/data/dogs/data.yaml",
    epochsPlanned: 3,
    ...overrides,
  };
}

function epochMetrics(map: number, loss: number): Record<string, number | null> {
  return {
    "train/box_loss": loss,
    "metrics/mAP50(B)": map + 0.2,
    "metrics/mAP50-95(B)": map,
    "val/box_loss": loss + 0.1,
    "lr/pg0": 0.01,
  };
}

const testMetrics: TestMetrics = {
  split: "test",
  weights: "best.pt",
  images: 20,
  instances: 41,
  precision: 0.8,
  recall: 0.7,
  map50: 0.75,
  map50_95: 0.45,
  classes: [
    {
      classId: 0,
      name: "dog",
      images: 10,
      instances: 20,
      precision: 0.9,
      recall: 0.8,
      map50: 0.85,
      map50_95: 0.5,
    },
    {
      classId: 1,
      name: "person",
      images: 12,
      instances: 21,
      precision: 0.7,
      recall: 0.6,
      map50: 0.65,
      map50_95: 0.4,
    },
  ],
  speedMs: { preprocess: 0.5, inference: 12, postprocess: 1 },
};

Deno.test("History.open() creates a new history with the current schema", async () => {
  await using folder = await tempFolder();
  const path = join(folder.dir, "sub", "history.duckdb");
  const history = await History.open(path);
  const rows = await history.sql("SELECT value FROM meta WHERE key = 'schema_version'");
  assert.equal(rows[0].value, "2");
  assert.equal(history.path, path);
  await history.close();
});

Deno.test("getRun() returns what createRun() and record*() stored", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("run-a", { seed: 7, hostname: "box", pid: 123456789 }));
  await history.recordEpoch("run-a", { epoch: 1, metrics: epochMetrics(0.1, 2.0) });
  await history.recordEpoch("run-a", { epoch: 2, metrics: { ...epochMetrics(0.2, 1.5), "lr/pg0": NaN } });
  await history.recordTestMetrics("run-a", testMetrics);
  await history.recordArtifact("run-a", {
    path: "weights/best.pt",
    size: 5,
    sha256: "ab".repeat(32),
    kind: "weights",
  });
  await history.recordEvent("run-a", { type: "start", message: "started", data: { device: "cpu" } });
  await history.updateRun("run-a", { status: "completed", finishedAt: "2026-01-10T09:00:00.000Z" });

  const details = await history.getRun("run-a");
  assert.equal(details.run.status, "completed");
  assert.equal(details.run.seed, 7);
  assert.equal(details.run.finishedAt, "2026-01-10T09:00:00.000Z");
  assert.deepEqual(details.run.args, { imgsz: 320, batch: 16 });
  assert.equal(details.epochs.length, 2);
  assert.equal(details.epochs[1].segment, 1);
  assert.equal(details.epochs[1].metrics["metrics/mAP50-95(B)"], 0.2);
  assert.equal(details.epochs[1].metrics["lr/pg0"], null);
  assert.deepEqual(details.testMetrics, [testMetrics]);
  assert.equal(details.artifacts[0].sha256, "ab".repeat(32));
  assert.equal(details.events[0].type, "start");
  assert.deepEqual(details.events[0].data, { device: "cpu" });
  await history.close();
});

Deno.test("recordEpoch() replaces an epoch recorded twice", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("r"));
  await history.recordEpoch("r", { epoch: 1, metrics: epochMetrics(0.1, 2) });
  await history.recordEpoch("r", { epoch: 1, metrics: epochMetrics(0.3, 1) });
  await history.recordEpoch("r", { epoch: 1, segment: 2, metrics: epochMetrics(0.05, 3) });

  const details = await history.getRun("r");
  assert.equal(details.epochs.length, 2);
  assert.equal(details.epochs[0].metrics["metrics/mAP50-95(B)"], 0.3);
  assert.equal(details.epochs[1].segment, 2);
  const board = await history.leaderboard();
  assert.equal(board.rows[0].value, 0.3);
  assert.equal(board.rows[0].epoch, 1);
  assert.equal(board.rows[0].segment, 1);
  await history.close();
});

Deno.test("replaceEpochs() swaps all epochs of a run", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("r"));
  await history.recordEpoch("r", { epoch: 1, metrics: epochMetrics(0.9, 2) });
  await history.replaceEpochs("r", [
    { epoch: 1, metrics: epochMetrics(0.1, 2) },
    { epoch: 2, metrics: epochMetrics(0.4, 1) },
    { epoch: 3, metrics: epochMetrics(0.3, 0.5) },
  ]);

  const details = await history.getRun("r");
  assert.deepEqual(details.epochs.map((epoch) => epoch.epoch), [1, 2, 3]);
  const best = await history.leaderboard();
  assert.equal(best.rows[0].value, 0.4);
  assert.equal(best.rows[0].epoch, 2);
  const lowestLoss = await history.leaderboard({ metric: "train/box_loss" });
  assert.equal(lowestLoss.order, "min");
  assert.equal(lowestLoss.rows[0].value, 0.5);
  await history.close();
});

Deno.test("replaceEpochs() keeps old epochs when a value is invalid", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("r"));
  await history.recordEpoch("r", { epoch: 1, metrics: epochMetrics(0.9, 2) });
  await assert.rejects(
    history.replaceEpochs("r", [{ epoch: 1, metrics: epochMetrics(0.1, 2) }, { epoch: -1, metrics: {} }]),
    OptionsError,
  );
  const details = await history.getRun("r");
  assert.equal(details.epochs[0].metrics["metrics/mAP50-95(B)"], 0.9);
  await history.close();
});

Deno.test("getRun() throws NotFoundError naming the id", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("20260110-abc"));
  await history.createRun(makeRun("20260110-abd"));
  const error = await rejection(history.getRun("missing"));
  assert.ok(error instanceof NotFoundError);
  assert.match(error.message, /"missing"/);
  assert.match(error.message, /listRuns\(\)/);
  await assert.rejects(history.getRun("20260110-ab"), /matches several runs/);
  assert.equal((await history.getRun("20260110-abc")).run.id, "20260110-abc");
  assert.equal((await history.getRun("20260110-abd")).run.id, "20260110-abd");
  await assert.rejects(history.recordEpoch("missing", { epoch: 1, metrics: {} }), NotFoundError);
  await assert.rejects(history.updateRun("missing", { status: "failed" }), NotFoundError);
  await history.close();
});

Deno.test("createRun() rejects an existing id", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("r"));
  await assert.rejects(history.createRun(makeRun("r")), /exists already/);
  await history.close();
});

Deno.test("history stores no Hugging Face token", async () => {
  await using folder = await tempFolder();
  const path = join(folder.dir, "history.duckdb");
  const token = "hf_abcdefghijklmnopqrstuvwxyz123456";
  const history = await History.open(path);
  await history.createRun(
    makeRun("r", { args: { token }, versions: { hub: `x ${token}` }, jobUrl: `https://x/${token}` }),
  );
  await history.updateRun("r", { status: "failed", statusMessage: `401 for ${token}` });
  await history.recordEvent("r", {
    type: "log",
    message: `token=${token}`,
    data: { env: { HF_TOKEN: token } },
  });
  const details = await history.getRun("r");
  assert.deepEqual(details.run.args, { token: "hf_***" });
  assert.equal(details.run.statusMessage, "401 for hf_***");
  assert.equal(details.events[0].message, "token=hf_***");
  await history.close();

  const bytes = await Deno.readFile(path);
  const text = new TextDecoder("latin1").decode(bytes);
  assert.equal(text.includes("abcdefghijklmnop"), false);
});

Deno.test("listRuns() filters by status, backend and dataset", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("a", { createdAt: "2026-01-01T00:00:00Z", status: "completed" }));
  await history.createRun(
    makeRun("b", { createdAt: "2026-01-02T00:00:00Z", backend: "hf-jobs", datasetRepo: "me/dogs" }),
  );
  await history.createRun(makeRun("c", { createdAt: "2026-01-03T00:00:00Z", status: "failed" }));
  await history.recordEpoch("a", { epoch: 1, metrics: epochMetrics(0.25, 1) });

  assert.deepEqual((await history.listRuns()).runs.map((run) => run.id), ["c", "b", "a"]);
  assert.deepEqual((await history.listRuns({ status: "completed" })).runs.map((run) => run.id), ["a"]);
  assert.deepEqual((await history.listRuns({ backend: "hf-jobs" })).runs.map((run) => run.id), ["b"]);
  assert.deepEqual((await history.listRuns({ dataset: "me/dogs" })).runs.map((run) => run.id), ["b"]);
  assert.deepEqual((await history.listRuns({ limit: 1 })).runs.map((run) => run.id), ["c"]);
  const a = (await history.listRuns({ status: "completed" })).runs[0];
  assert.equal(a.bestMap50_95, 0.25);
  assert.equal(a.epochs, 1);
  assert.equal(a.epochsPlanned, 3);
  await history.close();
});

Deno.test("leaderboard() ranks by test metrics and filters by dataset", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("a"));
  await history.createRun(makeRun("b", { datasetPath: "/data/other.yaml" }));
  await history.recordTestMetrics("a", testMetrics);
  await history.recordTestMetrics("b", { ...testMetrics, map50_95: 0.6 });

  const all = await history.leaderboard({ metric: "test/map50_95" });
  assert.deepEqual(all.rows.map((row) => row.id), ["b", "a"]);
  const dogs = await history.leaderboard({ metric: "test/map50_95", dataset: "/data/dogs/data.yaml" });
  assert.deepEqual(dogs.rows.map((row) => row.id), ["a"]);
  await assert.rejects(history.leaderboard({ metric: "test/f1" }), OptionsError);
  await history.close();
});

Deno.test("leaderboard() names known metrics for an unknown one", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("a"));
  await history.recordEpoch("a", { epoch: 1, metrics: epochMetrics(0.1, 1) });
  await assert.rejects(history.leaderboard({ metric: "metrics/mAP50-95(M)" }), /metrics\/mAP50-95\(B\)/);
  await history.close();
});

Deno.test("compareRuns() lists metrics and differing args side by side", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("a"));
  await history.createRun(makeRun("b", { args: { imgsz: 640, batch: 16 } }));
  await history.replaceEpochs("a", [{ epoch: 1, metrics: epochMetrics(0.1, 1) }, {
    epoch: 2,
    metrics: epochMetrics(0.3, 1),
  }]);
  await history.replaceEpochs("b", [{ epoch: 1, metrics: epochMetrics(0.2, 1) }]);

  const comparison = await history.compareRuns(["a", "b"]);
  const best = comparison.rows.find((row) => row.label === "best metrics/mAP50-95(B)");
  assert.deepEqual(best, { label: "best metrics/mAP50-95(B)", a: 0.3, b: 0.2 });
  const imgsz = comparison.rows.find((row) => row.label === "arg imgsz");
  assert.deepEqual(imgsz, { label: "arg imgsz", a: 320, b: 640 });
  assert.equal(comparison.rows.find((row) => row.label === "arg batch"), undefined);
  assert.equal(comparison.epochs.a.length, 2);
  await history.close();
});

Deno.test("display bundles hold an aligned table and escaped HTML", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("a", { model: "<b>yolo</b>" }));
  await history.recordEpoch("a", { epoch: 1, metrics: epochMetrics(0.12345678, 1) });
  await history.recordTestMetrics("a", testMetrics);

  for (
    const view of [
      await history.listRuns(),
      await history.leaderboard(),
      await history.getRun("a"),
      await history.compareRuns(["a"]),
    ]
  ) {
    const bundle = view[JUPYTER_DISPLAY]();
    assert.equal(bundle["text/plain"], view.toString());
    assert.match(bundle["text/html"], /<table>/);
    assert.equal(bundle["text/html"].includes("<b>yolo"), false);
  }
  const text = (await history.leaderboard()).toString();
  const lines = text.split("\n");
  assert.match(lines[0], /^Leaderboard by metrics\/mAP50-95\(B\)/);
  assert.equal(lines[1].indexOf("id"), lines[3].indexOf("a"));
  assert.match(lines[3], /0\.1235/);
  await history.close();
});

Deno.test("sql() binds parameters and rejects writes", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("a"));
  const rows = await history.sql("SELECT id, epochs_planned FROM runs WHERE id = $1", ["a"]);
  assert.deepEqual(rows, [{ id: "a", epochs_planned: 3 }]);
  const named = await history.sql("SELECT count(*) AS n FROM runs WHERE model = $model", {
    model: "yolo11n.yaml",
  });
  assert.deepEqual(named, [{ n: 1 }]);
  await assert.rejects(history.sql("DELETE FROM runs"), /read-only/);
  await history.close();
});

Deno.test("exportHistory() writes one Parquet file per table", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("a"));
  await history.recordEpoch("a", { epoch: 1, metrics: epochMetrics(0.1, 1) });
  const files = await history.exportHistory(join(folder.dir, "export's"));
  assert.equal(files.length, 8);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const file = files.find((name) => name.endsWith("epochs.parquet"))!;
  const reader = await connection.runAndReadAll(
    `SELECT count(*) AS n FROM read_parquet('${file.replaceAll("'", "''")}')`,
  );
  assert.equal(Number(reader.getRowObjectsJS()[0].n), 5);
  connection.closeSync();
  instance.closeSync();
  await history.close();
});

Deno.test("History.open() rejects a file that is not a database and leaves it unchanged", async () => {
  await using folder = await tempFolder();
  const cases: [string, Uint8Array][] = [
    ["notes.duckdb", new TextEncoder().encode("these are my notes, not a database\n".repeat(50))],
    ["empty.duckdb", new Uint8Array()],
  ];
  for (const [name, bytes] of cases) {
    const path = join(folder.dir, name);
    await Deno.writeFile(path, bytes);
    const error = await rejection(History.open(path));
    assert.ok(error instanceof HistoryError);
    assert.match(error.message, new RegExp(name.replace(".", "\\.")));
    assert.match(error.message, /not a DuckDB database/);
    assert.deepEqual(await Deno.readFile(path), bytes);
  }
});

Deno.test("History.open() rejects a damaged database and leaves it unchanged", async () => {
  await using folder = await tempFolder();
  const path = join(folder.dir, "history.duckdb");
  const history = await History.open(path);
  await history.createRun(makeRun("a"));
  await history.close();

  const bytes = await Deno.readFile(path);
  const damaged = bytes.slice();
  for (let i = 16; i < damaged.length; i++) damaged[i] = (damaged[i] * 31 + 7) & 0xff;
  await Deno.writeFile(path, damaged);
  const error = await rejection(History.open(path));
  assert.ok(error instanceof HistoryError);
  assert.match(error.message, /history\.duckdb/);
  assert.match(error.message, /Move it away/);
  assert.deepEqual(await Deno.readFile(path), damaged);
  assert.equal(await Deno.stat(path + ".wal").then(() => true, () => false), false);
});

Deno.test("History.open() rejects a DuckDB database that is not a history", async () => {
  await using folder = await tempFolder();
  const path = join(folder.dir, "other.duckdb");
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run("CREATE TABLE sales (amount DOUBLE)");
  connection.closeSync();
  instance.closeSync();
  const before = await Deno.readFile(path);
  await assert.rejects(History.open(path), /not a trainbook run history/);
  assert.deepEqual(await Deno.readFile(path), before);
});

Deno.test("History.open() rejects a newer schema version", async () => {
  await using folder = await tempFolder();
  const path = join(folder.dir, "history.duckdb");
  const history = await History.open(path);
  await history.close();
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  connection.closeSync();
  instance.closeSync();
  const before = await Deno.readFile(path);
  const error = await rejection(History.open(path));
  assert.ok(error instanceof HistoryError);
  assert.match(error.message, /schema version 99, newer than version 2/);
  assert.match(error.message, /Update trainbook/);
  assert.deepEqual(await Deno.readFile(path), before);
});

Deno.test("History.open() marks runs of dead processes as interrupted", async () => {
  await using folder = await tempFolder();
  const path = join(folder.dir, "history.duckdb");
  const child = new Deno.Command("true").spawn();
  const { success } = await child.status;
  assert.ok(success);
  const deadPid = child.pid;

  const history = await History.open(path);
  await history.createRun(makeRun("dead", { pid: deadPid, hostname: Deno.hostname() }));
  await history.createRun(makeRun("alive", { pid: Deno.pid, hostname: Deno.hostname() }));
  await history.createRun(makeRun("elsewhere", { pid: deadPid, hostname: "another-host" }));
  await history.recordEpoch("dead", { epoch: 1, metrics: epochMetrics(0.1, 1) });
  await history.close();

  const reopened = await History.open(path);
  const dead = await reopened.getRun("dead");
  assert.equal(dead.run.status, "interrupted");
  assert.match(dead.run.statusMessage ?? "", new RegExp(`process ${deadPid}`));
  assert.equal(dead.epochs.length, 1);
  assert.equal((await reopened.getRun("alive")).run.status, "running");
  assert.equal((await reopened.getRun("elsewhere")).run.status, "running");
  await reopened.close();
});

Deno.test("batch() keeps the file open across operations", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.batch(async (h) => {
    for (let i = 0; i < 5; i++) {
      await h.createRun(makeRun(`r${i}`));
      await h.replaceEpochs(`r${i}`, [{ epoch: 1, metrics: epochMetrics(i / 10, 1) }]);
    }
  });
  const board = await history.leaderboard();
  assert.deepEqual(board.rows.map((row) => row.id), ["r4", "r3", "r2", "r1", "r0"]);
  await history.close();
  await assert.rejects(history.listRuns(), /is closed/);
});
