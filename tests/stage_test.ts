import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { MockHub } from "./hub_mock/server.ts";
import {
  exclusionReason,
  MAX_FILES_PER_COMMIT,
  stageDataset,
  stageDatasetIter,
  type StageEvent,
  type StageOptions,
} from "../lib/stage.ts";
import { DatasetError, HubError } from "../lib/errors.ts";

const BUNDLED = new URL("../datasets/thermal-dogs-and-people", import.meta.url).pathname;

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(join(from, entry.name), join(to, entry.name));
    else if (entry.isFile) await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(dir)) {
    count += entry.isDirectory ? await countFiles(join(dir, entry.name)) : 1;
  }
  return count;
}

/** Runs `body` on a temporary copy of the bundled dataset, removed afterwards. */
async function withDataset(body: (dataset: string, work: string) => Promise<void>): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "trainbook-stage-" });
  const dataset = join(work, "thermal-dogs-and-people");
  await copyDir(BUNDLED, dataset);
  try {
    await body(dataset, work);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

function options(hub: MockHub, work: string, extra: StageOptions = {}): StageOptions {
  return {
    endpoint: hub.url,
    token: hub.token,
    stateDir: join(work, "state"),
    retryBaseDelayMs: 1,
    repo: `${hub.user}/thermal`,
    ...extra,
  };
}

async function remoteText(hub: MockHub, path: string): Promise<string> {
  const response = await fetch(`${hub.url}/datasets/${hub.user}/thermal/resolve/main/${path}`, {
    headers: { Authorization: `Bearer ${hub.token}` },
  });
  return await response.text();
}

Deno.test("stageDataset() uploads everything in commits of at most 100 files", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    const localFiles = await countFiles(dataset);
    const result = await stageDataset(dataset, options(hub, work));

    // Every local file, with data.yaml replaced by the normalised one, plus data.original.yaml.
    const staged = localFiles + 1;
    assert.equal(result.repo, `${hub.user}/thermal`);
    assert.equal(result.url, `${hub.url}/datasets/${hub.user}/thermal`);
    assert.equal(result.filesUploaded, staged);
    assert.equal(result.commits, Math.ceil(staged / MAX_FILES_PER_COMMIT));
    assert.match(result.fingerprint, /^[0-9a-f]{64}$/);

    const commits = hub.commits(result.repo).slice(1);
    assert.equal(commits.length, result.commits);
    for (const commit of commits) assert.ok(commit.changed.length <= MAX_FILES_PER_COMMIT);
    assert.equal(hub.repo(result.repo)?.private, true);
    assert.equal(hub.bytesReceived, result.bytesUploaded);
    assert.ok(hub.requestCount("lfs-upload") > 0);
  }));

Deno.test("stageDataset() sends nothing for an unchanged dataset", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    const first = await stageDataset(dataset, options(hub, work));
    const bytes = hub.bytesReceived;
    const commits = hub.commits(first.repo).length;

    const second = await stageDataset(dataset, options(hub, work));
    assert.equal(second.filesUploaded, 0);
    assert.equal(second.bytesUploaded, 0);
    assert.equal(second.commits, 0);
    assert.equal(second.fingerprint, first.fingerprint);
    assert.equal(hub.bytesReceived, bytes);
    assert.equal(hub.commits(first.repo).length, commits);

    // Hashing every file again (no state reuse) reaches the same verdict.
    const rehashed = await stageDataset(dataset, options(hub, work, { rehash: true }));
    assert.equal(rehashed.commits, 0);
    assert.equal(rehashed.bytesUploaded, 0);
    assert.equal(rehashed.fingerprint, first.fingerprint);
  }));

Deno.test("stageDataset() compares by content when the state file is gone", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    await stageDataset(dataset, options(hub, work));
    await Deno.remove(join(work, "state"), { recursive: true });
    const bytes = hub.bytesReceived;
    const again = await stageDataset(dataset, options(hub, work));
    assert.equal(again.commits, 0);
    assert.equal(hub.bytesReceived, bytes);
  }));

Deno.test("stageDataset() writes a normalised data.yaml and keeps the original", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    await stageDataset(dataset, options(hub, work));
    const normalised = parse(await remoteText(hub, "data.yaml"));
    assert.equal(normalised.path, ".");
    assert.equal(normalised.train, "train/images");
    assert.equal(normalised.val, "valid/images");
    assert.equal(normalised.test, "test/images");
    assert.equal(normalised.nc, 2);
    assert.deepEqual(normalised.names, { 0: "dog", 1: "person" });
    assert.equal(
      await remoteText(hub, "data.original.yaml"),
      await Deno.readTextFile(join(dataset, "data.yaml")),
    );
  }));

Deno.test("stageDataset() sends only a changed file and deletes a removed one", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    const first = await stageDataset(dataset, options(hub, work));
    const labels = [...Deno.readDirSync(join(dataset, "train", "labels"))].map((entry) => entry.name).sort();
    const images = [...Deno.readDirSync(join(dataset, "test", "images"))].map((entry) => entry.name).sort();
    await Deno.writeTextFile(join(dataset, "train", "labels", labels[0]), "0 0.5 0.5 0.2 0.2\n");
    await Deno.remove(join(dataset, "test", "images", images[0]));

    const second = await stageDataset(dataset, options(hub, work));
    assert.equal(second.filesUploaded, 1);
    assert.equal(second.bytesUploaded, "0 0.5 0.5 0.2 0.2\n".length);
    assert.equal(second.commits, 1);
    assert.notEqual(second.fingerprint, first.fingerprint);
    const last = hub.commits(first.repo).at(-1)!;
    assert.deepEqual(last.changed, [`train/labels/${labels[0]}`]);
    assert.deepEqual(last.deleted, [`test/images/${images[0]}`]);
  }));

Deno.test("stageDataset() never uploads hidden, cache, credential or outside files", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    const outside = join(work, "outside.txt");
    await Deno.writeTextFile(outside, "not part of the dataset");
    await Deno.writeTextFile(join(dataset, ".env"), "HF_TOKEN=hf_secretsecretsecret");
    await Deno.mkdir(join(dataset, ".git"));
    await Deno.writeTextFile(join(dataset, ".git", "config"), "[core]");
    await Deno.writeTextFile(join(dataset, "train", "labels.cache"), "cache");
    await Deno.writeTextFile(join(dataset, "credentials.json"), "{}");
    await Deno.symlink(outside, join(dataset, "link-outside.txt"));
    await Deno.symlink(join(dataset, "SOURCE.md"), join(dataset, "link-inside.md"));

    const events: StageEvent[] = [];
    const iterator = stageDatasetIter(dataset, options(hub, work));
    while (true) {
      const step = await iterator.next();
      if (step.done) break;
      events.push(step.value);
    }

    const remote = [...hub.repo(`${hub.user}/thermal`)!.commits.at(-1)!.files.keys()];
    for (
      const path of [".env", ".git/config", "train/labels.cache", "credentials.json", "link-outside.txt"]
    ) {
      assert.ok(!remote.includes(path), path);
    }
    assert.ok(remote.includes("link-inside.md"));
    const warnings = events.filter((event) => event.type === "warning").map((event) => event.message);
    assert.ok(warnings.some((message) => /hidden/.test(message)));
    assert.ok(warnings.some((message) => /\.cache/.test(message)));
    assert.ok(warnings.some((message) => /credential/.test(message)));
    assert.ok(warnings.some((message) => /outside the dataset folder/.test(message)));
  }));

Deno.test("exclusionReason() matches secrets and caches", () => {
  assert.match(exclusionReason(".env") ?? "", /hidden/);
  assert.match(exclusionReason("sub/.hidden/file.txt") ?? "", /hidden/);
  assert.match(exclusionReason("train/labels.cache") ?? "", /cache/);
  assert.match(exclusionReason("keys/server.pem") ?? "", /credential/);
  assert.match(exclusionReason("hf_token") ?? "", /credential/);
  assert.match(exclusionReason("id_rsa") ?? "", /credential/);
  assert.equal(exclusionReason("train/images/token_dog.jpg"), undefined);
  assert.equal(exclusionReason("train/labels/a.txt"), undefined);
});

Deno.test("stageDataset() rejects a dataset with validation errors", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    const labels = [...Deno.readDirSync(join(dataset, "train", "labels"))].map((entry) => entry.name).sort();
    await Deno.writeTextFile(join(dataset, "train", "labels", labels[0]), "7 0.5 0.5 0.2 0.2\n");
    const error = await stageDataset(dataset, options(hub, work)).catch((e) => e);
    assert.ok(error instanceof DatasetError, String(error));
    assert.match(error.message, /validation error/);
    assert.equal(hub.repo(`${hub.user}/thermal`), undefined);
    assert.equal(hub.requestCount("create-repo"), 0);
  }));

Deno.test("stageDataset() retries 429 and 503 during upload", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    hub.failNext("preupload", 2, { status: 503 });
    hub.failNext("lfs-batch", 1, { status: 429, retryAfterSeconds: 0 });
    const retries: number[] = [];
    const result = await stageDataset(
      dataset,
      options(hub, work, { onRetry: (event) => retries.push(event.status ?? 0) }),
    );
    assert.ok(result.commits > 0);
    assert.deepEqual(retries.sort(), [429, 503, 503]);
  }));

Deno.test("stageDataset() finishes the upload after a failed commit", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    hub.failNext("commit", 1, { status: 500 });
    const error = await stageDataset(dataset, options(hub, work)).catch((e) => e);
    assert.ok(error instanceof HubError);
    assert.equal(error.status, 500);

    const result = await stageDataset(dataset, options(hub, work));
    const again = await stageDataset(dataset, options(hub, work));
    assert.ok(result.filesUploaded > 0);
    assert.equal(again.commits, 0);
  }));

Deno.test("stageDataset() resolves the namespace with whoami", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    const saved = Deno.env.get("TRAINBOOK_HOME");
    Deno.env.set("TRAINBOOK_HOME", join(work, "home"));
    try {
      const result = await stageDataset(dataset, options(hub, work, { repo: "dogs", private: false }));
      assert.equal(result.repo, `${hub.user}/dogs`);
      assert.equal(hub.repo(`${hub.user}/dogs`)?.private, false);
    } finally {
      if (saved === undefined) Deno.env.delete("TRAINBOOK_HOME");
      else Deno.env.set("TRAINBOOK_HOME", saved);
    }
  }));

Deno.test("stageDataset() rejects an invalid repository name", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    await assert.rejects(
      stageDataset(dataset, options(hub, work, { repo: "a/b/c" })),
      /Invalid dataset repository name/,
    );
  }));

Deno.test("stageDataset() stops when the signal aborts", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(stageDataset(dataset, options(hub, work, { signal: controller.signal })));
    assert.equal(hub.requestCount("commit"), 0);
  }));

Deno.test("stageDataset() accepts the YAML file's path", () =>
  withDataset(async (dataset, work) => {
    await using hub = await MockHub.start();
    const result = await stageDataset(join(dataset, "data.yaml"), options(hub, work));
    assert.ok(result.filesUploaded > 400);
    assert.equal(parse(await remoteText(hub, "data.yaml")).path, ".");
  }));
