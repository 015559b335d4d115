/**
 * Benchmark of dataset staging. It re-stages an unchanged copy of the bundled
 * dataset against the local mock Hub and compares the time with reading and
 * SHA-256 hashing every file once, the floor for any check by content. It also
 * times a re-stage that validates and hashes every file again (`rehash`).
 *
 * Run: deno run -A bench/stage_bench.ts [copies] [repeats]
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { MockHub } from "../tests/hub_mock/server.ts";
import { stageDataset } from "../lib/stage.ts";

/** Options of {@linkcode benchStage}. */
export interface BenchStageOptions {
  /** Copies of the train split added to the dataset, to make it larger. @default {0} */
  copies?: number;
  /** Timed repetitions after one untimed warm-up; the median is reported. @default {7} */
  repeats?: number;
}

/** Timings of {@linkcode benchStage}, in milliseconds. */
export interface BenchStageResult {
  /** Files in the dataset folder. */
  files: number;
  /** Bytes in the dataset folder. */
  bytes: number;
  /** First staging: validation, hashing and upload of every file. */
  firstStageMs: number;
  /** Median re-stage of the unchanged dataset (state file reused). */
  restageMs: number;
  /** Median re-stage with `rehash: true` (every file validated and hashed again). */
  rehashMs: number;
  /** Median of reading and SHA-256 hashing every file once. */
  floorMs: number;
  /** restageMs / floorMs; the target is at most 1.5. */
  ratio: number;
}

const BUNDLED = new URL("../datasets/thermal-dogs-and-people", import.meta.url).pathname;

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(join(from, entry.name), join(to, entry.name));
    else if (entry.isFile) await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await listFiles(path));
    else if (entry.isFile) files.push(path);
  }
  return files;
}

async function hashAll(files: string[]): Promise<number> {
  let bytes = 0;
  for (const file of files) {
    const content = await Deno.readFile(file);
    createHash("sha256").update(content).digest("hex");
    bytes += content.byteLength;
  }
  return bytes;
}

/** Runs `action` once untimed, then `repeats` times, and returns the median time. */
async function median(repeats: number, action: () => Promise<unknown>): Promise<number> {
  await action();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await action();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Stages a copy of the bundled dataset on a local mock Hub and times re-staging it unchanged. */
export async function benchStage(options: BenchStageOptions = {}): Promise<BenchStageResult> {
  const { copies = 0, repeats = 7 } = options;
  const work = await Deno.makeTempDir({ prefix: "trainbook-stage-bench-" });
  await using hub = await MockHub.start();
  try {
    const dataset = join(work, "thermal-dogs-and-people");
    await copyDir(BUNDLED, dataset);
    for (let copy = 1; copy <= copies; copy++) {
      await copyDir(join(BUNDLED, "train"), join(dataset, `extra${copy}`));
    }

    const stageOptions = {
      endpoint: hub.url,
      token: hub.token,
      repo: `${hub.user}/bench`,
      stateDir: join(work, "state"),
    };
    const start = performance.now();
    await stageDataset(dataset, stageOptions);
    const firstStageMs = performance.now() - start;

    const files = await listFiles(dataset);
    const bytes = await hashAll(files);
    const floorMs = await median(repeats, () => hashAll(files));
    const restageMs = await median(repeats, async () => {
      const result = await stageDataset(dataset, stageOptions);
      if (result.commits !== 0) throw new Error("benchmark: re-staging an unchanged dataset made a commit");
    });
    const rehashMs = await median(repeats, () => stageDataset(dataset, { ...stageOptions, rehash: true }));

    return {
      files: files.length,
      bytes,
      firstStageMs,
      restageMs,
      rehashMs,
      floorMs,
      ratio: restageMs / floorMs,
    };
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const [copies, repeats] = Deno.args.map(Number);
  const result = await benchStage({ copies: copies || 0, repeats: repeats || 7 });
  const round = (ms: number) => Math.round(ms * 10) / 10;
  // deno-lint-ignore no-console -- a benchmark script reports on stdout
  console.log(
    `${result.files} files, ${(result.bytes / 1e6).toFixed(1)} MB: first stage ${
      round(result.firstStageMs)
    } ms, ` +
      `re-stage ${round(result.restageMs)} ms, re-stage with rehash ${round(result.rehashMs)} ms, ` +
      `hash floor ${round(result.floorMs)} ms, ratio ${result.ratio.toFixed(2)} (target <= 1.5)`,
  );
}
