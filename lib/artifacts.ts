/**
 * Downloading run artifacts from a Hub model repository into a run folder. Names
 * from the Hub cannot escape the folder. Each file is written under a temporary
 * name and resumed after a dropped connection. It is checked against the Hub's
 * size and hash, and a checkpoint must not be an HTML error page. Only then is it
 * renamed into place.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { HubError, TrainbookError } from "./errors.ts";
import type { HubConfig } from "./hub.ts";

/** A file listed in the model repository. */
export interface RemoteFile {
  path: string;
  size: number;
  /** sha256 of the content for LFS files. */
  sha256?: string;
  /** Git blob id (sha1 of "blob <size>\0" + content) for regular files. */
  gitOid?: string;
}

/** A downloaded and verified artifact. */
export interface DownloadedArtifact {
  path: string;
  size: number;
  sha256: string;
}

/** Thrown when a downloaded file does not match the Hub's record or is not what it claims to be. */
export class ArtifactError extends TrainbookError {}

const MAX_RESUMES = 5;

/**
 * Returns `base/name` after checking that `name` is a plain relative path inside
 * `base`: no absolute paths, no `..` segments, no backslashes, no empty segments.
 *
 * @throws {ArtifactError} for a name that would escape the folder.
 */
export function safeJoin(base: string, name: string): string {
  const bad = name === "" || isAbsolute(name) || name.includes("\\") || name.includes("\0") ||
    name.split("/").some((part) => part === ".." || part === "." || part === "");
  const target = normalize(join(base, name));
  if (bad || !target.startsWith(normalize(base) + sep)) {
    throw new ArtifactError("Refusing a file name from the Hub that points outside the run folder", {
      value: name,
      hint: "The model repository contains an unsafe path; remove that file from the repository",
    });
  }
  return target;
}

/** Lists the files of a model repository with their sizes and hashes. */
export async function listRemoteFiles(config: HubConfig, repo: string): Promise<RemoteFile[]> {
  const { listFiles } = await import("@huggingface/hub");
  const files: RemoteFile[] = [];
  for await (
    const entry of listFiles({
      repo: { type: "model", name: repo },
      recursive: true,
      hubUrl: config.endpoint,
      fetch: config.fetch,
      accessToken: config.token,
    })
  ) {
    if (entry.type !== "file") continue;
    files.push({
      path: entry.path,
      size: entry.size,
      sha256: entry.lfs?.oid,
      gitOid: entry.lfs ? undefined : entry.oid,
    });
  }
  return files;
}

/**
 * Downloads `file` from `repo` to `dir/file.path`. The content goes to
 * `<name>.partial` first. After a dropped connection the download resumes from
 * the bytes already written. The result must match the Hub's size and hash, and a
 * `.pt` file must be a zip (torch checkpoint), not an HTML error page.
 */
export async function downloadArtifact(
  config: HubConfig,
  repo: string,
  file: RemoteFile,
  dir: string,
  options: { onResume?: (bytes: number, error: unknown) => void } = {},
): Promise<DownloadedArtifact> {
  const target = safeJoin(dir, file.path);
  await Deno.mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  await Deno.remove(partial).catch(() => {});

  const { downloadFile } = await import("@huggingface/hub");
  const blob = await downloadFile({
    repo: { type: "model", name: repo },
    path: file.path,
    hubUrl: config.endpoint,
    fetch: config.fetch,
    accessToken: config.token,
    xet: false,
  });
  if (!blob) {
    throw new HubError("Artifact not found in the model repository", {
      value: file.path,
      hint: `Check the files of ${repo} on the Hub`,
    });
  }

  let written = 0;
  for (let attempt = 0;; attempt++) {
    try {
      using handle = await Deno.open(partial, { write: true, create: true, append: true });
      const reader = blob.slice(written).stream();
      for await (const chunk of reader) {
        await handle.write(chunk);
        written += chunk.byteLength;
      }
      break;
    } catch (error) {
      if (attempt >= MAX_RESUMES || isDiskFull(error)) {
        await Deno.remove(partial).catch(() => {});
        throw new HubError(`Downloading ${file.path} failed after ${attempt + 1} attempts`, {
          value: String(error),
          hint: "Check the network and fetch the run's artifacts again",
          cause: error,
        });
      }
      options.onResume?.(written, error);
    }
  }

  try {
    const sha256 = await verifyDownload(partial, file);
    await Deno.rename(partial, target);
    return { path: file.path, size: written, sha256 };
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    throw error;
  }
}

/** Returns whether `error` reports a full disk (ENOSPC), which retrying cannot fix. */
export function isDiskFull(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /ENOSPC|No space left on device|os error 28/.test(text);
}

async function verifyDownload(path: string, file: RemoteFile): Promise<string> {
  const content = await Deno.readFile(path);
  if (content.byteLength !== file.size) {
    throw new ArtifactError("Downloaded file has the wrong size", {
      file: file.path,
      value: content.byteLength,
      hint: `The Hub lists ${file.size} bytes; fetch the artifacts again`,
    });
  }
  const sha256 = createHash("sha256").update(content).digest("hex");
  if (file.sha256 && sha256 !== file.sha256) {
    throw new ArtifactError("Downloaded file does not match the Hub's sha256", {
      file: file.path,
      value: sha256,
      hint: `Expected ${file.sha256}; fetch the artifacts again`,
    });
  }
  if (file.gitOid) {
    const header = new TextEncoder().encode(`blob ${content.byteLength}\0`);
    const blobId = createHash("sha1").update(header).update(content).digest("hex");
    if (blobId !== file.gitOid) {
      throw new ArtifactError("Downloaded file does not match the Hub's git object id", {
        file: file.path,
        value: blobId,
        hint: `Expected ${file.gitOid}; fetch the artifacts again`,
      });
    }
  }
  if (file.path.endsWith(".pt") && !(content[0] === 0x50 && content[1] === 0x4b)) {
    const start = new TextDecoder().decode(content.slice(0, 64)).trim();
    throw new ArtifactError("Downloaded checkpoint is not a torch checkpoint", {
      file: file.path,
      value: start,
      hint: start.startsWith("<")
        ? "The Hub returned an HTML page instead of the file; try again later"
        : "The file is damaged; fetch it again",
    });
  }
  return sha256;
}
