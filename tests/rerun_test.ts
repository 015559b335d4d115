/** rerun(): repeats a recorded run with the same dataset, model and arguments. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatasetError, NotFoundError } from "../lib/errors.ts";
import { History } from "../lib/history.ts";
import { rerun } from "../lib/rerun.ts";
import { train } from "../lib/train.ts";
import { DATASET, tempDir } from "./helpers.ts";

Deno.test("rerun() repeats a run, applies overrides and guards the dataset", async (t) => {
  await using temp = await tempDir("rerun");
  const dataset = join(temp.path, "dataset");
  await new Deno.Command("cp", { args: ["-r", DATASET, dataset] }).output();
  const runsDir = join(temp.path, "runs");
  const first = await train(dataset, {
    epochs: 1,
    imgsz: 64,
    device: "cpu",
    runsDir,
    report: false,
    overrides: { nbs: 16, mosaic: 0.5 },
  });
  assert.equal((await first.done).status, "completed");

  await t.step("same settings with one changed", async () => {
    const second = await rerun(first.id, { runsDir, imgsz: 96, report: false });
    assert.notEqual(second.id, first.id);
    assert.equal((await second.done).status, "completed");
    const history = await History.open(join(runsDir, "history.duckdb"));
    try {
      const a = (await history.getRun(first.id)).run;
      const b = (await history.getRun(second.id)).run;
      assert.equal(b.model, a.model);
      assert.equal(b.datasetFingerprint, a.datasetFingerprint);
      assert.equal(b.args.epochs, 1);
      assert.equal(b.args.imgsz, 96);
      assert.deepEqual(b.args.overrides, { nbs: 16, mosaic: 0.5 });
    } finally {
      await history.close();
    }
  });

  await t.step("a changed dataset is refused unless allowed", async () => {
    const label = join(dataset, "train", "labels");
    const [file] = [...Deno.readDirSync(label)].filter((entry) => entry.name.endsWith(".txt"));
    await Deno.writeTextFile(join(label, file.name), "0 0.5 0.5 0.1 0.1\n", { append: true });
    await assert.rejects(rerun(first.id, { runsDir }), (error: unknown) => {
      assert.ok(error instanceof DatasetError);
      assert.match(error.message, /dataset changed/);
      assert.match(error.message, /allowChangedDataset/);
      return true;
    });
    const allowed = await rerun(first.id, { runsDir, allowChangedDataset: true, report: false });
    assert.equal((await allowed.cancel()).status, "cancelled");
  });

  await t.step("an unknown run id is a NotFoundError", async () => {
    await assert.rejects(rerun("20990101-000000-000000", { runsDir }), NotFoundError);
  });
});
