/**
 * Finding and parsing a dataset's YAML file, keeping the line of every
 * top-level key so that later checks can point at it.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { DatasetError, type ErrorDetails } from "./errors.ts";

/** A dataset YAML that cannot be found or read, with a stable code for validation reports. */
export class DatasetYamlError extends DatasetError {
  /** Stable identifier, e.g. `yaml-invalid`. */
  readonly code: string;

  constructor(code: string, summary: string, details: ErrorDetails) {
    super(summary, details);
    this.code = code;
  }
}

/** A parsed dataset YAML file. */
export interface DatasetYaml {
  /** Absolute path of the YAML file. */
  path: string;
  /** File text as read. */
  text: string;
  /** Parsed top-level mapping. */
  raw: Record<string, unknown>;
  /** 1-based line of each top-level key. */
  keyLines: Map<string, number>;
}

/**
 * Finds the YAML file of a dataset: `path` itself when it is a .yaml/.yml file,
 * else `data.yaml`, `data.yml` or the only *.yaml/*.yml file in the folder.
 */
export async function findDatasetYaml(path: string): Promise<string> {
  const absolute = resolve(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(absolute);
  } catch {
    throw new DatasetYamlError("dataset-not-found", "Dataset path not found", {
      value: absolute,
      hint: "Pass a dataset folder that contains data.yaml, or the path of the YAML file itself",
    });
  }
  if (info.isFile) return absolute;

  for (const name of ["data.yaml", "data.yml"]) {
    const candidate = join(absolute, name);
    if ((await Deno.stat(candidate).catch(() => undefined))?.isFile) return candidate;
  }
  const yamlFiles: string[] = [];
  for await (const entry of Deno.readDir(absolute)) {
    if (entry.isFile && /\.ya?ml$/i.test(entry.name)) yamlFiles.push(entry.name);
  }
  if (yamlFiles.length === 1) return join(absolute, yamlFiles[0]);
  if (yamlFiles.length === 0) {
    throw new DatasetYamlError("yaml-not-found", "No data.yaml found in the dataset folder", {
      file: absolute,
      hint: "Add a data.yaml with train, val and names keys, or pass the path of the dataset's YAML file",
    });
  }
  throw new DatasetYamlError(
    "yaml-ambiguous",
    "The dataset folder contains several YAML files and no data.yaml",
    {
      file: absolute,
      value: yamlFiles.sort().join(", "),
      hint: "Pass the path of the dataset's YAML file instead of the folder",
    },
  );
}

/** PyYAML turns mapping values into Python objects; Ultralytics then calls `str()` on class names. */
function pythonStr(value: unknown): string {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null || value === undefined) return "None";
  return String(value);
}

/**
 * Parses a dataset YAML file with YAML 1.1 rules (as PyYAML does, so `no`
 * is false and duplicate keys keep the last value) and requires a mapping.
 */
export async function readDatasetYaml(yamlPath: string): Promise<DatasetYaml> {
  const bytes = await Deno.readFile(yamlPath);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes).replace(/^\uFEFF/, "");
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { version: "1.1", uniqueKeys: false, lineCounter });

  if (document.errors.length > 0) {
    const error = document.errors[0];
    throw new DatasetYamlError("yaml-invalid", `Invalid YAML: ${error.message.split("\n")[0]}`, {
      file: yamlPath,
      line: error.linePos?.[0].line,
      hint: "Fix the YAML syntax at that line; keys and values are written as `key: value`",
    });
  }

  const contents = document.contents;
  if (!isMap(contents)) {
    const kind = contents === null ? "empty" : isScalar(contents) ? "a single value" : "a list";
    throw new DatasetYamlError(
      "yaml-not-mapping",
      `${basename(yamlPath)} is ${kind}, not a mapping of dataset keys`,
      {
        file: yamlPath,
        hint: "A dataset YAML maps keys such as `train:`, `val:` and `names:` to values",
      },
    );
  }

  const keyLines = new Map<string, number>();
  for (const pair of contents.items) {
    const key = isScalar(pair.key) ? pair.key : undefined;
    if (key?.range) keyLines.set(String(key.value), lineCounter.linePos(key.range[0]).line);
  }
  const raw = document.toJS() as Record<string, unknown>;
  // Ultralytics turns the string "None" in a top-level value into None.
  for (const [key, value] of Object.entries(raw)) if (value === "None") raw[key] = null;
  return { path: yamlPath, text, raw, keyLines };
}

/**
 * Converts `names:` (a list or a mapping with integer keys) into a list, as
 * Ultralytics' `check_class_names` does. Returns an error message for a value
 * that cannot be a class list.
 */
export function normaliseNames(names: unknown): { names: string[] } | { problem: string } {
  if (Array.isArray(names)) return { names: names.map(pythonStr) };
  if (names === null || typeof names !== "object") {
    return { problem: `names must be a list or a mapping, not ${JSON.stringify(names)}` };
  }
  const entries = Object.entries(names as Record<string, unknown>);
  const byIndex = new Map<number, string>();
  for (const [key, value] of entries) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0) {
      return { problem: `names key ${JSON.stringify(key)} is not a class index (0, 1, 2, ...)` };
    }
    byIndex.set(index, pythonStr(value));
  }
  const count = byIndex.size;
  for (let i = 0; i < count; i++) {
    if (!byIndex.has(i)) {
      const keys = [...byIndex.keys()].sort((a, b) => a - b);
      return {
        problem: `names has ${count} classes, so it needs keys 0-${count - 1}, but its keys are ${
          keys.join(", ")
        }`,
      };
    }
  }
  return { names: Array.from({ length: count }, (_, i) => byIndex.get(i)!) };
}
