/**
 * Prepares a dataset for the Python trainer without writing into it.
 *
 * Ultralytics writes a `labels.cache` file beside every labels folder it reads.
 * To keep the user's dataset folder untouched, the trainer reads the dataset
 * through a folder under the cache. There `<split>-<n>/images/` is a real folder
 * of links to the image files, and `<split>-<n>/labels` links to the real labels
 * folder, so the cache files land in the cache. The images folder must be real,
 * because Ultralytics resolves split folders with `Path.resolve()`, which would
 * follow a link back to the dataset. It derives label and cache paths from the
 * image paths as strings, so links to files are not resolved.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join, relative, sep } from "node:path";
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
  description.names = dataset.names;

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
    const images = split.imageFiles.filter((file) => file.startsWith(imageDir + sep));
    await linkFiles(join(linkDir, folder, "images"), imageDir, images);
    const labelDir = split.labelDirs[index];
    if (labelDir) await replaceLink(join(linkDir, folder, "labels"), labelDir);
    entries.push(`${folder}/images`);
  }
  return entries.length === 1 ? entries[0] : entries;
}

/** Makes `target` a folder holding a link to each of `files` at its path relative to `sourceDir`. */
async function linkFiles(target: string, sourceDir: string, files: string[]): Promise<void> {
  const wanted = new Map(files.map((file) => [relative(sourceDir, file), file]));
  const existing = new Set<string>();
  await Deno.mkdir(target, { recursive: true });
  for await (const path of walkLinks(target, "")) {
    const source = wanted.get(path);
    if (source !== undefined && (await Deno.readLink(join(target, path)).catch(() => "")) === source) {
      existing.add(path);
    } else {
      await Deno.remove(join(target, path));
    }
  }
  for (const [path, source] of wanted) {
    if (existing.has(path)) continue;
    await Deno.mkdir(dirname(join(target, path)), { recursive: true });
    await Deno.symlink(source, join(target, path), { type: "file" }).catch((error) => {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    });
  }
}

async function* walkLinks(root: string, prefix: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(root, prefix))) {
    const path = prefix ? join(prefix, entry.name) : entry.name;
    if (entry.isDirectory) yield* walkLinks(root, path);
    else yield path;
  }
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
