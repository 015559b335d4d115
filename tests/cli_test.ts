/**
 * The `deno task` commands added for the Hub and the history, run as
 * subprocesses (`deno run lib/cli.ts <command>`) against the local mock Hub on
 * 127.0.0.1. HF Jobs runs are created in this process with scripted jobs, so no
 * trainer runs. Every call also checks that the access token never appears in
 * the output.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { uploadFiles } from "@huggingface/hub";
import { History } from "../lib/history.ts";
import { REPO_ROOT } from "../lib/paths.ts";
import { train } from "../lib/train.ts";
import type { TrainingRun } from "../lib/run.ts";
import { DATASET, tempDir } from "./helpers.ts";
import { MockHub } from "./hub_mock/server.ts";
import { scriptedJobRunner } from "./hub_mock/runner.ts";

Deno.env.set("TRAINBOOK_JOBS_POLL_MS", "300");

const EXAMPLE_RUNS = join(REPO_ROOT, "notebooks", "example_runs");
const COMMANDS = [
  "stage",
  "status",
  "logs",
  "cancel",
  "fetch",
  "hardware",
  "login",
  "compare",
  "report",
  "import",
];

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment of the subprocesses: the given variables plus PATH, HOME and the Deno cache, nothing else. */
function cliEnv(vars: Record<string, string>): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "/tmp";
  const denoDir = Deno.env.get("DENO_DIR") ??
    join(Deno.env.get("XDG_CACHE_HOME") ?? join(home, ".cache"), "deno");
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    DENO_DIR: denoDir,
    NO_COLOR: "1",
    ...vars,
  };
}

/** Runs `lib/cli.ts` with `args` and checks that `secret` is in none of its output. */
async function cli(
  args: string[],
  env: Record<string, string>,
  options: { stdin?: string; secret?: string } = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "lib/cli.ts", ...args],
    cwd: REPO_ROOT,
    env: cliEnv(env),
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const result = {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
  if (options.secret) {
    assert.ok(!result.stdout.includes(options.secret), `token printed by ${args.join(" ")}`);
    assert.ok(!result.stderr.includes(options.secret), `token in the errors of ${args.join(" ")}`);
  }
  return result;
}

function describe(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** Lines a scripted job prints: a platform line, plain output, and trainer event lines. */
function scriptedLog(epochs: number): string[] {
  const event = (value: Record<string, unknown>) => `TRAINBOOK_EVENT ${JSON.stringify(value)}`;
  const lines = ["===== Job started at 2026-12-04 20:00:00 =====", "downloading the dataset"];
  lines.push(event({
    type: "start",
    epochs,
    model: "yolo11n.yaml",
    device: "cpu",
    versions: { python: "3.12.1", torch: "2.14.1", ultralytics: "8.4.31" },
    time: "2026-12-04T20:00:01Z",
  }));
  for (let epoch = 1; epoch <= epochs; epoch++) {
    lines.push(event({
      type: "epoch",
      epoch,
      epochs,
      metrics: { "train/box_loss": 2 - epoch / 100, "metrics/mAP50-95(B)": epoch / 400 },
      elapsedSeconds: epoch,
      etaSeconds: epochs - epoch,
      time: "2026-12-04T20:00:02Z",
    }));
  }
  return lines;
}

/** Starts an HF Jobs run in this process and returns it once its first epoch has arrived. */
async function startJobRun(mock: MockHub, runsDir: string, epochs: number): Promise<TrainingRun> {
  const run = await train(DATASET, {
    backend: "hf-jobs",
    endpoint: mock.url,
    token: mock.token,
    runsDir,
    datasetRepo: "trainbook-tester/thermal",
    flavor: "cpu-basic",
    epochs,
  });
  // The run is in the history once the job has been created, before its first epoch.
  for await (const event of run.events()) if (event.type === "epoch") break;
  return run;
}

Deno.test("cli help and missing arguments", async (t) => {
  const env = { TRAINBOOK_HF_ENDPOINT: "http://127.0.0.1:9" };

  await t.step("every command has help with defaults", async () => {
    const results = await Promise.all(COMMANDS.map((command) => cli([command, "--help"], env)));
    for (const [i, result] of results.entries()) {
      assert.equal(result.code, 0, `${COMMANDS[i]} --help: ${describe(result)}`);
      assert.match(result.stdout, new RegExp(`^Usage: deno task ${COMMANDS[i]}`), COMMANDS[i]);
      assert.match(result.stdout, /\[[^\]]+\]/, `${COMMANDS[i]} --help shows no default in [brackets]`);
      assert.match(result.stdout, /--json/, `${COMMANDS[i]} --help lacks --json`);
    }
  });

  await t.step("help names units", async () => {
    const logs = await cli(["logs", "--help"], env);
    assert.match(logs.stdout, /milliseconds/);
    const hardware = await cli(["hardware", "--help"], env);
    assert.match(hardware.stdout, /US dollars per hour/);
    const stage = await cli(["stage", "--help"], env);
    assert.match(stage.stdout, /files and bytes/);
  });

  await t.step("the overview lists the new commands", async () => {
    const overview = await cli(["--help"], env);
    for (const command of COMMANDS) assert.match(overview.stdout, new RegExp(`^  ${command}$`, "m"));
  });

  await t.step("missing arguments exit with 2", async () => {
    const needArgument = COMMANDS.filter((command) => !["hardware", "login"].includes(command));
    const results = await Promise.all(needArgument.map((command) => cli([command], env)));
    for (const [i, result] of results.entries()) {
      assert.equal(result.code, 2, `${needArgument[i]} without arguments: ${describe(result)}`);
      assert.match(result.stderr, /^error: pass /, needArgument[i]);
      assert.doesNotMatch(result.stderr, /\n\s+at /, `${needArgument[i]} printed a stack trace`);
    }
  });

  await t.step("an unknown option exits with 2", async () => {
    const result = await cli(["status", "--no-such-option"], env);
    assert.equal(result.code, 2, describe(result));
    assert.match(result.stderr, /^error: Unknown option .--no-such-option./);
    assert.match(result.stderr, /deno task status --help/);
  });
});

Deno.test("cli Hub commands against the mock Hub", async (t) => {
  await using mock = await MockHub.start({ jobRunner: scriptedJobRunner(scriptedLog(2)) });
  await using temp = await tempDir("cli");
  const runsDir = join(temp.path, "runs");
  const env = {
    TRAINBOOK_RUNS_DIR: runsDir,
    TRAINBOOK_HF_ENDPOINT: mock.url,
    HF_TOKEN: mock.token,
    HF_HOME: join(temp.path, "hf"),
    XDG_CACHE_HOME: join(temp.path, "cache"),
    TRAINBOOK_JOBS_POLL_MS: "300",
  };
  const run = (args: string[], extra: { stdin?: string; env?: Record<string, string> } = {}) =>
    cli(args, { ...env, ...extra.env }, { stdin: extra.stdin, secret: mock.token });

  const completed = await startJobRun(mock, runsDir, 2);
  assert.equal((await completed.done).status, "completed");

  await t.step("hardware lists flavors with prices", async () => {
    const plain = await run(["hardware"]);
    assert.equal(plain.code, 0, describe(plain));
    assert.match(plain.stdout, /USD\/hour/);
    assert.match(plain.stdout, /^cpu-basic /m);
    const json = await run(["hardware", "--json"]);
    const flavors = JSON.parse(json.stdout);
    assert.ok(flavors.some((flavor: { name: string }) => flavor.name === "cpu-basic"));
    assert.equal(typeof flavors[0].pricePerHour, "number");
  });

  await t.step("login saves a valid token and rejects others", async () => {
    const tokenFile = join(temp.path, "hf", "token");
    const rejected = await run(["login", "--token-stdin"], { stdin: "hf_NotTheMockToken12345\n" });
    assert.equal(rejected.code, 2, describe(rejected));
    assert.match(rejected.stderr, /rejected the access token/);
    await assert.rejects(Deno.stat(tokenFile), Deno.errors.NotFound);

    const missing = await run(["login"], { env: { HF_TOKEN: "" } });
    assert.equal(missing.code, 2, describe(missing));
    assert.match(missing.stderr, /--token-stdin/);

    const saved = await run(["login", "--token-stdin"], { stdin: `${mock.token}\n`, env: { HF_TOKEN: "" } });
    assert.equal(saved.code, 0, describe(saved));
    assert.match(saved.stdout, /as trainbook-tester/);
    assert.equal(await Deno.readTextFile(tokenFile), mock.token);
    assert.equal((await Deno.stat(tokenFile)).mode! & 0o777, 0o600);

    const fromEnv = await run(["login", "--json"]);
    assert.equal(fromEnv.code, 0, describe(fromEnv));
    assert.equal(JSON.parse(fromEnv.stdout).name, "trainbook-tester");
  });

  await t.step("stage uploads in commits and then nothing", async () => {
    const repo = "trainbook-tester/cli-stage";
    const first = await run(["stage", DATASET, "--repo", repo]);
    assert.equal(first.code, 0, describe(first));
    assert.match(first.stdout, /^· commit 1\/\d+: \d+ files, [\d.]+ [kM]?B/m);
    assert.match(first.stdout, new RegExp(`Staged ${repo}: ${mock.url}/datasets/${repo}`));
    assert.doesNotMatch(first.stdout, /\r/, "progress rewrites a line in plain output");
    assert.equal(mock.repo(repo)?.private, true);

    const again = await run(["stage", DATASET, "--repo", repo, "--json"]);
    assert.equal(again.code, 0, describe(again));
    const result = JSON.parse(again.stdout.trim().split("\n").at(-1)!);
    assert.equal(result.type, "result");
    assert.equal(result.filesUploaded, 0);
    assert.equal(result.commits, 0);

    const missing = await run(["stage", join(temp.path, "no-such-dataset"), "--repo", repo]);
    assert.equal(missing.code, 2, describe(missing));
    assert.match(missing.stderr, /^error: .*not found/);
  });

  await t.step("status shows the job stage and dashboard", async () => {
    const plain = await run(["status", completed.id]);
    assert.equal(plain.code, 0, describe(plain));
    assert.match(plain.stdout, /^status +completed/m);
    assert.match(plain.stdout, /^job +\S+ COMPLETED/m);
    assert.match(plain.stdout, /^epoch +2\/2/m);
    assert.match(plain.stdout, /^elapsed +\d+s/m);
    assert.ok(plain.stdout.includes(completed.info.dashboard), plain.stdout);

    const json = JSON.parse((await run(["status", completed.id, "--json"])).stdout);
    assert.equal(json.status, "completed");
    assert.equal(json.job.stage, "COMPLETED");
    assert.equal(json.job.owner, "trainbook-tester");
    assert.equal(typeof json.elapsedSeconds, "number");
  });

  await t.step("logs formats trainer events and drops platform lines", async () => {
    const plain = await run(["logs", completed.id]);
    assert.equal(plain.code, 0, describe(plain));
    assert.match(plain.stdout, /^epoch 1\/2 .*mAP50-95 0\.003/m);
    assert.match(plain.stdout, /^epoch 2\/2 /m);
    assert.match(plain.stdout, /^downloading the dataset$/m);
    assert.doesNotMatch(plain.stdout, /=====/);
    assert.doesNotMatch(plain.stdout, /TRAINBOOK_EVENT/);

    const json = await run(["logs", completed.id, "--json"]);
    const events = json.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(events.filter((event) => event.type === "epoch").map((event) => event.epoch), [1, 2]);
    assert.ok(events.some((event) => event.type === "log" && event.line === "downloading the dataset"));
  });

  await t.step("logs --follow prints until the job ends", async () => {
    mock.jobRunner = scriptedJobRunner(scriptedLog(6), { delayMs: 250 });
    const running = await startJobRun(mock, runsDir, 6);
    const followed = await run(["logs", running.id, "--follow"]);
    assert.equal(followed.code, 0, describe(followed));
    const epochs = [...followed.stdout.matchAll(/^epoch (\d)\/6/gm)].map((match) => Number(match[1]));
    assert.deepEqual(epochs, [1, 2, 3, 4, 5, 6]);
    assert.match(followed.stdout, /ended: COMPLETED/);
    assert.equal((await running.done).status, "completed");
  });

  await t.step("fetch downloads, verifies and reports", async () => {
    const history = await History.open(join(runsDir, "history.duckdb"));
    const modelRepo = String((await history.getRun(completed.id)).run.args.modelRepo);
    await history.close();
    const checkpoint = new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...new Array(60).fill(7)]);
    await uploadFiles({
      repo: { type: "model", name: modelRepo },
      files: [
        { path: "weights/best.pt", content: new Blob([checkpoint]) },
        {
          path: "results.csv",
          content: new Blob([await Deno.readFile(join(EXAMPLE_RUNS, "yolov8n-2024", "results.csv"))]),
        },
      ],
      hubUrl: mock.url,
      accessToken: mock.token,
      useXet: false,
    });

    const fetched = await run(["fetch", completed.id]);
    assert.equal(fetched.code, 0, describe(fetched));
    assert.match(fetched.stdout, /Verified 2 files/);
    assert.deepEqual(await Deno.readFile(join(completed.dir, "weights", "best.pt")), checkpoint);
    assert.ok((await Deno.stat(join(completed.dir, "report.html"))).size > 0);
    const after = await History.open(join(runsDir, "history.duckdb"));
    const details = await after.getRun(completed.id);
    await after.close();
    assert.ok(details.artifacts.some((artifact) => artifact.path === "weights/best.pt"));
    assert.ok(details.epochs.length > 2, "epochs of the fetched results.csv were not recorded");
  });

  await t.step("cancel stops a running job", async () => {
    mock.jobRunner = scriptedJobRunner(scriptedLog(200), { delayMs: 100 });
    const slow = await startJobRun(mock, runsDir, 200);
    const cancelled = await run(["cancel", slow.id]);
    assert.equal(cancelled.code, 0, describe(cancelled));
    assert.match(cancelled.stdout, /^Cancelled job \S+ of run /);
    assert.equal(mock.jobs().at(-1)!.status.stage, "CANCELED");
    assert.equal((await slow.done).status, "cancelled");

    const again = await run(["cancel", slow.id, "--json"]);
    assert.equal(again.code, 0, describe(again));
    assert.deepEqual(JSON.parse(again.stdout).cancelled, false);
    const status = JSON.parse((await run(["status", slow.id, "--json"])).stdout);
    assert.equal(status.status, "cancelled");
    assert.equal(status.job.stage, "CANCELED");
  });

  await t.step("local runs get logs from the history and no Hub actions", async () => {
    const history = await History.open(join(runsDir, "history.duckdb"));
    await history.createRun({
      id: "local-cli-run",
      createdAt: new Date().toISOString(),
      backend: "local",
      status: "completed",
      model: "yolo11n.yaml",
      args: {},
      versions: {},
    });
    await history.recordEvent("local-cli-run", { type: "start", message: "training yolo11n.yaml on cpu" });
    await history.close();

    const logs = await run(["logs", "local-cli-run"]);
    assert.equal(logs.code, 0, describe(logs));
    assert.match(logs.stdout, /start +training yolo11n\.yaml on cpu/);
    const cancel = await run(["cancel", "local-cli-run"]);
    assert.equal(cancel.code, 2, describe(cancel));
    assert.match(cancel.stderr, /^error: .*Ctrl-C.*run\.cancel\(\)/);
    const fetch = await run(["fetch", "local-cli-run"]);
    assert.equal(fetch.code, 2, describe(fetch));
    const status = await run(["status", "local-cli-run"]);
    assert.equal(status.code, 0, describe(status));
    assert.match(status.stdout, /^backend +local/m);
  });

  await t.step("unknown run ids exit with 2", async () => {
    for (const command of ["status", "logs", "cancel", "fetch"]) {
      const result = await run([command, "no-such-run"]);
      assert.equal(result.code, 2, `${command}: ${describe(result)}`);
      assert.match(result.stderr, /^error: Run "no-such-run" not found/, command);
      assert.equal(result.stderr.trim().split("\n").length, 1, `${command} printed more than one line`);
    }
  });

  await t.step("a failed Hub request exits with 1", async () => {
    mock.failNext("job-inspect", 1, { status: 403 });
    const result = await run(["status", completed.id]);
    assert.equal(result.code, 1, describe(result));
    assert.match(result.stdout, /^status +completed/m);
    assert.match(result.stderr, /^error: Cannot inspect the job: access to job \S+ is forbidden \(403\)/);
  });
});

Deno.test("cli history commands on example runs", async (t) => {
  await using temp = await tempDir("cli-history");
  const env = { TRAINBOOK_RUNS_DIR: join(temp.path, "runs"), XDG_CACHE_HOME: join(temp.path, "cache") };
  const folders = ["yolo11n-2026", "yolov5s-2022", "yolov8n-2024"].map((name) => join(EXAMPLE_RUNS, name));
  const ids: string[] = [];

  await t.step("import stores each folder once", async () => {
    const first = await cli(["import", ...folders], env);
    assert.equal(first.code, 0, describe(first));
    const lines = first.stdout.trim().split("\n").filter((line) => !line.startsWith("  "));
    assert.equal(lines.length, 3, first.stdout);
    assert.match(lines[1], /^imported .*yolov5s-2022 as \S+: yolov5, detect, \d+ epochs, \w+$/);

    const again = await cli(["import", ...folders, "--json"], env);
    assert.equal(again.code, 0, describe(again));
    const results = again.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(results.map((result) => result.imported), [false, false, false]);
    ids.push(...results.map((result) => result.id));

    const plainAgain = await cli(["import", folders[0]], env);
    assert.match(plainAgain.stdout, /^already imported /);
  });

  await t.step("import reports bad folders and goes on", async () => {
    const missing = join(temp.path, "no-such-run");
    const result = await cli(["import", missing, folders[0]], env);
    assert.equal(result.code, 2, describe(result));
    assert.match(result.stderr, /^error: .*no-such-run/);
    assert.match(result.stdout, /^already imported /);

    const file = await cli(["import", join(EXAMPLE_RUNS, "README.md")], env);
    assert.equal(file.code, 2, describe(file));
    assert.match(file.stderr, /^error: .*README\.md: Not a run folder/);
  });

  await t.step("compare prints a table and writes a chart", async () => {
    const chart = join(temp.path, "charts", "compare.svg");
    const result = await cli(["compare", ids[0], ids[2], "--chart", chart], env);
    assert.equal(result.code, 0, describe(result));
    assert.ok(result.stdout.includes(ids[0]), result.stdout);
    assert.ok(result.stdout.includes(ids[2]), result.stdout);
    assert.match(result.stdout, /best metrics\/mAP50-95\(B\)/);
    const svg = await Deno.readTextFile(chart);
    assert.match(svg, /^<svg/);
    assert.equal(svg.match(/xmlns="http:\/\/www.w3.org\/2000\/svg"/g)?.length, 1);

    const json = JSON.parse((await cli(["compare", ...ids, "--json"], env)).stdout);
    assert.deepEqual(json.runs.map((run: { id: string }) => run.id), ids);

    const unknown = await cli(["compare", ids[0], "no-such-run"], env);
    assert.equal(unknown.code, 2, describe(unknown));
    assert.match(unknown.stderr, /^error: Run "no-such-run" not found/);
  });

  await t.step("report rewrites report.html and copies it", async () => {
    // A copy, because the report is written into the run folder.
    const copy = join(temp.path, "copy", basename(folders[2]));
    await Deno.mkdir(copy, { recursive: true });
    for (const name of ["results.csv", "args.yaml"]) {
      await Deno.copyFile(join(folders[2], name), join(copy, name));
    }
    const imported = JSON.parse((await cli(["import", copy, "--json"], env)).stdout);

    const out = join(temp.path, "out", "report.html");
    const result = await cli(["report", imported.id, "--out", out], env);
    assert.equal(result.code, 0, describe(result));
    assert.ok(result.stdout.includes(join(copy, "report.html")), result.stdout);
    assert.match(await Deno.readTextFile(out), /<html/i);

    const byFolder = JSON.parse((await cli(["report", copy, "--json"], env)).stdout);
    assert.equal(byFolder.report, join(copy, "report.html"));
    assert.ok(byFolder.charts.length > 0);

    const unknown = await cli(["report", "no-such-run"], env);
    assert.equal(unknown.code, 2, describe(unknown));
    assert.match(unknown.stderr, /^error: Run "no-such-run" not found/);
  });
});
