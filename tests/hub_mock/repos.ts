/**
 * In-memory repositories of the mock Hub: real commits with git blob oids,
 * LFS objects keyed by SHA-256, and snapshots per commit so `resolve` and
 * `tree` work on `main` and on any commit oid.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Repository kinds the mock serves. */
export type MockRepoType = "model" | "dataset" | "space";

/** A file in one commit's snapshot. */
export interface MockFile {
  path: string;
  size: number;
  /** Git blob oid (SHA-1) of the stored blob: the content, or the LFS pointer for LFS files. */
  oid: string;
  /** LFS details, for files committed as `lfsFile`. */
  lfs?: { sha256: string; pointerSize: number };
  content: Uint8Array;
}

/** One commit of a mock repository. */
export interface MockCommit {
  oid: string;
  title: string;
  description: string;
  parent?: string;
  date: string;
  /** The whole tree after this commit, by path. */
  files: Map<string, MockFile>;
  /** Paths added or changed by this commit. */
  changed: string[];
  /** Paths deleted by this commit. */
  deleted: string[];
}

/** A mock repository. */
export interface MockRepo {
  type: MockRepoType;
  /** `namespace/name`. */
  id: string;
  private: boolean;
  createdAt: string;
  /** Commits, oldest first; the last one is `main`. */
  commits: MockCommit[];
}

/** One ndjson operation of a commit request after decoding. */
export type CommitOperation =
  | { kind: "file"; path: string; content: Uint8Array }
  | { kind: "lfsFile"; path: string; sha256: string; size: number }
  | { kind: "deletedFile"; path: string }
  | { kind: "deletedFolder"; path: string };

/** An error the repository store raises with the HTTP status the mock should answer. */
export class MockHttpError extends Error {
  constructor(readonly status: number, message: string, readonly errorCode?: string) {
    super(message);
  }
}

/** Returns the git blob oid (SHA-1 of `blob <size>\0<content>`). */
export function gitBlobOid(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.byteLength}\0`).update(content).digest("hex");
}

/** Returns the hex SHA-256 of `content`. */
export function sha256Hex(content: Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

function lfsPointer(sha256: string, size: number): Uint8Array {
  return new TextEncoder().encode(
    `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`,
  );
}

const GITATTRIBUTES = "*.bin filter=lfs diff=lfs merge=lfs -text\n*.pt filter=lfs diff=lfs merge=lfs -text\n";

/** Repositories and LFS objects of one mock Hub. */
export class RepoStore {
  readonly repos = new Map<string, MockRepo>();
  readonly lfsObjects = new Map<string, Uint8Array>();

  /** Creates a repository with an initial commit holding `.gitattributes`, as the Hub does. */
  create(type: MockRepoType, id: string, isPrivate: boolean): MockRepo {
    const key = `${type}:${id}`;
    if (this.repos.has(key)) throw new MockHttpError(409, `You already created this ${type} repo`);
    const repo: MockRepo = { type, id, private: isPrivate, createdAt: new Date().toISOString(), commits: [] };
    this.repos.set(key, repo);
    this.commit(repo, [{
      kind: "file",
      path: ".gitattributes",
      content: new TextEncoder().encode(GITATTRIBUTES),
    }], {
      title: "initial commit",
    });
    return repo;
  }

  /** Returns the repository, or undefined. */
  get(type: MockRepoType, id: string): MockRepo | undefined {
    return this.repos.get(`${type}:${id}`);
  }

  /** Returns the commit that `revision` (a branch name or commit oid) points to. */
  resolveRevision(repo: MockRepo, revision: string): MockCommit {
    const commit = revision === "main" ? repo.commits.at(-1) : repo.commits.find((c) => c.oid === revision);
    if (!commit) throw new MockHttpError(404, `Invalid rev id: ${revision}`, "RevisionNotFound");
    return commit;
  }

  /** Applies `operations` on top of `main` and records a new commit. */
  commit(
    repo: MockRepo,
    operations: CommitOperation[],
    header: { title: string; description?: string; parentCommit?: string },
  ): MockCommit {
    const head = repo.commits.at(-1);
    if (header.parentCommit && head && header.parentCommit !== head.oid) {
      throw new MockHttpError(412, "A commit has happened since. Please refresh and try again.");
    }

    const files = new Map(head?.files);
    const changed: string[] = [];
    const deleted: string[] = [];
    for (const operation of operations) {
      switch (operation.kind) {
        case "file":
          files.set(operation.path, {
            path: operation.path,
            size: operation.content.byteLength,
            oid: gitBlobOid(operation.content),
            content: operation.content,
          });
          changed.push(operation.path);
          break;
        case "lfsFile": {
          const content = this.lfsObjects.get(operation.sha256);
          if (!content || content.byteLength !== operation.size) {
            throw new MockHttpError(
              422,
              `Your push was rejected because an LFS pointer pointed to a file that does not exist: ${operation.path}`,
            );
          }
          const pointer = lfsPointer(operation.sha256, operation.size);
          files.set(operation.path, {
            path: operation.path,
            size: operation.size,
            oid: gitBlobOid(pointer),
            lfs: { sha256: operation.sha256, pointerSize: pointer.byteLength },
            content,
          });
          changed.push(operation.path);
          break;
        }
        case "deletedFile":
          if (files.delete(operation.path)) deleted.push(operation.path);
          break;
        case "deletedFolder":
          for (const path of [...files.keys()]) {
            if (path.startsWith(operation.path.replace(/\/?$/, "/"))) {
              files.delete(path);
              deleted.push(path);
            }
          }
          break;
      }
    }

    const date = new Date().toISOString();
    const oid = createHash("sha1").update(
      `${head?.oid ?? ""}\n${header.title}\n${date}\n${changed.join("\n")}\n${
        deleted.join("\n")
      }\n${repo.commits.length}`,
    )
      .digest("hex");
    const commit: MockCommit = {
      oid,
      title: header.title,
      description: header.description ?? "",
      parent: head?.oid,
      date,
      files,
      changed,
      deleted,
    };
    repo.commits.push(commit);
    return commit;
  }
}

/** One entry of `GET /api/{type}s/{repo}/tree/...`, in the Hub's JSON shape. */
export interface TreeEntry {
  type: "file" | "directory";
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number; pointerSize: number };
}

/** Lists the files (and folders) of a snapshot under `prefix`, like the Hub's tree endpoint. */
export function listTree(files: Map<string, MockFile>, prefix: string, recursive: boolean): TreeEntry[] {
  const base = prefix.replace(/^\/+|\/+$/g, "");
  const under = base ? `${base}/` : "";
  const directories = new Set<string>();
  const entries: TreeEntry[] = [];

  for (const file of [...files.values()].sort((a, b) => a.path.localeCompare(b.path))) {
    if (!file.path.startsWith(under)) continue;
    const rest = file.path.slice(under.length);
    const parts = rest.split("/");
    const folderDepth = recursive ? parts.length - 1 : Math.min(1, parts.length - 1);
    for (let depth = 1; depth <= folderDepth; depth++) {
      directories.add(under + parts.slice(0, depth).join("/"));
    }
    if (!recursive && parts.length > 1) continue;
    entries.push({
      type: "file",
      oid: file.oid,
      size: file.size,
      path: file.path,
      ...(file.lfs
        ? { lfs: { oid: file.lfs.sha256, size: file.size, pointerSize: file.lfs.pointerSize } }
        : {}),
    });
  }

  const folders: TreeEntry[] = [...directories].sort().map((path) => ({
    type: "directory",
    oid: createHash("sha1").update(`tree ${path}`).digest("hex"),
    size: 0,
    path,
  }));
  return [...folders, ...entries];
}
