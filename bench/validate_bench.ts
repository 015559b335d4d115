/**
 * Benchmark of {@linkcode validateDataset} on a synthetic dataset, for
 * comparison with the time Ultralytics takes to build its label cache
 * (`*.cache`) for the same folders.
 *
 * Run alone: `deno run -A bench/validate_bench.ts [images]`.
 *
 * @module
 */
import { join } from "node:path";
import { mapConcurrent } from "../lib/_dataset_files.ts";
import { validateDataset } from "../lib/validate.ts";
import { tinyJpeg } from "../tests/testdata/datasets/_fixture_images.ts";

/**
 * Validates the dataset at `datasetPath` once and returns the wall-clock time
 * in milliseconds and the number of findings.
 */
export async function benchValidate(datasetPath: string): Promise<{ ms: number; findings: number }> {
  const start = performance.now();
  const report = await validateDataset(datasetPath);
  return { ms: performance.now() - start, findings: report.findings.length };
}

/**
 * Writes a detection dataset of `images` 16x16 JPEGs, 80% train and 20% val.
 * Each image gets a label file with one to three boxes, and every tenth label
 * file is empty. Returns the path of its data.yaml.
 */
export async function makeSyntheticDataset(dir: string, images = 20000): Promise<string> {
  const jpeg = tinyJpeg();
  const trainCount = Math.round(images * 0.8);
  for (const split of ["train", "valid"]) {
    await Deno.mkdir(join(dir, split, "images"), { recursive: true });
    await Deno.mkdir(join(dir, split, "labels"), { recursive: true });
  }
  await mapConcurrent(Array.from({ length: images }, (_, i) => i), 64, async (i) => {
    const split = i < trainCount ? "train" : "valid";
    const name = `img_${String(i).padStart(6, "0")}`;
    const rows = i % 10 === 0 ? [] : Array.from({ length: 1 + (i % 3) }, (_, k) => {
      const x = 0.2 + 0.2 * k;
      return `${k % 2} ${x.toFixed(4)} 0.5000 0.1000 0.2000`;
    });
    await Deno.writeFile(join(dir, split, "images", `${name}.jpg`), jpeg);
    await Deno.writeTextFile(
      join(dir, split, "labels", `${name}.txt`),
      rows.map((row) => row + "\n").join(""),
    );
  });
  const yamlPath = join(dir, "data.yaml");
  await Deno.writeTextFile(yamlPath, "train: train/images\nval: valid/images\nnames: {0: dog, 1: person}\n");
  return yamlPath;
}

if (import.meta.main) {
  const images = Number(Deno.args[0] ?? 20000);
  const dir = await Deno.makeTempDir({ prefix: "trainbook-validate-bench-" });
  try {
    const created = performance.now();
    await makeSyntheticDataset(dir, images);
    const writeMs = performance.now() - created;
    const result = await benchValidate(dir);
    // deno-lint-ignore no-console -- a command-line benchmark prints its result.
    console.log(
      JSON.stringify({ images, writeMs: Math.round(writeMs), ...result, ms: Math.round(result.ms) }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
