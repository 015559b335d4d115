/**
 * Writer process for the history concurrency test: records `count` runs, each
 * with two epochs, into the history at `path`, with ids prefixed by `name`.
 * Even runs are written with one operation per call, odd runs inside batch().
 * Usage: deno run -A writer.ts <path> <name> <count>
 */
import { History } from "../../../lib/history.ts";

const [path, name, count] = Deno.args;
const history = await History.open(path);

async function recordRun(target: History, i: number): Promise<void> {
  const id = `${name}-${String(i).padStart(3, "0")}`;
  await target.createRun({
    id,
    createdAt: new Date().toISOString(),
    backend: "local",
    status: "running",
    model: "yolo11n.yaml",
    args: { writer: name },
    versions: {},
    pid: Deno.pid,
    hostname: Deno.hostname(),
  });
  for (let epoch = 1; epoch <= 2; epoch++) {
    await target.recordEpoch(id, {
      epoch,
      metrics: { "metrics/mAP50-95(B)": i / 1000 + epoch, "train/box_loss": 1 / epoch },
    });
  }
  await target.updateRun(id, { status: "completed", finishedAt: new Date().toISOString() });
}

for (let i = 0; i < Number(count); i++) {
  if (i % 2 === 0) await recordRun(history, i);
  else await history.batch((batch) => recordRun(batch, i));
}
await history.close();
