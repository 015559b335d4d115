/**
 * The HF Jobs backend against the local mock Hub over 127.0.0.1. The mock's job
 * runner really runs python/train.py with the project's Python environment, so
 * staging, launch, live events, artifact pushes, download, evaluation and history
 * all run for real. Fault cases use scripted jobs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { uploadFiles } from "@huggingface/hub";
import type { EpochEvent, TrainEvent } from "../lib/events.ts";
import { History } from "../lib/history.ts";
import { attach } from "../lib/jobs_backend.ts";
import { ensurePythonEnv } from "../lib/python_env.ts";
import { readResults } from "../lib/results.ts";
import { train } from "../lib/train.ts";
import type { TrainOptions } from "../lib/train_options.ts";
import { DATASET, tempDir } from "./helpers.ts";
import { MockHub, type MockHubOptions } from "./hub_mock/server.ts";
import { processJobRunner, scriptedJobRunner } from "./hub_mock/runner.ts";

Deno.env.set("TRAINBOOK_JOBS_POLL_MS", "300");

async function startMock(options: MockHubOptions = {}): Promise<MockHub> {
  const env = await ensurePythonEnv();
  return await MockHub.start({
    jobRunner: processJobRunner({ python: env.python, extraEnv: env.env }),
    ...options,
  });
}

function jobOptions(mock: MockHub, runsDir: string, extra: TrainOptions = {}): TrainOptions {
  return {
    backend: "hf-jobs",
    endpoint: mock.url,
    token: mock.token,
    flavor: "cpu-basic",
    timeout: 900,
    epochs: 2,
    imgsz: 64,
    batch: 16,
    workers: 0,
    pushEvery: 1,
    runsDir,
    datasetRepo: "trainbook-tester/thermal-dogs-and-people",
    overrides: { nbs: 16, warmup_epochs: 1 },
    ...extra,
  };
}

/** Lines a scripted job prints: the same event lines train.py prints. */
function scriptedEpochs(epochs: number): string[] {
  const lines = ["===== Job started at 2026-12-04 20:00:00 =====", "downloading the dataset"];
  lines.push(
    `TRAINBOOK_EVENT ${
      JSON.stringify({
        type: "start",
        epochs,
        model: "yolo11n.yaml",
        device: "cpu",
        versions: { python: "3.12.1", torch: "2.14.1", ultralytics: "8.4.31" },
        time: "2026-12-04T20:00:01Z",
      })
    }`,
  );
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const metrics = {
      "train/box_loss": 2 - epoch / 10,
      "metrics/mAP50(B)": epoch / 10,
      "metrics/mAP50-95(B)": epoch / 20,
    };
    lines.push(
      `TRAINBOOK_EVENT ${
        JSON.stringify({
          type: "epoch",
          epoch,
          epochs,
          metrics,
          elapsedSeconds: epoch,
          etaSeconds: epochs - epoch,
          time: "2026-12-04T20:00:02Z",
        })
      }`,
    );
  }
  return lines;
}

async function collect(run: { events(): AsyncGenerator<TrainEvent> }): Promise<TrainEvent[]> {
  const events: TrainEvent[] = [];
  for await (const event of run.events()) events.push(event);
  return events;
}

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) hits.push(...await filesContaining(path, needle));
    else if (entry.isFile) {
      const bytes = await Deno.readFile(path);
      if (new TextDecoder("latin1").decode(bytes).includes(needle)) hits.push(path);
    }
  }
  return hits;
}

Deno.test("train() on HF Jobs runs the real trainer through the mock", async (t) => {
  await using mock = await startMock();
  await using temp = await tempDir("jobs");
  const run = await train(DATASET, jobOptions(mock, temp.path));
  const events = await collect(run);
  const result = await run.done;
  assert.equal(result.status, "completed", `${result.message}\n${result.logTail.join("\n")}`);

  await t.step("status stages and live epochs arrive from the log stream", () => {
    const stages = events.filter((event) => event.type === "status").map((event) =>
      event.stage ?? event.status
    );
    assert.ok(stages.includes("RUNNING"), `stages: ${stages}`);
    assert.equal(stages.at(-1), "completed");
    const epochs = events.filter((event): event is EpochEvent => event.type === "epoch").map((event) =>
      event.epoch
    );
    assert.deepEqual(epochs, [1, 2]);
    assert.ok(events.some((event) => event.type === "push" && event.final), "no final push event");
    assert.ok(
      !events.some((event) => event.type === "log" && event.line.startsWith("=====")),
      "platform lines leaked",
    );
  });

  await t.step("dashboard URL is built from the job owner", () => {
    const job = mock.jobs()[0];
    assert.equal(run.info.dashboard, `${mock.url}/jobs/${job.owner.name}/${job.id}`);
  });

  await t.step("artifacts are downloaded and verified", async () => {
    for (const file of ["weights/best.pt", "weights/last.pt", "results.csv", "results.png", "args.yaml"]) {
      assert.ok((await Deno.stat(join(run.dir, file))).size > 0, `${file} missing`);
    }
    const best = await Deno.readFile(join(run.dir, "weights", "best.pt"));
    assert.deepEqual([...best.slice(0, 2)], [0x50, 0x4b], "best.pt is not a zip checkpoint");
    const artifacts = JSON.parse(await Deno.readTextFile(join(run.dir, "artifacts.json")));
    assert.equal(artifacts.length, 5);
    const partial = (await filesContaining(run.dir, "")).filter((path) => path.endsWith(".partial"));
    assert.deepEqual(partial, []);
  });

  await t.step("the local test split is evaluated and everything recorded", async () => {
    const metrics = JSON.parse(await Deno.readTextFile(join(run.dir, "test_metrics.json")));
    assert.deepEqual(metrics.classes.map((c: { name: string }) => c.name), ["dog", "person"]);
    const history = await History.open(join(temp.path, "history.duckdb"));
    try {
      const details = await history.getRun(run.id);
      assert.equal(details.run.backend, "hf-jobs");
      assert.equal(details.run.status, "completed");
      assert.equal(details.run.jobId, mock.jobs()[0].id);
      const table = await readResults(join(run.dir, "results.csv"));
      assert.equal(details.epochs.length, table.rows.length);
      assert.equal(details.testMetrics.length, 1);
    } finally {
      await history.close();
    }
  });

  await t.step("the token appears nowhere it must not", async () => {
    const job = mock.jobs()[0];
    assert.ok(!JSON.stringify(job.environment).includes(mock.token), "token in the job's plain environment");
    assert.deepEqual(job.secrets, ["HF_TOKEN"]);
    assert.deepEqual(
      await filesContaining(temp.path, mock.token),
      [],
      "token written to the run folder or history",
    );
    assert.ok(!JSON.stringify(events).includes(mock.token), "token in the run's events");
    assert.ok(!mock.jobLogs(job.id).join("\n").includes(mock.token), "token in the job's log");
  });
});

Deno.test("a dropped log stream reconnects without repeating lines", async () => {
  await using mock = await MockHub.start({
    jobRunner: scriptedJobRunner(scriptedEpochs(6), { delayMs: 300 }),
    jobFaults: { dropLogStream: { afterLines: 4, times: 2 } },
  });
  await using temp = await tempDir("jobs");
  const run = await train(DATASET, jobOptions(mock, temp.path, { epochs: 6 }));
  const events = await collect(run);
  const epochs = events.filter((event): event is EpochEvent => event.type === "epoch").map((event) =>
    event.epoch
  );
  assert.deepEqual(epochs, [1, 2, 3, 4, 5, 6]);
  assert.equal((await run.done).status, "completed");
  assert.ok(mock.requestCount("job-logs") >= 3, "the stream was not reopened");
});

Deno.test("a job that ends in ERROR keeps its message, log tail and pushed artifacts", async () => {
  const repo = "trainbook-tester/partial-model";
  const mock: MockHub = await MockHub.start({
    jobRunner: async (job, signal) => {
      // The job pushes results.csv for its first epoch, then fails.
      await uploadFiles({
        repo: { type: "model", name: repo },
        files: [{
          path: "results.csv",
          content: new Blob(["epoch,train/box_loss,metrics/mAP50(B)\n1,1.5,0.1\n"]),
        }],
        hubUrl: mock.url,
        accessToken: job.env.HF_TOKEN,
        useXet: false,
      });
      return scriptedJobRunner([...scriptedEpochs(1), "RuntimeError: CUDA out of memory"], { exitCode: 1 })(
        job,
        signal,
      );
    },
  });
  try {
    await using temp = await tempDir("jobs");
    const run = await train(DATASET, jobOptions(mock, temp.path, { epochs: 3, modelRepo: repo }));
    const result = await run.done;
    assert.equal(result.status, "failed");
    assert.match(result.message ?? "", /ERROR/);
    assert.match(result.message ?? "", /CUDA out of memory/);
    assert.ok(
      (await Deno.stat(join(run.dir, "results.csv"))).size > 0,
      "the pushed results.csv was not downloaded",
    );
    const history = await History.open(join(temp.path, "history.duckdb"));
    try {
      const details = await history.getRun(run.id);
      assert.equal(details.run.status, "failed");
      assert.equal(details.epochs.length, 1);
    } finally {
      await history.close();
    }
  } finally {
    await mock.close();
  }
});

Deno.test("a job that times out is marked failed with the timeout", async () => {
  await using mock = await MockHub.start({
    jobRunner: scriptedJobRunner(scriptedEpochs(50), { delayMs: 200 }),
    jobFaults: { timeoutAfterMs: 800 },
  });
  await using temp = await tempDir("jobs");
  const run = await train(DATASET, jobOptions(mock, temp.path, { epochs: 50 }));
  const result = await run.done;
  assert.equal(result.status, "failed");
  assert.match(result.message ?? "", /Job timeout/);
  assert.equal(mock.jobs()[0].timeoutSeconds, 900);
});

Deno.test("run.cancel() cancels the job", async () => {
  await using mock = await MockHub.start({
    jobRunner: scriptedJobRunner(scriptedEpochs(200), { delayMs: 100 }),
  });
  await using temp = await tempDir("jobs");
  const run = await train(DATASET, jobOptions(mock, temp.path, { epochs: 200 }));
  for await (const event of run.events()) if (event.type === "epoch") break;
  const result = await run.cancel();
  assert.equal(result.status, "cancelled");
  assert.equal(mock.jobs()[0].status.stage, "CANCELED");
});

Deno.test("slow scheduling and 429s on inspect are waited out", async () => {
  await using mock = await MockHub.start({
    jobRunner: scriptedJobRunner(scriptedEpochs(2)),
    jobFaults: { schedulingMs: 6000 },
  });
  mock.failNext("job-inspect", 1, { status: 429, retryAfterSeconds: 1 });
  mock.failNext("job-inspect", 1, { status: 500 });
  await using temp = await tempDir("jobs");
  const run = await train(DATASET, jobOptions(mock, temp.path));
  const events = await collect(run);
  const stages = events.filter((event) => event.type === "status").map((event) => event.stage);
  assert.ok(stages.includes("SCHEDULING"), `stages: ${stages}`);
  assert.equal((await run.done).status, "completed");
});

Deno.test("jobs in an organisation namespace are followed through their owner", async () => {
  await using mock = await MockHub.start({
    jobRunner: scriptedJobRunner(scriptedEpochs(2)),
    jobOwnerOrg: "trainbook-org",
  });
  await using temp = await tempDir("jobs");
  const run = await train(DATASET, jobOptions(mock, temp.path, { namespace: "trainbook-org" }));
  assert.equal((await run.done).status, "completed");
  assert.match(run.info.dashboard, /\/jobs\/trainbook-org\//);
});

Deno.test("an unknown flavor lists the valid ones and says there is no TPU", async () => {
  await using mock = await MockHub.start();
  await using temp = await tempDir("jobs");
  await assert.rejects(train(DATASET, jobOptions(mock, temp.path, { flavor: "tpu-v5" })), (error: Error) => {
    assert.match(error.message, /TPU/);
    assert.match(error.message, /cpu-basic/);
    return true;
  });
  assert.deepEqual(mock.jobs(), []);
});

Deno.test("attach() resumes watching a job after the kernel restarts", async () => {
  await using mock = await MockHub.start({
    jobRunner: scriptedJobRunner(scriptedEpochs(8), { delayMs: 250 }),
  });
  await using temp = await tempDir("jobs");
  // A separate process starts the run and exits after the first epoch, as a kernel restart would.
  const script = join(temp.path, "start.ts");
  await Deno.writeTextFile(
    script,
    `import { train } from ${JSON.stringify(new URL("../lib/train.ts", import.meta.url).href)};
const run = await train(${JSON.stringify(DATASET)}, ${
      JSON.stringify(jobOptions(mock, temp.path, { epochs: 8 }))
    });
for await (const event of run.events()) if (event.type === "epoch") { console.log(run.id); Deno.exit(0); }
`,
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "--config", new URL("../deno.json", import.meta.url).pathname, script],
    env: { TRAINBOOK_JOBS_POLL_MS: "300" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const runId = new TextDecoder().decode(output.stdout).trim();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  assert.ok(runId, "the starting process printed no run id");

  const run = await attach(runId, { runsDir: temp.path, endpoint: mock.url, token: mock.token });
  const events = await collect(run);
  const epochs = events.filter((event): event is EpochEvent => event.type === "epoch").map((event) =>
    event.epoch
  );
  assert.deepEqual(epochs, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal((await run.done).status, "completed");
});
