/**
 * Staging a dataset on the Hugging Face Hub, so that a Jobs run can download
 * it: validate it, create a dataset repository (private by default), and
 * upload what changed in commits of at most 100 files. The uploaded
 * `data.yaml` is normalised (`path: .`, relative forward-slash split paths,
 * every split named); the user's YAML is kept beside it as `data.original.yaml`.
 *
 * Staging is idempotent: files whose git blob oid (or LFS SHA-256) equals the
 * remote one are not sent, and remote files no longer on disk are deleted, so
 * an unchanged dataset sends no bytes and makes no commit. A small state file
 * per dataset and repository stores the size, mtime and oid of every file, so an
 * unchanged dataset is neither validated nor hashed again.
 *
 * @example
 * ```ts ignore
 * import { stageDataset } from "./stage.ts";
 * const staged = await stageDataset("datasets/thermal-dogs-and-people", { repo: "thermal-dogs" });
 * console.log(staged.url, staged.filesUploaded, staged.fingerprint);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, join, relative, resolve, sep } from "node:path";
import type { CommitOperation, ListFileEntry } from "@huggingface/hub";
import { stringify } from "yaml";
import { DatasetError, HubError, OptionsError } from "./errors.ts";
import { type HubConfig, hubConfig, type HubOptions, hubParams, toHubError } from "./hub.ts";
import { requireToken, whoami } from "./credentials.ts";
import { type Dataset, type DatasetSplit, loadDataset } from "./dataset.ts";
import { validateDataset } from "./validate.ts";
import { cacheDir } from "./paths.ts";
import { compareCodePoints, mapConcurrent } from "./_dataset_files.ts";

/** Options of {@linkcode stageDatasetIter} and {@linkcode stageDataset}. */
export interface StageOptions extends HubOptions {
  /**
   * Dataset repository: `name`, `namespace/name` or `datasets/namespace/name`.
   * @default the dataset folder's name, in the token owner's namespace
   */
  repo?: string;
  /**
   * Create the repository as private.
   * @default true
   */
  private?: boolean;
  /**
   * Hash every file even when its size and mtime match the last staging.
   * @default false
   */
  rehash?: boolean;
  /**
   * Folder of the per-dataset state files.
   * @default `<cacheDir()>/stage`
   */
  stateDir?: string;
  /** Stops the staging between steps and aborts uploads in flight. */
  signal?: AbortSignal;
}

/** Progress of a staging run. */
export type StageEvent =
  | { type: "scan"; files: number; bytes: number }
  | { type: "warning"; message: string; count: number; examples: string[] }
  | { type: "validated"; warnings: number; reused: boolean }
  | { type: "repo"; repo: string; url: string; created: boolean }
  | { type: "plan"; upload: number; uploadBytes: number; unchanged: number; delete: number }
  | { type: "progress"; filesUploaded: number; bytesUploaded: number; filesTotal: number; bytesTotal: number }
  | { type: "commit"; index: number; total: number; oid: string; files: number; bytes: number };

/** Result of a staging run. */
export interface StageResult {
  /** Repository id, `namespace/name`. */
  repo: string;
  /** Web URL of the dataset repository. */
  url: string;
  /** Files sent in this run (changed or new). */
  filesUploaded: number;
  /** Bytes of the files sent in this run. */
  bytesUploaded: number;
  /** Commits made in this run; 0 when nothing changed. */
  commits: number;
  /** SHA-256 over the sorted paths and git blob oids of the staged files: equal datasets give equal values. */
  fingerprint: string;
}

/** Maximum files (and deletions) per commit, because larger commits can time out or fail with 413 on the Hub. */
export const MAX_FILES_PER_COMMIT = 100;
/** Maximum bytes per commit, so one batch of file contents fits in memory. */
const MAX_BYTES_PER_COMMIT = 512 * 1024 * 1024;
/** Remote files staging never deletes. */
const KEEP_REMOTE = new Set([".gitattributes", "README.md"]);
/** Version of the state file layout; a change makes old state files count as missing. */
const STATE_VERSION = 1;

/** A file to stage: on disk, or generated (the normalised YAML and lists). */
interface StagedFile {
  /** Repository path, forward slashes. */
  path: string;
  size: number;
  /** Absolute path on disk; absent for generated files. */
  source?: string;
  /** Content of a generated file. */
  content?: Uint8Array<ArrayBuffer>;
  stat?: FileStat;
}

interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number | null;
}

interface StageState {
  version: number;
  /** Every scanned file by repository path, including the YAML that a generated file replaces. */
  scanned: Record<string, FileStat>;
  /** Remote git blob oid of every staged file after the last staging. */
  oids: Record<string, string>;
  /** Generated files by repository path, with their content. */
  generated: Record<string, string>;
}

/**
 * Stages a dataset folder on the Hub, yielding progress events, and returns
 * the {@linkcode StageResult}.
 *
 * @throws {DatasetError} when validation finds errors or a split lies outside the dataset folder.
 * @throws {AuthError} when there is no usable token.
 * @throws {HubError} when a Hub request fails after retries.
 */
export async function* stageDatasetIter(
  datasetPath: string,
  options: StageOptions = {},
): AsyncGenerator<StageEvent, StageResult> {
  const { private: isPrivate = true, rehash = false, stateDir = join(cacheDir(), "stage"), signal } = options;
  const config = hubConfig(options);
  const token = requireToken(config.token);
  const connection: HubConfig = { ...config, token };

  // Scan the folder, then decide whether the last staging still describes it.
  const root = await Deno.realPath(await datasetFolder(datasetPath));
  const scan = await scanFolder(root);
  yield {
    type: "scan",
    files: scan.files.length,
    bytes: scan.files.reduce((sum, file) => sum + file.size, 0),
  };
  for (const warning of scan.warnings) yield { type: "warning", ...warning };

  const repo = await resolveRepoId(options.repo ?? basename(root), options, connection);
  const statePath = join(stateDir, `${sha256Hex(`${connection.endpoint}\n${repo}\n${root}`)}.json`);
  const state = await readState(statePath);
  const unchanged = !rehash && state !== undefined && sameFiles(scan.files, state);
  signal?.throwIfAborted();

  // Validate and normalise, unless nothing changed since a staging that validated.
  let generated: Record<string, string>;
  if (unchanged) {
    generated = state.generated;
    yield { type: "validated", warnings: 0, reused: true };
  } else {
    const report = await validateDataset(datasetPath, { signal });
    if (!report.ok) throw validationError(root, report.errors);
    yield { type: "validated", warnings: report.warnings.length, reused: false };
    generated = await normalisedFiles(await loadDataset(datasetPath), root);
  }
  const files = withGenerated(scan.files, generated);

  // Compare with the repository (creating it when missing).
  const remote = yield* openRepo(repo, isPrivate, connection);
  const plan = await planUpload(files, remote, unchanged ? state : undefined, signal);
  yield {
    type: "plan",
    upload: plan.upload.length,
    uploadBytes: plan.uploadBytes,
    unchanged: files.length - plan.upload.length,
    delete: plan.deletions.length,
  };

  const commits = yield* uploadBatches(repo, plan, connection, signal);
  const finalTree = commits > 0 ? await listRemote(repo, connection) : remote;
  if (!finalTree) throw new HubError(`Dataset repository ${repo} disappeared during staging`);

  await writeState(statePath, scan.files, files, finalTree, generated);
  return {
    repo,
    url: `${connection.endpoint}/datasets/${repo}`,
    filesUploaded: plan.upload.length,
    bytesUploaded: plan.uploadBytes,
    commits,
    fingerprint: fingerprint(files, finalTree),
  };
}

/** Stages a dataset folder on the Hub; see {@linkcode stageDatasetIter}. */
export async function stageDataset(datasetPath: string, options: StageOptions = {}): Promise<StageResult> {
  const iterator = stageDatasetIter(datasetPath, options);
  while (true) {
    const step = await iterator.next();
    if (step.done) return step.value;
  }
}

async function datasetFolder(datasetPath: string): Promise<string> {
  const absolute = resolve(datasetPath);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(absolute);
  } catch {
    throw new DatasetError("Dataset folder not found", {
      file: absolute,
      hint: "Pass the folder that contains data.yaml",
    });
  }
  return info.isDirectory ? absolute : resolve(absolute, "..");
}

// ---------------------------------------------------------------------------
// Scanning the dataset folder.

/** Returns the reason a file is never uploaded, or undefined when it may be uploaded. */
export function exclusionReason(path: string): string | undefined {
  const parts = path.split("/");
  const name = parts.at(-1) ?? "";
  if (parts.some((part) => part.startsWith("."))) return "hidden files and folders (including .env)";
  if (parts.includes("__pycache__") || name.endsWith(".pyc")) return "Python caches";
  if (name.endsWith(".cache")) return "*.cache files (Ultralytics label caches)";
  if (/\.(pem|key|p12|pfx|netrc)$/i.test(name) || /^(id_rsa|id_ed25519|id_ecdsa)/.test(name)) {
    return "credential files";
  }
  if (/^(credentials|secrets?)(\.\w+)?$/i.test(name) || /(^|[._-])token(\.\w+)?$/i.test(name)) {
    return "credential files";
  }
  if (path === "data.original.yaml") return "data.original.yaml (staging writes it from your YAML)";
  return undefined;
}

async function scanFolder(
  root: string,
): Promise<{ files: StagedFile[]; warnings: Omit<Extract<StageEvent, { type: "warning" }>, "type">[] }> {
  const files: StagedFile[] = [];
  const skipped = new Map<string, string[]>();
  const skip = (reason: string, path: string) => skipped.set(reason, [...(skipped.get(reason) ?? []), path]);
  const visited = new Set<string>([root]);

  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = [];
    for await (const entry of Deno.readDir(dir)) {
      const path = prefix + entry.name;
      const reason = exclusionReason(path);
      if (reason) skip(reason, path);
      else entries.push({ entry, path, absolute: join(dir, entry.name) });
    }
    entries.sort((a, b) => a.path < b.path ? -1 : 1);

    // Stat the entries of a folder concurrently: one at a time costs more than hashing on small files.
    const infos = await mapConcurrent(entries, 32, async ({ entry, absolute }) => {
      const target = entry.isSymlink ? await Deno.realPath(absolute).catch(() => "") : absolute;
      const inside = target === root || target.startsWith(root + sep);
      return inside ? { target, info: await Deno.stat(target) } : undefined;
    });

    for (const [index, { path }] of entries.entries()) {
      const resolved = infos[index];
      if (!resolved) {
        skip("symbolic links that point outside the dataset folder", path);
        continue;
      }
      const { target, info } = resolved;
      if (info.isDirectory) {
        if (visited.has(target)) continue;
        visited.add(target);
        await walk(target, `${path}/`);
      } else if (info.isFile) {
        files.push({ path, size: info.size, source: target, stat: fileStat(info) });
      }
    }
  };
  await walk(root, "");

  const warnings = [...skipped].map(([reason, paths]) => ({
    message: `Skipped ${paths.length} file(s): ${reason}`,
    count: paths.length,
    examples: paths.slice(0, 5),
  }));
  return { files, warnings };
}

function fileStat(info: Deno.FileInfo): FileStat {
  return { size: info.size, mtimeMs: info.mtime?.getTime() ?? 0, ino: info.ino };
}

// ---------------------------------------------------------------------------
// Validation and the normalised YAML.

function validationError(
  root: string,
  errors: { code: string; message: string; file?: string; line?: number; fix: string }[],
) {
  const shown = errors.slice(0, 3).map((error) =>
    `${
      error.file ? `${error.file}${error.line ? `:${error.line}` : ""}: ` : ""
    }${error.message} (${error.fix})`
  );
  return new DatasetError(`Dataset has ${errors.length} validation error(s), so it was not staged`, {
    file: root,
    value: errors.map((error) => error.code),
    hint: `Fix them first (validateDataset() lists them all): ${shown.join("; ")}`,
  });
}

/** Builds the normalised data.yaml, data.original.yaml and any split lists, by repository path. */
async function normalisedFiles(dataset: Dataset, root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const yaml: Record<string, unknown> = { path: "." };
  const splits: DatasetSplit[] = [dataset.splits.train, dataset.splits.val];
  if (dataset.splits.test) splits.push(dataset.splits.test);

  for (const split of splits) {
    const inFolders = split.imageDirs.length > 0 &&
      split.imageFiles.every((file) => split.imageDirs.some((dir) => file.startsWith(dir + sep)));
    if (inFolders) {
      const dirs = split.imageDirs.map((dir) => insideRoot(root, dir, split.name));
      yaml[split.name] = dirs.length === 1 ? dirs[0] : dirs;
    } else {
      // Ultralytics resolves list entries that start with "./" against the list file's folder.
      const listPath = `data.${split.name}.txt`;
      files[listPath] = split.imageFiles.map((file) => `./${insideRoot(root, file, split.name)}`).join("\n") +
        "\n";
      yaml[split.name] = listPath;
    }
  }
  yaml.nc = dataset.nc;
  yaml.names = new Map(dataset.names.map((name, index) => [index, name]));
  for (const key of ["task", "kpt_shape", "flip_idx", "channels"]) {
    if (dataset.raw[key] !== undefined && dataset.raw[key] !== null) yaml[key] = dataset.raw[key];
  }

  files["data.yaml"] = stringify(yaml, { lineWidth: 0 });
  files["data.original.yaml"] = await Deno.readTextFile(dataset.yamlPath);
  return files;
}

function insideRoot(root: string, path: string, split: string): string {
  const relativePath = relative(root, path);
  if (relativePath === "" || relativePath.startsWith("..") || resolve(root, relativePath) !== path) {
    if (relativePath === "") return ".";
    throw new DatasetError(`The ${split} split lies outside the dataset folder`, {
      file: path,
      hint: `Move it inside ${root} and give its path relative to data.yaml; only that folder is uploaded`,
    });
  }
  return relativePath.replaceAll("\\", "/");
}

function withGenerated(scanned: StagedFile[], generated: Record<string, string>): StagedFile[] {
  const encoder = new TextEncoder();
  const files = scanned.filter((file) => !(file.path in generated));
  for (const [path, text] of Object.entries(generated)) {
    const content = encoder.encode(text);
    files.push({ path, size: content.byteLength, content });
  }
  return files.sort((a, b) => compareCodePoints(a.path, b.path));
}

// ---------------------------------------------------------------------------
// The remote repository.

async function resolveRepoId(repo: string, options: HubOptions, connection: HubConfig): Promise<string> {
  const id = repo.replace(/^datasets\//, "");
  const parts = id.split("/");
  const name = parts.at(-1) ?? "";
  if (parts.length > 2 || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/.test(name) || /\.\.|--/.test(name)) {
    throw new OptionsError("Invalid dataset repository name", {
      value: repo,
      hint: "Use `name` or `namespace/name` with letters, digits, '-', '_' and '.' (at most 96 characters)",
    });
  }
  if (parts.length === 2) return id;
  const account = await whoami({ ...options, endpoint: connection.endpoint, token: connection.token });
  return `${account.name}/${name}`;
}

async function* openRepo(
  repo: string,
  isPrivate: boolean,
  connection: HubConfig,
): AsyncGenerator<StageEvent, Map<string, ListFileEntry>> {
  const url = `${connection.endpoint}/datasets/${repo}`;
  const existing = await listRemote(repo, connection);
  if (existing) {
    yield { type: "repo", repo, url, created: false };
    return existing;
  }

  try {
    const { createRepo } = await import("@huggingface/hub");
    await createRepo({ ...hubParams(connection), repo: { type: "dataset", name: repo }, private: isPrivate });
  } catch (error) {
    // 409: someone created it between the listing and now, which is fine.
    if ((error as { statusCode?: number }).statusCode !== 409) {
      throw toHubError(error, {
        action: "create the dataset repository",
        endpoint: connection.endpoint,
        repo,
      });
    }
  }
  yield { type: "repo", repo, url, created: true };
  return await listRemote(repo, connection) ?? new Map();
}

/** Lists every remote file by path, or returns undefined when the repository does not exist. */
async function listRemote(
  repo: string,
  connection: HubConfig,
): Promise<Map<string, ListFileEntry> | undefined> {
  const entries = new Map<string, ListFileEntry>();
  try {
    for await (
      const entry of (await import("@huggingface/hub")).listFiles({
        ...hubParams(connection),
        repo: { type: "dataset", name: repo },
        recursive: true,
      })
    ) {
      if (entry.type === "file") entries.set(entry.path, entry);
    }
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw toHubError(error, { action: "list the dataset repository", endpoint: connection.endpoint, repo });
  }
  return entries;
}

// ---------------------------------------------------------------------------
// Deciding what to send.

interface UploadPlan {
  upload: StagedFile[];
  uploadBytes: number;
  deletions: string[];
}

async function planUpload(
  files: StagedFile[],
  remote: Map<string, ListFileEntry>,
  state: StageState | undefined,
  signal?: AbortSignal,
): Promise<UploadPlan> {
  const same = await mapConcurrent(files, 16, async (file) => {
    signal?.throwIfAborted();
    const entry = remote.get(file.path);
    if (!entry || entry.size !== file.size) return false;
    const known = state?.scanned[file.path];
    if (known && file.stat && sameStat(known, file.stat)) return state?.oids[file.path] === entry.oid;

    const content = file.content ?? await Deno.readFile(file.source!);
    return entry.lfs ? sha256Hex(content) === entry.lfs.oid : gitBlobOid(content) === entry.oid;
  });

  const upload = files.filter((_, index) => !same[index]);
  const local = new Set(files.map((file) => file.path));
  const deletions = [...remote.keys()].filter((path) => !local.has(path) && !KEEP_REMOTE.has(path));
  return { upload, uploadBytes: upload.reduce((sum, file) => sum + file.size, 0), deletions };
}

function sameStat(a: FileStat, b: FileStat): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

function sameFiles(scanned: StagedFile[], state: StageState): boolean {
  if (scanned.length !== Object.keys(state.scanned).length) return false;
  return scanned.every((file) => {
    const known = state.scanned[file.path];
    return known !== undefined && file.stat !== undefined && sameStat(known, file.stat);
  });
}

// ---------------------------------------------------------------------------
// Uploading.

async function* uploadBatches(
  repo: string,
  plan: UploadPlan,
  connection: HubConfig,
  signal?: AbortSignal,
): AsyncGenerator<StageEvent, number> {
  const operations: (StagedFile | string)[] = [...plan.upload, ...plan.deletions];
  const batches = batchOperations(operations);
  let filesUploaded = 0;
  let bytesUploaded = 0;

  for (const [index, batch] of batches.entries()) {
    signal?.throwIfAborted();
    const commitOperations: CommitOperation[] = await Promise.all(
      batch.map(async (item) =>
        typeof item === "string" ? { operation: "delete" as const, path: item } : {
          operation: "addOrUpdate" as const,
          path: item.path,
          // A Blob of known size: Deno sends stream bodies chunked, which presigned upload URLs reject.
          content: new Blob([item.content ?? await Deno.readFile(item.source!)]),
        }
      ),
    );
    const batchFiles = batch.filter((item): item is StagedFile => typeof item !== "string");
    const title = `Stage dataset (${index + 1}/${batches.length}): ${batchFiles.length} file(s)` +
      (batch.length > batchFiles.length ? `, ${batch.length - batchFiles.length} deletion(s)` : "");

    const sizes = new Map(batchFiles.map((file) => [file.path, file.size]));
    const done = new Set<string>();
    const progress = () => ({
      type: "progress" as const,
      filesUploaded,
      bytesUploaded,
      filesTotal: plan.upload.length,
      bytesTotal: plan.uploadBytes,
    });
    const markDone = (path: string) => {
      if (done.has(path) || !sizes.has(path)) return false;
      done.add(path);
      filesUploaded++;
      bytesUploaded += sizes.get(path)!;
      return true;
    };

    let output;
    try {
      const iterator = (await import("@huggingface/hub")).commitIter({
        ...hubParams(connection),
        repo: { type: "dataset", name: repo },
        operations: commitOperations,
        title,
        useXet: false,
        abortSignal: signal,
      });
      while (true) {
        const step = await iterator.next();
        if (step.done) {
          output = step.value;
          break;
        }
        const event = step.value;
        if (
          event.event === "fileProgress" && event.state === "uploading" && event.progress >= 1 &&
          markDone(event.path)
        ) {
          yield progress();
        }
      }
    } catch (error) {
      throw toHubError(error, {
        action: `upload batch ${index + 1} of ${batches.length}`,
        endpoint: connection.endpoint,
        repo,
      });
    }

    for (const path of sizes.keys()) markDone(path);
    yield progress();
    yield {
      type: "commit",
      index: index + 1,
      total: batches.length,
      oid: output?.commit.oid ?? "",
      files: batchFiles.length,
      bytes: batchFiles.reduce((sum, file) => sum + file.size, 0),
    };
  }
  return batches.length;
}

function batchOperations(operations: (StagedFile | string)[]): (StagedFile | string)[][] {
  const batches: (StagedFile | string)[][] = [];
  let current: (StagedFile | string)[] = [];
  let bytes = 0;
  for (const operation of operations) {
    const size = typeof operation === "string" ? 0 : operation.size;
    if (
      current.length >= MAX_FILES_PER_COMMIT || (current.length > 0 && bytes + size > MAX_BYTES_PER_COMMIT)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(operation);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

// ---------------------------------------------------------------------------
// State file, hashes and fingerprint.

async function readState(path: string): Promise<StageState | undefined> {
  try {
    const state = JSON.parse(await Deno.readTextFile(path)) as StageState;
    return state.version === STATE_VERSION ? state : undefined;
  } catch {
    return undefined;
  }
}

async function writeState(
  path: string,
  scanned: StagedFile[],
  staged: StagedFile[],
  remote: Map<string, ListFileEntry>,
  generated: Record<string, string>,
): Promise<void> {
  const state: StageState = { version: STATE_VERSION, scanned: {}, oids: {}, generated };
  for (const file of scanned) if (file.stat) state.scanned[file.path] = file.stat;
  for (const file of staged) {
    const oid = remote.get(file.path)?.oid;
    if (oid) state.oids[file.path] = oid;
  }
  // A state file that cannot be written only makes the next staging hash again.
  try {
    await Deno.mkdir(resolve(path, ".."), { recursive: true });
    await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(state));
    await Deno.rename(`${path}.tmp`, path);
  } catch {
    // NOTE: not reported, so the next staging compares by content instead.
  }
}

function fingerprint(files: StagedFile[], remote: Map<string, ListFileEntry>): string {
  const hash = createHash("sha256");
  for (const file of files) hash.update(`${file.path}\0${remote.get(file.path)?.oid ?? ""}\n`);
  return hash.digest("hex");
}

function sha256Hex(content: Uint8Array | string): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Git blob oid: SHA-1 of `blob <size>\0` followed by the content. */
function gitBlobOid(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.byteLength}\0`).update(content).digest("hex");
}
