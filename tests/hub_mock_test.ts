/**
 * Tests of the mock Hub driven by `@huggingface/hub` 2.17.5, and of the
 * retrying fetch and error mapping in lib/hub.ts against the mock's faults.
 */
import assert from "node:assert/strict";
import {
  cancelJob,
  commit,
  createRepo,
  downloadFile,
  fileDownloadInfo,
  getJob,
  listFiles,
  listJobHardware,
  listJobs,
  runJob,
  streamJobLogs,
  whoAmI,
} from "@huggingface/hub";
import { MockHub, scriptedJobRunner } from "./hub_mock/server.ts";
import { createHubFetch, hubConfig, type RetryEvent, toHubError, withHubErrors } from "../lib/hub.ts";
import { HubError } from "../lib/errors.ts";
import { gitBlobOid, sha256Hex } from "./hub_mock/repos.ts";
import { cacheDir } from "../lib/paths.ts";
import { join } from "node:path";

const PYTHON = Deno.env.get("TRAINBOOK_TEST_PYTHON") ?? "python3";

/** A Python with huggingface_hub: TRAINBOOK_TEST_PYTHON, else the managed environment, if either has it. */
function pythonWithHubClient(): string | undefined {
  const candidates = [Deno.env.get("TRAINBOOK_TEST_PYTHON")];
  try {
    for (const entry of Deno.readDirSync(join(cacheDir(), "python"))) {
      candidates.push(join(cacheDir(), "python", entry.name, "bin", "python"));
    }
  } catch {
    // No managed environment yet.
  }
  return candidates.find((python) => {
    if (!python) return false;
    try {
      return new Deno.Command(python, {
        args: ["-c", "import huggingface_hub"],
        stdout: "null",
        stderr: "null",
      })
        .outputSync().success;
    } catch {
      return false;
    }
  });
}

const HUB_CLIENT_PYTHON = pythonWithHubClient();

function params(hub: MockHub) {
  return { hubUrl: hub.url, accessToken: hub.token };
}

async function collectLogs(hub: MockHub, namespace: string, jobId: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const entry of streamJobLogs({ ...params(hub), namespace, jobId })) lines.push(entry.message);
  return lines;
}

Deno.test("MockHub binds 127.0.0.1 on a free port", async () => {
  await using hub = await MockHub.start();
  assert.match(hub.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(hub.token, /^hf_/);
});

Deno.test("whoami-v2 returns the user with the auth object", async () => {
  await using hub = await MockHub.start({ orgs: ["acme"] });
  const me = await whoAmI(params(hub));
  assert.equal(me.name, hub.user);
  assert.equal(me.type, "user");
  assert.equal(me.auth.accessToken?.role, "write");
  assert.ok(me.auth.accessToken?.createdAt instanceof Date);
  assert.deepEqual(me.type === "user" ? me.orgs.map((org) => org.name) : [], ["acme"]);
});

Deno.test("whoami-v2 rejects a wrong token with 401", async () => {
  await using hub = await MockHub.start();
  await assert.rejects(
    whoAmI({ hubUrl: hub.url, accessToken: "hf_wrongwrongwrongwrong" }),
    (error: { statusCode?: number; message: string }) =>
      error.statusCode === 401 && /Invalid credentials/.test(error.message),
  );
});

Deno.test("createRepo answers 409 when the repo exists", async () => {
  await using hub = await MockHub.start();
  const created = await createRepo({
    ...params(hub),
    repo: { type: "dataset", name: `${hub.user}/dogs` },
    private: true,
  });
  assert.equal(created.repoUrl, `${hub.url}/datasets/${hub.user}/dogs`);
  assert.equal(hub.repo(`${hub.user}/dogs`)?.private, true);
  await assert.rejects(
    createRepo({ ...params(hub), repo: { type: "dataset", name: `${hub.user}/dogs` } }),
    (error: { statusCode?: number }) => error.statusCode === 409,
  );
});

Deno.test("createRepo is forbidden in a foreign namespace", async () => {
  await using hub = await MockHub.start();
  await assert.rejects(
    createRepo({ ...params(hub), repo: { type: "dataset", name: "someone-else/dogs" } }),
    (error: { statusCode?: number }) => error.statusCode === 403,
  );
});

Deno.test("commit stores text inline and binary files through LFS", async () => {
  await using hub = await MockHub.start();
  const repo = { type: "dataset" as const, name: `${hub.user}/files` };
  await createRepo({ ...params(hub), repo });
  const text = new TextEncoder().encode("0 0.5 0.5 0.1 0.1\n");
  const binary = new Uint8Array(2048).map((_, i) => i % 256);

  const output = await commit({
    ...params(hub),
    repo,
    title: "Add files",
    useXet: false,
    operations: [
      { operation: "addOrUpdate", path: "labels/a.txt", content: new Blob([text]) },
      { operation: "addOrUpdate", path: "images/a.jpg", content: new Blob([binary]) },
    ],
  });

  const commits = hub.commits(repo.name);
  assert.equal(commits.length, 2);
  assert.equal(output?.commit.oid, commits[1].oid);
  assert.equal(hub.bytesReceived, text.byteLength + binary.byteLength);
  assert.equal(hub.requestCount("lfs-upload"), 1);

  const entries = [];
  for await (const entry of listFiles({ ...params(hub), repo, recursive: true })) entries.push(entry);
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  assert.equal(byPath.get("labels/a.txt")?.oid, gitBlobOid(text));
  assert.equal(byPath.get("labels/a.txt")?.lfs, undefined);
  assert.equal(byPath.get("images/a.jpg")?.lfs?.oid, sha256Hex(binary));
  assert.equal(byPath.get("images/a.jpg")?.size, 2048);
  assert.equal(byPath.get("images")?.type, "directory");
});

Deno.test("commit sends no LFS bytes for content the mock already has", async () => {
  await using hub = await MockHub.start();
  const repo = { type: "dataset" as const, name: `${hub.user}/dedupe` };
  await createRepo({ ...params(hub), repo });
  const binary = new Blob([new Uint8Array(1000)]);
  const upload = (path: string) =>
    commit({
      ...params(hub),
      repo,
      title: path,
      useXet: false,
      operations: [{ operation: "addOrUpdate", path, content: binary }],
    });

  await upload("a.bin");
  const before = hub.bytesReceived;
  await upload("b.bin");
  assert.equal(hub.bytesReceived, before);
  assert.equal(hub.requestCount("lfs-upload"), 1);
});

Deno.test("resolve answers a Range probe with 206 and EntryNotFound with 404", async () => {
  await using hub = await MockHub.start();
  const repo = { type: "dataset" as const, name: `${hub.user}/resolve` };
  await createRepo({ ...params(hub), repo });
  await commit({
    ...params(hub),
    repo,
    title: "add",
    useXet: false,
    operations: [{ operation: "addOrUpdate", path: "data.yaml", content: new Blob(["names: [dog]\n"]) }],
  });

  const info = await fileDownloadInfo({ ...params(hub), repo, path: "data.yaml" });
  assert.equal(info?.size, 13);
  assert.ok(info?.etag);
  const blob = await downloadFile({ ...params(hub), repo, path: "data.yaml" });
  assert.equal(await blob?.text(), "names: [dog]\n");
  assert.equal(await fileDownloadInfo({ ...params(hub), repo, path: "missing.txt" }), null);

  const response = await fetch(`${hub.url}/datasets/${repo.name}/resolve/main/missing.txt`, {
    headers: { Authorization: `Bearer ${hub.token}` },
  });
  await response.body?.cancel();
  assert.equal(response.status, 404);
  assert.equal(response.headers.get("X-Error-Code"), "EntryNotFound");
});

Deno.test("LFS upload URL rejects a chunked body", async () => {
  await using hub = await MockHub.start();
  const oid = "0".repeat(64);
  const response = await fetch(`${hub.url}/__lfs/${oid}?size=3&signature=mock`, {
    method: "PUT",
    body: new Blob([new Uint8Array(3)]).stream(),
  });
  await response.body?.cancel();
  assert.equal(response.status, 411);
});

Deno.test("tree listing pages with Link rel=next", async () => {
  await using hub = await MockHub.start({ treePageSize: 2 });
  const repo = { type: "dataset" as const, name: `${hub.user}/paged` };
  await createRepo({ ...params(hub), repo });
  await commit({
    ...params(hub),
    repo,
    title: "add",
    useXet: false,
    operations: ["a", "b", "c", "d"].map((name) => ({
      operation: "addOrUpdate" as const,
      path: `${name}.txt`,
      content: new Blob([name]),
    })),
  });
  const paths = [];
  for await (const entry of listFiles({ ...params(hub), repo, recursive: true })) paths.push(entry.path);
  assert.deepEqual(paths.sort(), [".gitattributes", "a.txt", "b.txt", "c.txt", "d.txt"]);
  assert.equal(hub.requestCount("tree"), 3);
});

Deno.test("hardware list contains the priced flavors and no TPU", async () => {
  await using hub = await MockHub.start();
  const hardware = await listJobHardware({ hubUrl: hub.url });
  const names = hardware.map((item) => item.name);
  assert.ok(names.includes("cpu-basic"));
  assert.ok(names.includes("a10g-large"));
  assert.ok(!names.some((name) => /tpu|h100/.test(name)));
  const t4 = hardware.find((item) => item.name === "t4-small");
  assert.ok(Math.abs((t4?.unitCostUSD ?? 0) * 60 - 0.4) < 1e-9);
  assert.equal(t4?.unitLabel, "minute");
  assert.equal(t4?.accelerator?.model, "T4");
});

Deno.test("job goes from SCHEDULING to COMPLETED with its log", async () => {
  await using hub = await MockHub.start({
    jobRunner: scriptedJobRunner(["one", "two"]),
    jobFaults: { schedulingMs: 100 },
  });
  const job = await runJob({
    ...params(hub),
    namespace: hub.user,
    dockerImage: "ghcr.io/astral-sh/uv:python3.12-bookworm",
    command: ["echo"],
    flavor: "cpu-basic",
    timeoutSeconds: 60,
    secrets: { HF_TOKEN: hub.token },
    labels: { trainbook: "1" },
  });
  assert.match(job.id, /^[0-9a-f]{24}$/);
  assert.equal(job.status.stage as string, "SCHEDULING");
  assert.deepEqual(job.secrets, ["HF_TOKEN"]);
  assert.equal(job.owner?.name, hub.user);
  assert.equal(job.owner?.type, "user");
  assert.equal(job.timeoutSeconds, 60);

  const lines = await collectLogs(hub, hub.user, job.id);
  assert.match(lines[0], /^===== Job started at /);
  assert.deepEqual(lines.slice(1), ["one", "two"]);

  const finished = await getJob({ ...params(hub), namespace: hub.user, jobId: job.id });
  assert.equal(finished.status.stage as string, "COMPLETED");
  assert.ok(finished.finishedAt);
  const listed = await listJobs({ ...params(hub), namespace: hub.user });
  assert.deepEqual(listed.map((item) => item.id), [job.id]);
});

Deno.test("job create rejects an unknown flavor", async () => {
  await using hub = await MockHub.start();
  await assert.rejects(
    runJob({ ...params(hub), namespace: hub.user, dockerImage: "x", flavor: "tpu-v5" as "cpu-basic" }),
    (error: { statusCode?: number }) => error.statusCode === 400,
  );
});

Deno.test("cancel returns the job JSON and stops the job", async () => {
  await using hub = await MockHub.start({
    jobRunner: scriptedJobRunner(Array(100).fill("tick"), { delayMs: 50 }),
  });
  const job = await runJob({ ...params(hub), namespace: hub.user, dockerImage: "x", flavor: "cpu-basic" });
  const cancelled = await cancelJob({ ...params(hub), namespace: hub.user, jobId: job.id });
  assert.equal(cancelled.id, job.id);
  assert.equal(cancelled.status.stage as string, "CANCELED");
  assert.equal((await hub.waitForJob(job.id)).status.stage, "CANCELED");
});

Deno.test("job ends in ERROR when the error fault is set", async () => {
  await using hub = await MockHub.start({
    jobRunner: scriptedJobRunner(Array(100).fill("tick"), { delayMs: 20 }),
    jobFaults: { error: { afterMs: 50, message: "CUDA out of memory" } },
  });
  const job = await runJob({ ...params(hub), namespace: hub.user, dockerImage: "x", flavor: "t4-small" });
  const info = await hub.waitForJob(job.id);
  assert.equal(info.status.stage, "ERROR");
  assert.equal(info.status.message, "CUDA out of memory");
});

Deno.test("job ends with Job timeout after its timeout", async () => {
  await using hub = await MockHub.start({
    jobRunner: scriptedJobRunner(Array(100).fill("tick"), { delayMs: 50 }),
  });
  hub.setJobFaults({ timeoutAfterMs: 80 });
  const job = await runJob({
    ...params(hub),
    namespace: hub.user,
    dockerImage: "x",
    flavor: "cpu-basic",
    timeoutSeconds: 5,
  });
  const info = await hub.waitForJob(job.id);
  assert.equal(info.status.stage, "ERROR");
  assert.equal(info.status.message, "Job timeout");
});

Deno.test("log stream drops mid-run and a reconnect replays history", async () => {
  await using hub = await MockHub.start({
    jobRunner: scriptedJobRunner(["a", "b", "c", "d"], { delayMs: 30 }),
    jobFaults: { dropLogStream: { afterLines: 2 } },
  });
  const job = await runJob({ ...params(hub), namespace: hub.user, dockerImage: "x", flavor: "cpu-basic" });
  const first = await collectLogs(hub, hub.user, job.id);
  assert.equal(first.length, 2);
  assert.notEqual(
    (await getJob({ ...params(hub), namespace: hub.user, jobId: job.id })).status.stage,
    "COMPLETED",
  );

  const second = await collectLogs(hub, hub.user, job.id);
  assert.deepEqual(second.slice(1), ["a", "b", "c", "d"]);
});

Deno.test("log stream sends keep-alive comments while scheduling", async () => {
  await using hub = await MockHub.start({ keepAliveMs: 20, jobFaults: { schedulingMs: 5000 } });
  const job = await runJob({ ...params(hub), namespace: hub.user, dockerImage: "x", flavor: "cpu-basic" });
  const response = await fetch(`${hub.url}/api/jobs/${hub.user}/${job.id}/logs`, {
    headers: { Authorization: `Bearer ${hub.token}` },
  });
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  assert.equal(new TextDecoder().decode(value), ": keep-alive\n\n");
  assert.equal(hub.jobs()[0].status.stage, "SCHEDULING");
});

Deno.test("org-owned job is not found under the user's namespace", async () => {
  await using hub = await MockHub.start({ jobOwnerOrg: "acme", jobRunner: scriptedJobRunner([]) });
  const job = await runJob({ ...params(hub), namespace: hub.user, dockerImage: "x", flavor: "cpu-basic" });
  assert.equal(job.owner?.type, "org");
  assert.equal(job.owner?.name, "acme");
  await assert.rejects(
    getJob({ ...params(hub), namespace: hub.user, jobId: job.id }),
    (error: { statusCode?: number }) => error.statusCode === 404,
  );
  const found = await getJob({ ...params(hub), namespace: "acme", jobId: job.id });
  assert.equal(found.id, job.id);
});

Deno.test("process runner runs a UV script job with the job environment", async () => {
  await using hub = await MockHub.start({ python: PYTHON });
  const script = [
    "# /// script",
    "# dependencies = []",
    "# ///",
    "import os, sys",
    "print('endpoint', os.environ['HF_ENDPOINT'])",
    "print('xet', os.environ['HF_HUB_DISABLE_XET'])",
    "print('token ok', os.environ['HF_TOKEN'].startswith('hf_'))",
    "print('args', ' '.join(sys.argv[1:]))",
    "print('to stderr', file=sys.stderr)",
  ].join("\n");
  const job = await runJob({
    ...params(hub),
    namespace: hub.user,
    dockerImage: "ghcr.io/astral-sh/uv:python3.12-bookworm",
    command: [
      "bash",
      "-c",
      'echo "$UV_SCRIPT_ENCODED" | base64 -d > script.py && uv run --with ultralytics script.py --epochs 3',
    ],
    environment: { UV_SCRIPT_ENCODED: btoa(script) },
    secrets: { HF_TOKEN: hub.token },
    flavor: "cpu-basic",
  });
  const lines = await collectLogs(hub, hub.user, job.id);
  const info = await hub.waitForJob(job.id);
  assert.equal(info.status.stage, "COMPLETED", lines.join("\n"));
  assert.ok(lines.includes(`endpoint ${hub.url}`), lines.join("\n"));
  assert.ok(lines.includes("xet 1"));
  assert.ok(lines.includes("token ok True"));
  assert.ok(lines.includes("args --epochs 3"));
  assert.ok(lines.includes("to stderr"));
});

Deno.test("process runner marks a failing script ERROR", async () => {
  await using hub = await MockHub.start({ python: PYTHON });
  const job = await runJob({
    ...params(hub),
    namespace: hub.user,
    dockerImage: "x",
    command: ["python", "-c", "import sys; print('bye'); sys.exit(3)"],
    flavor: "cpu-basic",
  });
  const info = await hub.waitForJob(job.id);
  assert.equal(info.status.stage, "ERROR");
  assert.match(info.status.message ?? "", /exit code: 3/);
  assert.ok(hub.jobLogs(job.id).includes("bye"));
});

Deno.test("process runner stops a cancelled long job", async () => {
  await using hub = await MockHub.start({ python: PYTHON });
  const job = await runJob({
    ...params(hub),
    namespace: hub.user,
    dockerImage: "x",
    command: ["bash", "-c", "python -c \"import time; print('start', flush=True); time.sleep(60)\""],
    flavor: "cpu-basic",
  });
  while (!hub.jobLogs(job.id).includes("start")) await new Promise((resolve) => setTimeout(resolve, 20));
  const started = Date.now();
  await cancelJob({ ...params(hub), namespace: hub.user, jobId: job.id });
  await hub.close();
  assert.ok(Date.now() - started < 5000);
});

Deno.test({
  name: "job uses huggingface_hub against the mock",
  ignore: HUB_CLIENT_PYTHON === undefined,
  async fn() {
    await using hub = await MockHub.start({ python: HUB_CLIENT_PYTHON });
    const dataset = { type: "dataset" as const, name: `${hub.user}/data` };
    await createRepo({ ...params(hub), repo: dataset });
    await commit({
      ...params(hub),
      repo: dataset,
      title: "add",
      useXet: false,
      operations: [
        { operation: "addOrUpdate", path: "data.yaml", content: new Blob(["path: .\n"]) },
        { operation: "addOrUpdate", path: "images/a.jpg", content: new Blob([new Uint8Array(600)]) },
      ],
    });
    const script = [
      "import os, pathlib",
      "from huggingface_hub import HfApi, snapshot_download",
      "api = HfApi()",
      "local = snapshot_download(repo_id=os.environ['DATASET'], repo_type='dataset', local_dir='dataset')",
      "print('files', sorted(str(p.relative_to(local)) for p in pathlib.Path(local).rglob('*') if p.is_file() and '.cache' not in p.parts))",
      "api.create_repo(os.environ['OUTPUT'], exist_ok=True, private=True)",
      "out = pathlib.Path('out'); out.mkdir()",
      "(out / 'results.csv').write_text('epoch,loss\\n1,0.5\\n')",
      "(out / 'best.pt').write_bytes(bytes(range(256)) * 8)",
      "first = api.upload_folder(folder_path='out', repo_id=os.environ['OUTPUT'])",
      "second = api.upload_folder(folder_path='out', repo_id=os.environ['OUTPUT'])",
      "print('same commit', first.oid == second.oid)",
    ].join("\n");
    const job = await runJob({
      ...params(hub),
      namespace: hub.user,
      dockerImage: "ghcr.io/astral-sh/uv:python3.12-bookworm",
      command: [
        "bash",
        "-c",
        'echo "$UV_SCRIPT_ENCODED" | base64 -d > script.py && uv run --with huggingface_hub script.py',
      ],
      environment: {
        UV_SCRIPT_ENCODED: btoa(script),
        DATASET: dataset.name,
        OUTPUT: `${hub.user}/model`,
        HF_HUB_DISABLE_PROGRESS_BARS: "1",
      },
      secrets: { HF_TOKEN: hub.token },
      flavor: "cpu-basic",
    });
    const info = await hub.waitForJob(job.id);
    const logs = hub.jobLogs(job.id).join("\n");
    assert.equal(info.status.stage, "COMPLETED", logs);
    assert.match(logs, /files \['.gitattributes', 'data.yaml', 'images\/a.jpg'\]/);
    assert.match(logs, /same commit True/);
    const model = hub.repo(`${hub.user}/model`, "model");
    assert.equal(model?.private, true);
    assert.deepEqual([...model!.commits.at(-1)!.files.keys()].sort(), [
      ".gitattributes",
      "best.pt",
      "results.csv",
    ]);
    assert.equal(model!.commits.at(-1)!.files.get("best.pt")?.lfs?.sha256.length, 64);
  },
});

// lib/hub.ts against the fault switches.

Deno.test("hubFetch honours Retry-After on 429 and retries", async () => {
  await using hub = await MockHub.start();
  hub.failNext("whoami", 1, { status: 429, retryAfterSeconds: 1 });
  const retries: RetryEvent[] = [];
  const config = hubConfig({ endpoint: hub.url, token: hub.token, onRetry: (event) => retries.push(event) });

  const started = Date.now();
  const me = await whoAmI({ hubUrl: config.endpoint, fetch: config.fetch, accessToken: hub.token });
  assert.equal(me.name, hub.user);
  assert.ok(Date.now() - started >= 950);
  assert.equal(retries.length, 1);
  assert.equal(retries[0].status, 429);
  assert.equal(retries[0].delayMs, 1000);
  assert.equal(hub.requestCount("whoami"), 2);
});

Deno.test("hubFetch uses the RateLimit reset when there is no Retry-After", async () => {
  await using hub = await MockHub.start();
  hub.failNext("hardware", 1, { status: 429, rateLimitResetSeconds: 0 });
  const retries: RetryEvent[] = [];
  const hardware = await listJobHardware({
    hubUrl: hub.url,
    fetch: createHubFetch({ onRetry: (event) => retries.push(event) }),
  });
  assert.ok(hardware.length > 0);
  assert.equal(retries[0].delayMs, 0);
});

Deno.test("hubFetch retries 500 then succeeds", async () => {
  await using hub = await MockHub.start();
  hub.failNext("tree", 2, { status: 500 });
  await createRepo({ ...params(hub), repo: { type: "dataset", name: `${hub.user}/r` } });
  const retries: RetryEvent[] = [];
  const fetchFn = createHubFetch({ retryBaseDelayMs: 1, onRetry: (event) => retries.push(event) });
  const entries = [];
  for await (
    const entry of listFiles({
      ...params(hub),
      fetch: fetchFn,
      repo: { type: "dataset", name: `${hub.user}/r` },
    })
  ) {
    entries.push(entry);
  }
  assert.equal(entries.length, 1);
  assert.deepEqual(retries.map((event) => event.status), [500, 500]);
  assert.equal(retries[0].reason, "HTTP 500 (server error)");
});

Deno.test("hubFetch gives up after maxRetries", async () => {
  await using hub = await MockHub.start();
  hub.failNext("hardware", 10, { status: 503 });
  const fetchFn = createHubFetch({ retryBaseDelayMs: 1, maxRetries: 2 });
  const error = await listJobHardware({ hubUrl: hub.url, fetch: fetchFn }).catch((e) => e);
  const converted = toHubError(error, { action: "list hardware", endpoint: hub.url });
  assert.ok(converted instanceof HubError);
  assert.equal(converted.status, 503);
  assert.match(converted.message, /HTTP 503 after the retries/);
  assert.equal(hub.requestCount("hardware"), 3);
});

Deno.test("hubFetch does not repeat a job creation after a 500", async () => {
  await using hub = await MockHub.start({ jobRunner: scriptedJobRunner([]) });
  hub.failNext("job-create", 1, { status: 500 });
  const fetchFn = createHubFetch({ retryBaseDelayMs: 1 });
  await assert.rejects(
    runJob({ ...params(hub), fetch: fetchFn, namespace: hub.user, dockerImage: "x", flavor: "cpu-basic" }),
  );
  assert.equal(hub.requestCount("job-create"), 1);
});

Deno.test("hubFetch skips a Retry-After longer than maxRetryDelayMs", async () => {
  await using hub = await MockHub.start();
  hub.failNext("hardware", 1, { status: 429, retryAfterSeconds: 3600 });
  const fetchFn = createHubFetch({ maxRetryDelayMs: 10 });
  const error = await listJobHardware({ hubUrl: hub.url, fetch: fetchFn }).catch((e) => e);
  const converted = toHubError(error, { action: "list hardware", endpoint: hub.url }) as HubError;
  assert.equal(converted.status, 429);
  assert.match(converted.message, /rate limiting/);
});

Deno.test("toHubError explains 401, 402 and 404", async () => {
  await using hub = await MockHub.start({ jobRunner: scriptedJobRunner([]) });
  const config = hubConfig({ endpoint: hub.url, token: hub.token, retryBaseDelayMs: 1 });

  const unauthorized = await withHubErrors(
    { action: "check the token", endpoint: hub.url },
    () => whoAmI({ hubUrl: hub.url, fetch: config.fetch, accessToken: "hf_notthetokenatall1234" }),
  ).catch((e) => e);
  assert.ok(unauthorized instanceof HubError);
  assert.equal(unauthorized.status, 401);
  assert.match(unauthorized.message, /rejected the access token/);
  assert.match(unauthorized.message, /settings\/tokens/);
  assert.ok(unauthorized.requestId?.startsWith("mock-"));

  hub.failNext("job-create", 1, { status: 402 });
  const noCredits = await withHubErrors(
    { action: "start the job", endpoint: hub.url },
    () =>
      runJob({
        hubUrl: hub.url,
        fetch: config.fetch,
        accessToken: hub.token,
        namespace: hub.user,
        dockerImage: "x",
        flavor: "t4-small",
      }),
  )
    .catch((e) => e);
  assert.equal(noCredits.status, 402);
  assert.match(noCredits.message, /credits/);
  assert.match(noCredits.message, /settings\/billing/);

  const missingJob = await withHubErrors(
    { action: "inspect the job", endpoint: hub.url, jobId: "0123456789abcdef01234567", namespace: hub.user },
    () =>
      getJob({
        hubUrl: hub.url,
        fetch: config.fetch,
        accessToken: hub.token,
        namespace: hub.user,
        jobId: "0123456789abcdef01234567",
      }),
  ).catch((e) => e);
  assert.equal(missingJob.status, 404);
  assert.match(missingJob.message, /organisation/);
  assert.match(missingJob.message, /owner\.name/);

  const missingRepo = await withHubErrors(
    { action: "list files", endpoint: hub.url, repo: "nobody/nothing" },
    async () => {
      for await (
        const _ of listFiles({
          hubUrl: hub.url,
          fetch: config.fetch,
          accessToken: hub.token,
          repo: "datasets/nobody/nothing",
        })
      ) {
        // Drain.
      }
    },
  ).catch((e) => e);
  assert.equal(missingRepo.status, 404);
  assert.match(missingRepo.message, /repository nobody\/nothing was not found/);
});

Deno.test("error messages never contain the token", async () => {
  await using hub = await MockHub.start();
  const token = "hf_SecretValueThatMustNotLeak123";
  const messages: string[] = [];
  const config = hubConfig({ endpoint: hub.url, token, retryBaseDelayMs: 1 });
  const calls: (() => Promise<unknown>)[] = [
    () => whoAmI({ hubUrl: hub.url, fetch: config.fetch, accessToken: token }),
    () => listJobs({ hubUrl: hub.url, fetch: config.fetch, accessToken: token, namespace: token }),
    () =>
      createRepo({
        hubUrl: hub.url,
        fetch: config.fetch,
        accessToken: token,
        repo: `datasets/${hub.user}/${token}`,
      }),
  ];
  for (const call of calls) {
    const error: HubError = await withHubErrors(
      { action: "call the Hub", endpoint: hub.url, repo: token },
      call,
    ).then(
      () => assert.fail("expected a failure"),
      (e) => e,
    );
    messages.push(String(error), error.message, JSON.stringify(error), String(error.url ?? ""));
  }
  for (const message of messages) assert.ok(!message.includes(token), message);
});

Deno.test("resolveEndpoint reads TRAINBOOK_HF_ENDPOINT before HF_ENDPOINT", () => {
  const saved = { a: Deno.env.get("TRAINBOOK_HF_ENDPOINT"), b: Deno.env.get("HF_ENDPOINT") };
  try {
    Deno.env.set("HF_ENDPOINT", "http://127.0.0.1:1/");
    Deno.env.delete("TRAINBOOK_HF_ENDPOINT");
    assert.equal(hubConfig({ token: "hf_abcdefgh" }).endpoint, "http://127.0.0.1:1");
    Deno.env.set("TRAINBOOK_HF_ENDPOINT", "http://127.0.0.1:2");
    assert.equal(hubConfig({ token: "hf_abcdefgh" }).endpoint, "http://127.0.0.1:2");
    assert.equal(
      hubConfig({ endpoint: "http://127.0.0.1:3", token: "hf_abcdefgh" }).endpoint,
      "http://127.0.0.1:3",
    );
    Deno.env.delete("TRAINBOOK_HF_ENDPOINT");
    Deno.env.delete("HF_ENDPOINT");
    assert.equal(hubConfig({ token: "hf_abcdefgh" }).endpoint, "https://huggingface.co");
  } finally {
    for (const [name, value] of [["TRAINBOOK_HF_ENDPOINT", saved.a], ["HF_ENDPOINT", saved.b]] as const) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
});
