import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HistoryError } from "../lib/errors.ts";
import { History, type RunRecord } from "../lib/history.ts";

const WRITER = fileURLToPath(new URL("./testdata/history/writer.ts", import.meta.url));
const HOLDER = fileURLToPath(new URL("./testdata/history/holder.ts", import.meta.url));

function makeRun(id: string): RunRecord {
  return {
    id,
    createdAt: new Date().toISOString(),
    backend: "local",
    status: "running",
    model: "yolo11n.yaml",
    args: {},
    versions: {},
  };
}

/** Starts a process that keeps `path` open for `milliseconds`, and waits until it has opened it. */
async function holdFile(path: string, milliseconds: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", HOLDER, path, String(milliseconds)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  assert.equal(new TextDecoder().decode(value).trim(), "ready");
  reader.releaseLock();
  await child.stdout.cancel();
  return child;
}

Deno.test("History keeps every row when two processes write at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "history_concurrency_" });
  try {
    const path = join(dir, "history.duckdb");
    await (await History.open(path)).close();

    const writers = ["a", "b"].map((name) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", WRITER, path, name, "100"],
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      }).output()
    );
    const outputs = await Promise.all(writers);
    for (const output of outputs) {
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    }

    const history = await History.open(path);
    const runs = await history.sql(
      "SELECT args->>'writer' AS writer, count(*) AS n, count(*) FILTER (status = 'completed') AS completed FROM runs GROUP BY ALL ORDER BY writer",
    );
    assert.deepEqual(runs, [{ writer: "a", n: 100, completed: 100 }, {
      writer: "b",
      n: 100,
      completed: 100,
    }]);
    const epochs = await history.sql("SELECT count(*) AS n FROM epochs");
    assert.equal(epochs[0].n, 200 * 2 * 2);
    const summaries = await history.sql("SELECT count(DISTINCT run_id) AS n FROM run_metrics");
    assert.equal(summaries[0].n, 200);
    await history.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("History waits while another process has the file open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "history_lock_" });
  try {
    const path = join(dir, "history.duckdb");
    const history = await History.open(path);
    const holder = await holdFile(path, 1500);
    const started = performance.now();
    await history.createRun(makeRun("after-wait"));
    assert.ok(
      performance.now() - started > 500,
      "createRun() returned before the other process closed the file",
    );
    assert.equal((await holder.status).code, 0);
    assert.equal((await history.getRun("after-wait")).run.id, "after-wait");
    await history.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("History reports a lock held past its timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "history_lock_" });
  try {
    const path = join(dir, "history.duckdb");
    await (await History.open(path)).close();
    const holder = await holdFile(path, 3000);
    try {
      const error = await History.open(path, { lockTimeoutMs: 300 }).then(() => undefined, (error) => error);
      assert.ok(error instanceof HistoryError);
      assert.match(error.message, /stayed locked by another process for 300 ms/);
      assert.match(error.message, /history\.duckdb/);
    } finally {
      await holder.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("History objects on one file in one process take turns", async () => {
  const dir = await Deno.makeTempDir({ prefix: "history_same_process_" });
  try {
    const path = join(dir, "history.duckdb");
    const [first, second] = await Promise.all([History.open(path), History.open(path)]);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? first : second).createRun(makeRun(`run-${i}`))),
    );
    assert.equal((await first.listRuns()).runs.length, 20);
    await Promise.all([first.close(), second.close()]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
