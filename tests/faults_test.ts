/**
 * Faults: artifact downloads that drop, lie or point outside the run folder, and
 * a write error while a run folder is completed.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createRepo, uploadFiles } from "@huggingface/hub";
import { ArtifactError, downloadArtifact, listRemoteFiles, safeJoin } from "../lib/artifacts.ts";
import { History } from "../lib/history.ts";
import { hubConfig } from "../lib/hub.ts";
import { DATASET, tempDir } from "./helpers.ts";
import { MockHub } from "./hub_mock/server.ts";

const REPO = "trainbook-tester/fault-model";

/** A fake torch checkpoint: torch saves zip archives, which start with "PK". */
const CHECKPOINT: Uint8Array<ArrayBuffer> = new Uint8Array(300_000).map((
  _,
  index,
) => (index < 2 ? [0x50, 0x4b][index] : index % 251));

async function mockWithFiles(files: Record<string, Uint8Array<ArrayBuffer> | string>): Promise<MockHub> {
  const mock = await MockHub.start();
  await createRepo({ repo: { type: "model", name: REPO }, hubUrl: mock.url, accessToken: mock.token });
  await uploadFiles({
    repo: { type: "model", name: REPO },
    files: Object.entries(files).map(([path, content]) => ({ path, content: new Blob([content]) })),
    hubUrl: mock.url,
    accessToken: mock.token,
    useXet: false,
  });
  return mock;
}

Deno.test("safeJoin() rejects names that leave the run folder", () => {
  for (
    const name of [
      "../escape.pt",
      "weights/../../x",
      "/etc/passwd",
      "a\\..\\b",
      "",
      "weights//best.pt",
      "./x",
    ]
  ) {
    assert.throws(() => safeJoin("/runs/r1", name), ArtifactError, `accepted ${JSON.stringify(name)}`);
  }
  assert.equal(safeJoin("/runs/r1", "weights/best.pt"), "/runs/r1/weights/best.pt");
});

Deno.test("downloadArtifact() resumes after the connection drops", async () => {
  await using mock = await mockWithFiles({ "weights/best.pt": CHECKPOINT });
  await using temp = await tempDir("download");
  // The first body breaks after 100 kB, as a dropped connection would.
  let broken = 0;
  const flakyFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const url = String(input instanceof Request ? input.url : input);
    const length = Number(response.headers.get("content-length") ?? 0);
    if (!url.includes("/resolve/") || broken > 0 || length < 200_000 || !response.body) return response;
    broken++;
    let sent = 0;
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          if (sent > 100_000) {
            controller.error(new TypeError("connection reset by peer"));
            return;
          }
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: response.status, headers: response.headers });
  };
  const config = hubConfig({
    endpoint: mock.url,
    token: mock.token,
    fetch: flakyFetch,
    retryBaseDelayMs: 10,
  });
  const file = (await listRemoteFiles(config, REPO)).find((entry) => entry.path === "weights/best.pt")!;
  const resumes: number[] = [];
  const result = await downloadArtifact(config, REPO, file, temp.path, {
    onResume: (bytes) => resumes.push(bytes),
  });
  assert.equal(broken, 1, "the fault was not injected");
  assert.equal(resumes.length, 1);
  assert.ok(resumes[0] > 0, `resumed at ${resumes[0]}`);
  assert.ok(resumes[0] < CHECKPOINT.byteLength, `resumed at ${resumes[0]}`);
  const saved = await Deno.readFile(join(temp.path, "weights", "best.pt"));
  assert.deepEqual(saved, CHECKPOINT);
  assert.equal(result.sha256, createHash("sha256").update(CHECKPOINT).digest("hex"));
  await assert.rejects(Deno.stat(join(temp.path, "weights", "best.pt.partial")), Deno.errors.NotFound);
});

Deno.test("downloadArtifact() rejects an HTML page saved as a checkpoint", async () => {
  const page = "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>".padEnd(2000, " ");
  await using mock = await mockWithFiles({ "weights/best.pt": page });
  await using temp = await tempDir("download");
  const config = hubConfig({ endpoint: mock.url, token: mock.token });
  const file = (await listRemoteFiles(config, REPO)).find((entry) => entry.path === "weights/best.pt")!;
  await assert.rejects(downloadArtifact(config, REPO, file, temp.path), (error: unknown) => {
    assert.ok(error instanceof ArtifactError);
    assert.match(error.message, /not a torch checkpoint/);
    assert.match(error.message, /HTML page/);
    return true;
  });
  assert.deepEqual([...Deno.readDirSync(join(temp.path, "weights"))], [], "a file was left behind");
});

Deno.test("downloadArtifact() rejects content that does not match the Hub's hash", async () => {
  await using mock = await mockWithFiles({ "results.csv": "epoch,metrics/mAP50(B)\n1,0.5\n" });
  await using temp = await tempDir("download");
  const config = hubConfig({ endpoint: mock.url, token: mock.token });
  const file = (await listRemoteFiles(config, REPO)).find((entry) => entry.path === "results.csv")!;
  const lying = { ...file, gitOid: "0".repeat(40), sha256: undefined };
  await assert.rejects(
    downloadArtifact(config, REPO, lying, temp.path),
    /does not match the Hub's git object id/,
  );
  const wrongSize = { ...file, size: file.size + 1 };
  await assert.rejects(downloadArtifact(config, REPO, wrongSize, temp.path), /wrong size/);
  assert.deepEqual([...Deno.readDirSync(temp.path)], [], "a file was left behind");
});

Deno.test("a write error in the run folder fails the run and the history agrees", async () => {
  await using temp = await tempDir("write-error");
  const runId = "write-error-run";
  const script = join(temp.path, "train.ts");
  await Deno.writeTextFile(
    script,
    `import { train } from ${JSON.stringify(new URL("../lib/train.ts", import.meta.url).href)};
const run = await train(${JSON.stringify(DATASET)}, { epochs: 1, imgsz: 64, device: "cpu", runsDir: ${
      JSON.stringify(temp.path)
    }, runId: ${JSON.stringify(runId)}, report: false });
const result = await run.done;
console.log(JSON.stringify({ status: result.status, message: result.message }));
`,
  );
  // Deno refuses writes to artifacts.json, standing in for a disk that fills up just then.
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `--deny-write=${join(temp.path, runId, "artifacts.json")}`,
      "--no-check",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const result = JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
  assert.equal(result.status, "failed");
  assert.match(result.message, /saving the run folder failed/);
  assert.match(result.message, /artifacts\.json/);

  const history = await History.open(join(temp.path, "history.duckdb"));
  try {
    const details = await history.getRun(runId);
    assert.equal(details.run.status, "failed");
    assert.match(details.run.statusMessage ?? "", /saving the run folder failed/);
    assert.equal(details.epochs.length, 1, "the finished epoch was lost");
  } finally {
    await history.close();
  }
  // The weights written before the error are kept.
  assert.ok((await Deno.stat(join(temp.path, runId, "weights", "last.pt"))).size > 0);
});
