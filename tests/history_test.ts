import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { HistoryError, NotFoundError, OptionsError } from "../lib/errors.ts";
import { History, type RunRecord } from "../lib/history.ts";
import { importRun } from "../lib/history_import.ts";
import type { TestMetrics } from "../lib/metrics.ts";
import { JUPYTER_DISPLAY } from "../lib/_table.ts";

/** Creates a temporary folder that is removed when the test leaves its scope. */
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

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  return await Deno.readFile(path).catch(() => undefined);
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
  await assert.rejects(history.sql("DELETE FROM runs"), /only SELECT/);
  await history.batch(async (h) => {
    await assert.rejects(h.sql("UPDATE runs SET status = 'failed'"), /only SELECT/);
  });
  assert.equal((await history.getRun("a")).run.status, "running");
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
  const walBefore = await readIfExists(path + ".wal");
  const damaged = bytes.slice();
  for (let i = 16; i < damaged.length; i++) damaged[i] = (damaged[i] * 31 + 7) & 0xff;
  await Deno.writeFile(path, damaged);
  const error = await rejection(History.open(path));
  assert.ok(error instanceof HistoryError);
  assert.match(error.message, /history\.duckdb/);
  assert.match(error.message, /Move it away/);
  assert.deepEqual(await Deno.readFile(path), damaged);
  assert.deepEqual(await readIfExists(path + ".wal"), walBefore);
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

  await history.batch(async (h) => {
    await h.createRun(makeRun("twice"));
    await h.replaceEpochs("twice", [{ epoch: 1, metrics: epochMetrics(0.1, 1) }]);
    await h.replaceEpochs("twice", [{ epoch: 1, metrics: epochMetrics(0.2, 1) }, {
      epoch: 2,
      metrics: epochMetrics(0.3, 1),
    }]);
    await assert.rejects(h.replaceEpochs("unknown", []), NotFoundError);
  });
  const twice = await history.getRun("twice");
  assert.deepEqual(twice.epochs.map((epoch) => epoch.metrics["metrics/mAP50-95(B)"]), [0.2, 0.3]);
  await history.close();
  await assert.rejects(history.listRuns(), /is closed/);
});

/** Creates a history as trainbook's schema version 1 wrote it, with one run of two epochs. */
async function createVersion1History(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  const statements = [
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    `CREATE TABLE runs (id VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL, started_at TIMESTAMPTZ,
      finished_at TIMESTAMPTZ, backend VARCHAR NOT NULL, flavor VARCHAR, job_id VARCHAR, job_url VARCHAR,
      status VARCHAR NOT NULL, status_message VARCHAR, dataset_path VARCHAR, dataset_repo VARCHAR,
      dataset_fingerprint VARCHAR, model VARCHAR NOT NULL, task VARCHAR, args JSON, versions JSON, seed BIGINT,
      git_commit VARCHAR, run_dir VARCHAR, pid BIGINT, hostname VARCHAR, updated_at TIMESTAMPTZ)`,
    "CREATE TABLE epochs (run_id VARCHAR NOT NULL, epoch INTEGER NOT NULL, metric VARCHAR NOT NULL, value DOUBLE)",
    `CREATE TABLE test_metrics (run_id VARCHAR NOT NULL, split VARCHAR NOT NULL, weights VARCHAR, images INTEGER,
      instances INTEGER, precision DOUBLE, recall DOUBLE, map50 DOUBLE, map50_95 DOUBLE, speed_ms JSON,
      confusion_matrix JSON, recorded_at TIMESTAMPTZ)`,
    `CREATE TABLE class_metrics (run_id VARCHAR NOT NULL, split VARCHAR NOT NULL, class_id INTEGER NOT NULL,
      name VARCHAR, images INTEGER, instances INTEGER, precision DOUBLE, recall DOUBLE, map50 DOUBLE, map50_95 DOUBLE)`,
    `CREATE TABLE artifacts (run_id VARCHAR NOT NULL, path VARCHAR NOT NULL, size BIGINT, sha256 VARCHAR,
      kind VARCHAR, recorded_at TIMESTAMPTZ)`,
    "INSERT INTO meta VALUES ('schema_version', '1')",
    `INSERT INTO runs (id, created_at, backend, status, model, args, versions)
      VALUES ('old', '2025-06-01T10:00:00Z', 'local', 'completed', 'yolov8n.pt', '{"imgsz": 640}', '{}')`,
    `INSERT INTO epochs VALUES ('old', 1, 'metrics/mAP50-95(B)', 0.2), ('old', 1, 'train/box_loss', 1.5),
      ('old', 2, 'metrics/mAP50-95(B)', 0.35), ('old', 2, 'train/box_loss', 1.2)`,
  ];
  for (const statement of statements) await connection.run(statement);
  connection.closeSync();
  instance.closeSync();
}

Deno.test("History.open() upgrades a version 1 history in place", async () => {
  await using folder = await tempFolder();
  const path = join(folder.dir, "history.duckdb");
  await createVersion1History(path);

  const history = await History.open(path);
  const version = await history.sql("SELECT value FROM meta WHERE key = 'schema_version'");
  assert.equal(version[0].value, "2");
  const old = await history.getRun("old");
  assert.equal(old.run.model, "yolov8n.pt");
  assert.deepEqual(old.run.args, { imgsz: 640 });
  assert.deepEqual(old.epochs.map((epoch) => [epoch.segment, epoch.epoch]), [[1, 1], [1, 2]]);
  const board = await history.leaderboard();
  assert.equal(board.rows[0].id, "old");
  assert.equal(board.rows[0].value, 0.35);
  assert.equal(board.rows[0].epoch, 2);

  // The upgraded file takes the columns and tables that version 2 added.
  await history.updateRun("old", { jobOwner: "me", epochsPlanned: 2 });
  await history.recordEvent("old", { type: "note", message: "upgraded" });
  await history.recordEpoch("old", { epoch: 1, segment: 2, metrics: { "metrics/mAP50-95(B)": 0.5 } });
  const upgraded = await history.getRun("old");
  assert.equal(upgraded.run.jobOwner, "me");
  assert.equal(upgraded.events.length, 1);
  assert.equal(upgraded.epochs.length, 3);
  await history.close();

  const reopened = await History.open(path);
  assert.equal((await reopened.listRuns()).runs.length, 1);
  await reopened.close();
});

Deno.test("replaceEpochs() and recordEpoch() agree on ties and NaN", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  const epochs = [
    { epoch: 1, metrics: { "metrics/mAP50(B)": 0.5, "val/box_loss": NaN, "lr/pg0": null } },
    { epoch: 2, metrics: { "metrics/mAP50(B)": 0.7, "val/box_loss": 1.0, "lr/pg0": null } },
    { epoch: 3, metrics: { "metrics/mAP50(B)": 0.7, "val/box_loss": 1.0, "lr/pg0": null } },
    { epoch: 1, segment: 2, metrics: { "metrics/mAP50(B)": 0.1, "val/box_loss": 0.9, "lr/pg0": null } },
    { epoch: 2, segment: 2, metrics: { "metrics/mAP50(B)": NaN, "val/box_loss": 0.9, "lr/pg0": null } },
  ];
  await history.createRun(makeRun("bulk"));
  await history.replaceEpochs("bulk", epochs);
  await history.createRun(makeRun("live"));
  for (const epoch of epochs) await history.recordEpoch("live", epoch);

  const summary = (id: string) =>
    history.sql("SELECT * EXCLUDE (run_id) FROM run_metrics WHERE run_id = $1 ORDER BY metric", [id]);
  const bulk = await summary("bulk");
  assert.deepEqual(bulk, await summary("live"));
  const map50 = bulk.find((row) => row.metric === "metrics/mAP50(B)")!;
  assert.deepEqual([map50.max_value, map50.max_segment, map50.max_epoch], [0.7, 1, 2]);
  assert.deepEqual([map50.last_value, map50.last_segment, map50.last_epoch], [null, 2, 2]);
  const loss = bulk.find((row) => row.metric === "val/box_loss")!;
  assert.deepEqual([loss.min_value, loss.min_segment, loss.min_epoch], [0.9, 2, 1]);
  const lr = bulk.find((row) => row.metric === "lr/pg0")!;
  assert.deepEqual([lr.epochs, lr.max_value, lr.max_epoch], [5, null, null]);
  await history.close();
});

Deno.test("batch() keeps nothing when its work throws", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await assert.rejects(
    history.batch(async (h) => {
      await h.createRun(makeRun("kept?"));
      throw new Error("stop");
    }),
    /stop/,
  );
  assert.equal((await history.listRuns()).runs.length, 0);
  await history.close();
});

const RUN_FOLDERS = fileURLToPath(new URL("./testdata/history/runs/", import.meta.url));

/** Copies a fixture run folder into `dir`, adding weights files with known bytes. */
async function copyRunFolder(
  name: string,
  dir: string,
  weights: Record<string, string> = {},
): Promise<string> {
  const target = join(dir, name);
  await Deno.mkdir(join(target, "weights"), { recursive: true });
  for await (const entry of Deno.readDir(join(RUN_FOLDERS, name))) {
    await Deno.copyFile(join(RUN_FOLDERS, name, entry.name), join(target, entry.name));
  }
  for (const [file, text] of Object.entries(weights)) {
    await Deno.writeTextFile(join(target, "weights", file), text);
  }
  return target;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

Deno.test("importRun() stores a finished Ultralytics run with its weights", async () => {
  await using folder = await tempFolder();
  const runDir = await copyRunFolder("complete", folder.dir, {
    "best.pt": "best weights",
    "last.pt": "last weights!",
  });
  const history = await History.open(join(folder.dir, "history.duckdb"));

  const result = await importRun(history, runDir);
  assert.equal(result.imported, true);
  assert.equal(result.status, "completed");
  assert.equal(result.format, "ultralytics");
  assert.equal(result.task, "detect");
  assert.equal(result.epochs, 3);
  assert.match(result.id, /^imported-complete-[0-9a-f]{8}$/);

  const details = await history.getRun(result.id);
  assert.equal(details.run.backend, "imported");
  assert.equal(details.run.model, "yolo11n.yaml");
  assert.equal(details.run.datasetPath, "datasets/dogs/data.yaml");
  assert.equal(details.run.epochsPlanned, 3);
  assert.equal(details.run.args.imgsz, 320);
  assert.equal(details.run.runDir, runDir);
  assert.equal(details.epochs.length, 3);
  assert.equal(details.epochs[1].metrics["val/cls_loss"], Infinity);
  assert.equal(details.epochs[0].metrics["val/box_loss"], null);
  assert.deepEqual(details.artifacts, [
    { path: "weights/best.pt", size: 12, sha256: sha256Hex("best weights"), kind: "weights" },
    { path: "weights/last.pt", size: 13, sha256: sha256Hex("last weights!"), kind: "weights" },
  ]);
  assert.equal(details.events[0].type, "import");
  const board = await history.leaderboard();
  assert.deepEqual([board.rows[0].value, board.rows[0].epoch], [0.26, 3]);
  await history.close();
});

Deno.test("importRun() imports the same folder once", async () => {
  await using folder = await tempFolder();
  const runDir = await copyRunFolder("complete", folder.dir);
  const history = await History.open(join(folder.dir, "history.duckdb"));
  const first = await importRun(history, runDir);
  const second = await importRun(history, runDir + "/");
  assert.equal(second.imported, false);
  assert.equal(second.id, first.id);
  assert.equal((await history.listRuns()).runs.length, 1);

  // A results.csv that grew since (training went on) is a new import.
  await Deno.writeTextFile(
    join(runDir, "results.csv"),
    "4,66,1.2,1.8,1.2,0.6,0.5,0.55,0.3,1.2,1.6,1.1,0.001,0.001,0.03\n",
    {
      append: true,
    },
  );
  const third = await importRun(history, runDir);
  assert.equal(third.imported, true);
  assert.notEqual(third.id, first.id);
  await history.close();
});

Deno.test("importRun() marks a run with missing epochs as interrupted", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  const interrupted = await importRun(history, await copyRunFolder("interrupted", folder.dir));
  assert.equal(interrupted.status, "interrupted");
  assert.match((await history.getRun(interrupted.id)).run.statusMessage ?? "", /2 of 50 planned epochs/);

  const early = await importRun(history, await copyRunFolder("early_stop", folder.dir));
  assert.equal(early.status, "completed");
  assert.match((await history.getRun(early.id)).run.statusMessage ?? "", /Stopped early after 4 of 20/);
  await history.close();
});

Deno.test("importRun() reads a YOLOv5 run folder", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  const result = await importRun(history, await copyRunFolder("yolov5", folder.dir), { id: "v5" });
  assert.deepEqual([result.id, result.format, result.status, result.epochs], [
    "v5",
    "yolov5",
    "completed",
    2,
  ]);
  const details = await history.getRun("v5");
  assert.equal(details.run.model, "yolov5s.pt");
  assert.deepEqual(details.epochs.map((epoch) => epoch.epoch), [1, 2]);
  assert.equal(details.epochs[1].metrics["metrics/mAP50-95(B)"], 0.14);
  await history.close();
});

Deno.test("importRun() throws NotFoundError for a folder without results.csv", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  const missing = await rejection(importRun(history, join(folder.dir, "nope")));
  assert.ok(missing instanceof NotFoundError);
  assert.match(missing.message, /nope not found/);
  await Deno.mkdir(join(folder.dir, "empty"));
  await assert.rejects(importRun(history, join(folder.dir, "empty")), /has no results\.csv/);
  await history.close();
});

Deno.test("History.open() names the path it cannot create", async () => {
  await using folder = await tempFolder();
  const blocker = join(folder.dir, "file");
  await Deno.writeTextFile(blocker, "a file where a folder should be");
  const error = await rejection(History.open(join(blocker, "history.duckdb")));
  assert.ok(error instanceof HistoryError);
  assert.match(error.message, /Cannot create the folder of history/);
  assert.match(error.message, /TRAINBOOK_RUNS_DIR/);
});

Deno.test("batch() reads see epochs staged earlier", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.batch(async (h) => {
    await h.createRun(makeRun("first"));
    await h.replaceEpochs("first", [{ epoch: 1, metrics: { ...epochMetrics(0.1, 1), "lr/pg0": NaN } }]);
    const first = await h.getRun("first");
    assert.equal(first.epochs.length, 1);
    assert.equal(first.epochs[0].metrics["lr/pg0"], null);

    await h.createRun(makeRun("second"));
    await h.replaceEpochs("second", [{
      epoch: 1,
      metrics: { "metrics/mAP50-95(B)": 0.7, "metrics/new(B)": 1 },
    }]);
    const counts = await h.sql("SELECT run_id, count(*) AS n FROM epochs GROUP BY run_id ORDER BY run_id");
    assert.deepEqual(counts, [{ run_id: "first", n: 5 }, { run_id: "second", n: 2 }]);
    await h.createRun(makeRun("third"));
    await h.replaceEpochs("third", [{
      epoch: 2,
      segment: 3,
      metrics: { "metrics/new(B)": 2, "train/box_loss": 0.5 },
    }]);
  });

  const third = await history.getRun("third");
  assert.deepEqual(third.epochs, [{
    epoch: 2,
    segment: 3,
    metrics: { "metrics/new(B)": 2, "train/box_loss": 0.5 },
  }]);
  assert.equal((await history.getRun("second")).epochs[0].metrics["metrics/new(B)"], 1);
  const total = await history.sql("SELECT count(*) AS n FROM epochs");
  assert.equal(total[0].n, 9);
  await history.close();
});

Deno.test("batch() rejects duplicate and incomplete runs", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.createRun(makeRun("stored"));
  await history.batch(async (h) => {
    await assert.rejects(h.createRun(makeRun("stored")), OptionsError, "a run stored before the batch");
    await h.createRun(makeRun("queued"));
    await assert.rejects(h.createRun(makeRun("queued")), OptionsError, "a run created in the batch");
    const incomplete = { ...makeRun("no-model") } as Partial<RunRecord>;
    delete incomplete.model;
    await assert.rejects(h.createRun(incomplete as RunRecord), OptionsError, "a run without a model");
  });
  const ids = (await history.listRuns()).runs.map((run) => run.id).sort();
  assert.deepEqual(ids, ["queued", "stored"]);
  await history.close();
});

Deno.test("batch() stores epochs out of order and NaN values", async () => {
  await using folder = await tempFolder();
  const history = await History.open(join(folder.dir, "history.duckdb"));
  await history.batch(async (h) => {
    await h.createRun(makeRun("unordered"));
    await h.replaceEpochs("unordered", [
      { epoch: 3, metrics: epochMetrics(0.3, 1) },
      { epoch: 1, metrics: { ...epochMetrics(0.1, 1), "metrics/mAP50(B)": null } },
      { epoch: 2, metrics: epochMetrics(0.2, 1) },
      { epoch: 1, segment: 2, metrics: epochMetrics(0.05, 1) },
    ]);
  });
  const details = await history.getRun("unordered");
  assert.deepEqual(details.epochs.map((epoch) => [epoch.segment, epoch.epoch]), [[1, 1], [1, 2], [1, 3], [
    2,
    1,
  ]]);
  assert.equal(details.epochs[0].metrics["metrics/mAP50(B)"], null);
  assert.equal(details.epochs[2].metrics["metrics/mAP50-95(B)"], 0.3);
  await history.close();
});
