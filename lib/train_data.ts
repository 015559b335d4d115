/**
 * Prepares a dataset for the Python trainer without writing into it.
 *
 * Ultralytics writes a `labels.cache` file beside every labels folder it reads.
 * To keep the user's dataset folder untouched, the trainer reads the dataset
 * through a folder of symbolic links under the cache (`<split>-<n>/images` and
 * `<split>-<n>/labels` pointing at the real folders), so the cache files land
 * there instead.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Dataset, DatasetSplit } from "./dataset.ts";
import { cacheDir } from "./paths.ts";

/** The data.yaml to give the trainer, and the folder of links it points into. */
export interface TrainingData {
  /** Path of the written data.yaml. */
  yamlPath: string;
  /** Folder of symbolic links the yaml's `path` points to. */
  linkDir: string;
  /** Splits written to the yaml. */
  splits: string[];
}

/**
 * Writes `<destDir>/data.yaml` for training and evaluation. Splits given as
 * folders are read through links (see the module comment); splits given as image
 * lists are passed as they are.
 */
export async function prepareTrainingData(dataset: Dataset, destDir: string): Promise<TrainingData> {
  const key = createHash("sha256").update(dataset.yamlPath).digest("hex").slice(0, 16);
  const linkDir = join(cacheDir(), "dataset-links", key);
  await Deno.mkdir(linkDir, { recursive: true });

  const description: Record<string, unknown> = { path: linkDir };
  const splits: string[] = [];
  for (const split of [dataset.splits.train, dataset.splits.val, dataset.splits.test]) {
    if (!split) continue;
    description[split.name] = await linkSplit(split, linkDir);
    splits.push(split.name);
  }
  description.nc = dataset.nc;
  description.names = Object.fromEntries(dataset.names.map((name, index) => [index, name]));

  await Deno.mkdir(destDir, { recursive: true });
  const yamlPath = join(destDir, "data.yaml");
  const header =
    `# Written by trainbook for ${dataset.yamlPath}\n# Splits are read through links in ${linkDir}\n`;
  await Deno.writeTextFile(yamlPath, header + stringify(description));
  return { yamlPath, linkDir, splits };
}

async function linkSplit(split: DatasetSplit, linkDir: string): Promise<string | string[]> {
  if (split.imageDirs.length === 0) {
    // Image lists name their files directly; Ultralytics then writes its cache beside
    // the labels folder of the listed images.
    return split.imageFiles;
  }
  const entries: string[] = [];
  for (const [index, imageDir] of split.imageDirs.entries()) {
    const folder = `${split.name}-${index}`;
    await Deno.mkdir(join(linkDir, folder), { recursive: true });
    await replaceLink(join(linkDir, folder, "images"), imageDir);
    const labelDir = split.labelDirs[index];
    if (labelDir) await replaceLink(join(linkDir, folder, "labels"), labelDir);
    entries.push(`${folder}/images`);
  }
  return entries.length === 1 ? entries[0] : entries;
}

async function replaceLink(path: string, target: string): Promise<void> {
  try {
    if ((await Deno.readLink(path)) === target) return;
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.symlink(target, path, { type: "dir" });
}
