import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { History } from "../lib/history.ts";

const WRITER = fileURLToPath(new URL("./testdata/history/writer.ts", import.meta.url));

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
