/**
 * A local mock of the Hugging Face Hub and Jobs HTTP API for tests. It listens
 * on 127.0.0.1 only, on a free port. It serves the requests `@huggingface/hub`
 * 2.17.5 sends for repositories (create, preupload, LFS batch and upload,
 * ndjson commit, tree, resolve) and for jobs (create, inspect, list, cancel,
 * labels, SSE logs, hardware). Fault switches add rate limits, server errors
 * and job failures.
 *
 * Python's `huggingface_hub` 1.33 (whoami, create_repo, upload_folder,
 * snapshot_download) works against it too; a test runs it inside a mock job
 * when a Python with that package is available.
 *
 * @example
 * ```ts
 * import { MockHub } from "./server.ts";
 * await using hub = await MockHub.start();
 * const me = await (await fetch(`${hub.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${hub.token}` } })).json();
 * console.assert(me.name === hub.user);
 * ```
 *
 * @module
 */
import { MOCK_HARDWARE } from "./flavors.ts";
import { type JobFaults, type JobInfo, JobStore, logStream, type MockJob } from "./jobs.ts";
import {
  type CommitOperation,
  listTree,
  MockHttpError,
  type MockRepo,
  type MockRepoType,
  RepoStore,
  sha256Hex,
} from "./repos.ts";
import { type JobRunner, processJobRunner } from "./runner.ts";

export { type JobFaults, type JobInfo } from "./jobs.ts";
export {
  type JobRun,
  type JobRunner,
  processJobRunner,
  type RunnableJob,
  scriptedJobRunner,
} from "./runner.ts";
export type { MockCommit, MockRepo } from "./repos.ts";

/** Names of the routes the mock serves, for fault switches and the request log. */
export type MockRoute =
  | "whoami"
  | "create-repo"
  | "repo-info"
  | "preupload"
  | "lfs-batch"
  | "lfs-upload"
  | "commit"
  | "tree"
  | "resolve"
  | "hardware"
  | "job-create"
  | "job-list"
  | "job-inspect"
  | "job-cancel"
  | "job-labels"
  | "job-logs"
  | "validate-yaml"
  | "unknown";

/** Options of {@linkcode MockHub.start}. */
export interface MockHubOptions {
  /** The valid access token. @default a fixed `hf_` test token */
  token?: string;
  /** User name whoami-v2 returns. @default "trainbook-tester" */
  user?: string;
  /** Organisations the user belongs to. @default ["trainbook-org"] */
  orgs?: string[];
  /** Runs submitted jobs. @default processJobRunner({ python }) */
  jobRunner?: JobRunner;
  /** Python for the default job runner. @default "python3" */
  python?: string;
  /** Interval of SSE keep-alive comments, in milliseconds. @default 30_000 */
  keepAliveMs?: number;
  /** Files at least this large are LFS files (binary files always are). @default 10 MiB */
  lfsThreshold?: number;
  /** Entries per page of the tree listing. @default 1000 */
  treePageSize?: number;
  /** Faults applied to every job created from now on. @default {} */
  jobFaults?: JobFaults;
  /** When set, every job created is owned by this organisation, whatever namespace the request used. */
  jobOwnerOrg?: string;
}

/** One request the mock handled. */
export interface LoggedRequest {
  method: string;
  path: string;
  route: MockRoute;
  status: number;
  requestId: string;
}

/** A failure the mock returns for the next requests of a route. */
export interface FaultOptions {
  /** HTTP status. @default 500 */
  status?: number;
  /** Value of the Retry-After header, in seconds. */
  retryAfterSeconds?: number;
  /** Reset value of a `RateLimit: "api";r=0;t=N` header, in seconds. */
  rateLimitResetSeconds?: number;
  /** Error message in the JSON body. */
  message?: string;
}

const DEFAULT_TOKEN = "hf_MockHubTestToken0123456789abcdefgh";

const DEFAULT_MESSAGES: Record<number, string> = {
  401: "Invalid credentials in Authorization header",
  402: "You need to add a payment method or credits to your account to run jobs on this hardware.",
  403: "You don't have the rights to do this.",
  404: "Not Found",
  429: "You have exceeded our rate limit. Please retry later.",
  500: "Internal Error - We're working hard to fix this as soon as possible!",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** The mock Hub server. Start it with {@linkcode MockHub.start}; stop it with `close()` or `await using`. */
export class MockHub {
  /** Base URL, such as `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The access token the mock accepts. */
  readonly token: string;
  /** The user name the token belongs to. */
  readonly user: string;
  /** Organisations of the user. */
  readonly orgs: string[];
  /** Every request handled, oldest first. */
  readonly requests: LoggedRequest[] = [];
  /** Repositories and LFS objects. */
  readonly store = new RepoStore();
  /** Bytes of file content received: LFS uploads plus inline commit content. */
  bytesReceived = 0;
  /** Job owner override; see {@linkcode MockHubOptions.jobOwnerOrg}. */
  jobOwnerOrg?: string;
  /** The runner for jobs created from now on. */
  jobRunner: JobRunner;

  #server: Deno.HttpServer<Deno.NetAddr>;
  #options: Required<Pick<MockHubOptions, "keepAliveMs" | "lfsThreshold" | "treePageSize">>;
  #jobFaults: JobFaults;
  #faults: { route: MockRoute | "*"; remaining: number; options: FaultOptions }[] = [];
  #jobs: JobStore;
  #openStreams = new Set<() => void>();
  #requestCounter = 0;

  private constructor(options: MockHubOptions) {
    this.token = options.token ?? DEFAULT_TOKEN;
    this.user = options.user ?? "trainbook-tester";
    this.orgs = [...(options.orgs ?? ["trainbook-org"])];
    this.jobOwnerOrg = options.jobOwnerOrg;
    if (this.jobOwnerOrg && !this.orgs.includes(this.jobOwnerOrg)) this.orgs.push(this.jobOwnerOrg);
    this.jobRunner = options.jobRunner ?? processJobRunner({ python: options.python ?? "python3" });
    this.#jobFaults = options.jobFaults ?? {};
    this.#options = {
      keepAliveMs: options.keepAliveMs ?? 30_000,
      lfsThreshold: options.lfsThreshold ?? 10 * 1024 * 1024,
      treePageSize: options.treePageSize ?? 1000,
    };
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => this.#handle(request),
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
    this.#jobs = new JobStore(
      () => this.jobRunner,
      () => ({ HF_ENDPOINT: this.url, HF_HUB_DISABLE_XET: "1" }),
    );
  }

  /** Starts a mock on a free port of 127.0.0.1. */
  static start(options: MockHubOptions = {}): Promise<MockHub> {
    return Promise.resolve(new MockHub(options));
  }

  /** Stops the jobs, closes open log streams and shuts the server down. */
  async close(): Promise<void> {
    await this.#jobs.stopAll();
    for (const close of [...this.#openStreams]) close();
    await this.#server.shutdown();
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Fails the next `count` requests of `route` (or of every route, `"*"`) with the given status. */
  failNext(route: MockRoute | "*", count: number, options: FaultOptions = {}): void {
    this.#faults.push({ route, remaining: count, options });
  }

  /** Sets the faults of jobs created from now on; call with `{}` to clear them. */
  setJobFaults(faults: JobFaults): void {
    this.#jobFaults = faults;
  }

  /** Returns the repository, if it exists. */
  repo(id: string, type: MockRepoType = "dataset"): MockRepo | undefined {
    return this.store.get(type, id);
  }

  /** Returns the commits of a repository, oldest first (the first is the initial commit). */
  commits(id: string, type: MockRepoType = "dataset"): MockRepo["commits"] {
    return this.repo(id, type)?.commits ?? [];
  }

  /** Returns the number of requests handled on `route`. */
  requestCount(route: MockRoute): number {
    return this.requests.filter((request) => request.route === route).length;
  }

  /** Returns every job, oldest first. */
  jobs(): JobInfo[] {
    return [...this.#jobs.jobs.values()].map((job) => this.#jobs.refresh(job));
  }

  /** Returns a job's log lines so far. */
  jobLogs(id: string): string[] {
    return this.#jobs.jobs.get(id)?.logs.map((line) => line.data) ?? [];
  }

  /** Resolves when the job reaches a terminal stage; returns its final info. */
  async waitForJob(id: string): Promise<JobInfo> {
    const job = this.#jobs.jobs.get(id);
    if (!job) throw new Error(`mock Hub: no job ${id}`);
    await job.done;
    return job.info;
  }

  /** Cancels a job as the dashboard would. */
  cancelJob(id: string): JobInfo | undefined {
    const job = this.#jobs.jobs.get(id);
    return job && this.#jobs.cancel(job);
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const requestId = `mock-${++this.#requestCounter}`;
    const match = matchRoute(request.method, url.pathname);
    let response: Response;
    try {
      response = this.#takeFault(match.route) ?? await this.#dispatch(request, url, match);
    } catch (error) {
      response = error instanceof MockHttpError
        ? errorResponse(error.status, error.message, error.errorCode)
        : errorResponse(500, `mock Hub: ${error instanceof Error ? error.message : error}`);
    }
    response.headers.set("X-Request-Id", requestId);
    this.requests.push({
      method: request.method,
      path: url.pathname,
      route: match.route,
      status: response.status,
      requestId,
    });
    return response;
  }

  #takeFault(route: MockRoute): Response | undefined {
    const fault = this.#faults.find((f) => f.remaining > 0 && (f.route === route || f.route === "*"));
    if (!fault) return undefined;
    fault.remaining--;
    const { status = 500, retryAfterSeconds, rateLimitResetSeconds, message } = fault.options;
    const response = errorResponse(status, message ?? DEFAULT_MESSAGES[status] ?? `HTTP ${status}`);
    if (retryAfterSeconds !== undefined) response.headers.set("Retry-After", String(retryAfterSeconds));
    if (rateLimitResetSeconds !== undefined) {
      response.headers.set("RateLimit", `"api";r=0;t=${rateLimitResetSeconds}`);
    }
    return response;
  }

  async #dispatch(request: Request, url: URL, match: RouteMatch): Promise<Response> {
    const auth = this.#authenticate(request);
    if (auth === "invalid") throw new MockHttpError(401, DEFAULT_MESSAGES[401]);
    const params = match.params;

    switch (match.route) {
      case "hardware":
        return json(MOCK_HARDWARE);
      case "validate-yaml":
        // huggingface_hub validates a README.md's metadata here before committing it; the mock accepts all.
        return json({ errors: [], warnings: [] });
      case "lfs-upload":
        return await this.#lfsUpload(request, params);
      case "resolve":
        return this.#resolve(request, params, auth === "valid");
      case "tree":
        return this.#tree(url, params, auth === "valid");
      case "repo-info":
        return this.#repoInfo(params, auth === "valid");
      case "unknown":
        throw new MockHttpError(404, `mock Hub: no route for ${request.method} ${url.pathname}`);
    }

    if (auth !== "valid") throw new MockHttpError(401, DEFAULT_MESSAGES[401]);
    switch (match.route) {
      case "whoami":
        return json(this.#whoami());
      case "create-repo":
        return this.#createRepo(await request.json());
      case "preupload":
        return this.#preupload(params, await request.json());
      case "lfs-batch":
        return this.#lfsBatch(params, await request.json());
      case "commit":
        return this.#commit(params, await request.text());
      default:
        return await this.#jobRoute(request, url, match);
    }
  }

  #authenticate(request: Request): "none" | "valid" | "invalid" {
    const header = request.headers.get("Authorization");
    if (!header) return "none";
    return header === `Bearer ${this.token}` ? "valid" : "invalid";
  }

  #whoami() {
    return {
      type: "user",
      id: "6500000000000000000000aa",
      name: this.user,
      fullname: "Trainbook Tester",
      email: "tester@example.com",
      emailVerified: true,
      isPro: false,
      canPay: true,
      avatarUrl: "",
      periodEnd: null,
      billingMode: "prepaid",
      orgs: this.orgs.map((name, index) => ({
        type: "org",
        id: `6500000000000000000001${String(index).padStart(2, "0")}`,
        name,
        fullname: name,
        email: null,
        canPay: true,
        avatarUrl: "",
        periodEnd: null,
      })),
      auth: {
        type: "access_token",
        accessToken: { displayName: "mock-token", role: "write", createdAt: "2026-01-01T00:00:00.000Z" },
      },
    };
  }

  #canWrite(namespace: string): boolean {
    return namespace === this.user || this.orgs.includes(namespace);
  }

  #createRepo(
    body: { name?: string; organization?: string; type?: string; visibility?: string; private?: boolean },
  ) {
    const type = (body.type ?? "model") as MockRepoType;
    const namespace = body.organization ?? this.user;
    if (!body.name) throw new MockHttpError(400, "Missing repo name");
    if (!this.#canWrite(namespace)) {
      throw new MockHttpError(
        403,
        `You don't have the rights to create a ${type} under the namespace "${namespace}"`,
      );
    }
    const id = `${namespace}/${body.name}`;
    const isPrivate = body.visibility ? body.visibility !== "public" : body.private ?? false;
    if (this.store.get(type, id)) {
      return json({ error: `You already created this ${type} repo`, url: this.#repoUrl(type, id) }, 409);
    }
    const repo = this.store.create(type, id, isPrivate);
    return json({ url: this.#repoUrl(type, id), id: `mock-${repo.id}`, name: id });
  }

  #repoUrl(type: MockRepoType, id: string): string {
    return `${this.url}/${type === "model" ? "" : `${type}s/`}${id}`;
  }

  #findRepo(params: Record<string, string>, authenticated: boolean): MockRepo {
    const repo = this.store.get(params.type as MockRepoType, params.repo);
    if (!repo || (repo.private && !authenticated)) {
      const status = authenticated ? 404 : 401;
      throw new MockHttpError(status, "Repository not found", "RepoNotFound");
    }
    return repo;
  }

  #preupload(
    params: Record<string, string>,
    body: { files: { path: string; size: number; sample: string }[] },
  ) {
    const repo = this.#findRepo(params, true);
    const head = repo.commits.at(-1);
    const files = body.files.map((file) => {
      const sample = Uint8Array.from(atob(file.sample), (c) => c.charCodeAt(0));
      const lfs = file.size >= this.#options.lfsThreshold || isBinary(sample) ||
        /\.(bin|pt)$/.test(file.path);
      // huggingface_hub compares this oid with its own: the SHA-256 for LFS files, else the git blob oid.
      const existing = head?.files.get(file.path);
      return {
        path: file.path,
        uploadMode: lfs ? "lfs" : "regular",
        shouldIgnore: false,
        ...(existing ? { oid: existing.lfs?.sha256 ?? existing.oid } : {}),
      };
    });
    return json({ files, commitOid: head?.oid });
  }

  #lfsBatch(
    params: Record<string, string>,
    body: { operation: string; objects: { oid: string; size: number }[] },
  ) {
    this.#findRepo(params, true);
    if (body.operation !== "upload") throw new MockHttpError(400, "mock Hub: only LFS uploads are supported");
    const objects = body.objects.map((object) =>
      this.store.lfsObjects.has(object.oid) ? { oid: object.oid, size: object.size } : {
        oid: object.oid,
        size: object.size,
        authenticated: true,
        actions: {
          upload: {
            href: `${this.url}/__lfs/${object.oid}?size=${object.size}&signature=mock`,
            expires_in: 3600,
          },
        },
      }
    );
    return new Response(JSON.stringify({ transfer: "basic", objects }), {
      headers: { "Content-Type": "application/vnd.git-lfs+json" },
    });
  }

  async #lfsUpload(request: Request, params: Record<string, string>): Promise<Response> {
    // Like a presigned storage URL: no Authorization, a signature, and a Content-Length is required.
    const url = new URL(request.url);
    if (url.searchParams.get("signature") !== "mock") throw new MockHttpError(403, "Invalid signature");
    if (request.headers.get("Content-Length") === null) {
      throw new MockHttpError(
        411,
        "MissingContentLength: chunked uploads are not accepted by presigned URLs",
      );
    }
    const content = new Uint8Array(await request.arrayBuffer());
    this.bytesReceived += content.byteLength;
    if (sha256Hex(content) !== params.oid || content.byteLength !== Number(url.searchParams.get("size"))) {
      throw new MockHttpError(400, "Uploaded content does not match its SHA-256 or size");
    }
    this.store.lfsObjects.set(params.oid, content);
    return new Response(null, { status: 200, headers: { ETag: `"${params.oid}"` } });
  }

  #commit(params: Record<string, string>, body: string) {
    const repo = this.#findRepo(params, true);
    if (params.revision !== "main") throw new MockHttpError(400, "mock Hub: commits go to main only");
    let header: { summary: string; description?: string; parentCommit?: string } = { summary: "" };
    const operations: CommitOperation[] = [];
    for (const line of body.split("\n").filter((l) => l.trim())) {
      const { key, value } = JSON.parse(line);
      if (key === "header") header = value;
      else if (key === "file") {
        const content = Uint8Array.from(atob(value.content), (c) => c.charCodeAt(0));
        this.bytesReceived += content.byteLength;
        operations.push({ kind: "file", path: value.path, content });
      } else if (key === "lfsFile") {
        operations.push({ kind: "lfsFile", path: value.path, sha256: value.oid, size: value.size });
      } else if (key === "deletedFile") operations.push({ kind: "deletedFile", path: value.path });
      else if (key === "deletedFolder") operations.push({ kind: "deletedFolder", path: value.path });
      else throw new MockHttpError(400, `mock Hub: unsupported commit operation ${key}`);
    }
    const commit = this.store.commit(repo, operations, { title: header.summary, ...header });
    return json({
      success: true,
      commitOid: commit.oid,
      commitUrl: `${this.#repoUrl(repo.type, repo.id)}/commit/${commit.oid}`,
      commitMessage: header.summary,
      hookOutput: "",
    });
  }

  #tree(url: URL, params: Record<string, string>, authenticated: boolean): Response {
    const repo = this.#findRepo(params, authenticated);
    const commit = this.store.resolveRevision(repo, params.revision);
    const path = params.path ?? "";
    if (path && ![...commit.files.keys()].some((p) => p.startsWith(`${path}/`))) {
      throw new MockHttpError(404, `Entry not found: ${path}`, "EntryNotFound");
    }
    const entries = listTree(commit.files, path, url.searchParams.get("recursive") === "true");
    const offset = Number(url.searchParams.get("cursor") ?? 0);
    const page = entries.slice(offset, offset + this.#options.treePageSize);
    const response = json(page);
    if (offset + page.length < entries.length) {
      const next = new URL(url);
      next.searchParams.set("cursor", String(offset + page.length));
      response.headers.set("Link", `<${next.href}>; rel="next"`);
    }
    return response;
  }

  #repoInfo(params: Record<string, string>, authenticated: boolean): Response {
    const repo = this.#findRepo(params, authenticated);
    const commit = this.store.resolveRevision(repo, params.revision ?? "main");
    return json({
      id: repo.id,
      _id: `mock-${repo.id}`,
      private: repo.private,
      sha: commit.oid,
      lastModified: commit.date,
      createdAt: repo.createdAt,
      siblings: [...commit.files.keys()].map((rfilename) => ({ rfilename })),
    });
  }

  #resolve(request: Request, params: Record<string, string>, authenticated: boolean): Response {
    const repo = this.#findRepo(params, authenticated);
    const commit = this.store.resolveRevision(repo, params.revision);
    const file = commit.files.get(params.path);
    if (!file) throw new MockHttpError(404, `Entry not found: ${params.path}`, "EntryNotFound");

    const etag = `"${file.lfs?.sha256 ?? file.oid}"`;
    const headers = new Headers({
      "Accept-Ranges": "bytes",
      "Content-Type": "application/octet-stream",
      ETag: etag,
      "X-Repo-Commit": commit.oid,
    });
    if (file.lfs) {
      headers.set("X-Linked-Size", String(file.size));
      headers.set("X-Linked-ETag", etag);
    }

    const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.get("Range") ?? "");
    let body = file.content;
    let status = 200;
    if (range) {
      const start = range[1] ? Number(range[1]) : Math.max(0, file.size - Number(range[2]));
      const end = range[1] && range[2] ? Math.min(Number(range[2]), file.size - 1) : file.size - 1;
      if (start >= file.size && file.size > 0) {
        return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${file.size}` } });
      }
      body = file.content.subarray(start, end + 1);
      status = 206;
      headers.set("Content-Range", `bytes ${start}-${end}/${file.size}`);
    }
    headers.set("Content-Length", String(body.byteLength));
    return new Response(request.method === "HEAD" ? null : body.slice(), { status, headers });
  }

  async #jobRoute(request: Request, url: URL, match: RouteMatch): Promise<Response> {
    const { namespace, id } = match.params;
    if (match.route === "job-create") return this.#createJob(namespace, await request.json());
    if (match.route === "job-list") return this.#listJobs(namespace, url);

    const job = this.#jobs.jobs.get(id);
    if (!job || job.info.owner.name !== namespace) throw new MockHttpError(404, `Job ${id} not found`);
    switch (match.route) {
      case "job-inspect":
        return json(this.#jobs.refresh(job));
      case "job-cancel":
        return json(this.#jobs.cancel(job));
      case "job-labels":
        job.info.labels = checkLabels((await request.json()).labels ?? {});
        return json(job.info);
      case "job-logs":
        return this.#logs(job, url);
      default:
        throw new MockHttpError(404, `mock Hub: no route for ${request.method} ${url.pathname}`);
    }
  }

  #createJob(namespace: string, body: Record<string, unknown>): Response {
    if (!this.#canWrite(namespace)) {
      throw new MockHttpError(
        403,
        `You don't have the rights to run jobs under the namespace "${namespace}"`,
      );
    }
    if (Boolean(body.dockerImage) === Boolean(body.spaceId)) {
      throw new MockHttpError(400, "Exactly one of dockerImage and spaceId must be set");
    }
    const flavor = (body.flavor as string | undefined) ?? "cpu-basic";
    if (!MOCK_HARDWARE.some((hardware) => hardware.name === flavor)) {
      throw new MockHttpError(400, `Invalid flavor "${flavor}"`);
    }
    const timeoutSeconds = body.timeoutSeconds === undefined || body.timeoutSeconds === null
      ? 1800
      : Number(body.timeoutSeconds);
    if (!(timeoutSeconds > 0)) throw new MockHttpError(400, "timeoutSeconds must be a positive number");

    const ownerName = this.jobOwnerOrg ?? namespace;
    const owner = ownerName === this.user
      ? { id: "6500000000000000000000aa", name: ownerName, type: "user" as const }
      : { id: `org-${ownerName}`, name: ownerName, type: "org" as const };
    const secrets = (body.secrets ?? {}) as Record<string, string>;
    const now = new Date().toISOString();
    const info: JobInfo = {
      type: "job",
      id: randomHex(24),
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      finishedAt: null,
      ...(body.dockerImage ? { dockerImage: String(body.dockerImage) } : { spaceId: String(body.spaceId) }),
      command: (body.command ?? []) as string[],
      arguments: (body.arguments ?? []) as string[],
      environment: (body.environment ?? {}) as Record<string, string>,
      secrets: Object.keys(secrets),
      flavor,
      arch: (body.arch as string | undefined) ?? "amd64",
      timeoutSeconds,
      attempts: (body.attempts as number | undefined) ?? 1,
      labels: checkLabels((body.labels ?? {}) as Record<string, string>),
      volumes: (body.volumes ?? []) as unknown[],
      status: { stage: "SCHEDULING", message: null, failureCount: 0 },
      durations: { schedulingSecs: 0, runningSecs: 0, totalSecs: 0 },
      owner,
      initiator: { id: "6500000000000000000000aa", name: this.user, type: "user" },
      createdBy: { id: "6500000000000000000000aa", name: this.user },
    };
    this.#jobs.start(info, secrets, { ...this.#jobFaults });
    return json(info);
  }

  #listJobs(namespace: string, url: URL): Response {
    const stage = url.searchParams.get("stage");
    const labels = url.searchParams.getAll("label").map((pair) => pair.split("="));
    const jobs = this.jobs().filter((info) =>
      info.owner.name === namespace &&
      (!stage || info.status.stage === stage) &&
      labels.every(([key, value]) => info.labels[key] === value)
    );
    return json(jobs);
  }

  #logs(job: MockJob, url: URL): Response {
    const tail = url.searchParams.get("tail");
    const body = logStream(job, {
      tail: tail === null ? undefined : Number(tail),
      keepAliveMs: this.#options.keepAliveMs,
      isTerminal: () => this.#jobs.isTerminal(job),
      register: (close) => {
        this.#openStreams.add(close);
        return () => this.#openStreams.delete(close);
      },
    });
    return new Response(body, {
      headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
    });
  }
}

interface RouteMatch {
  route: MockRoute;
  params: Record<string, string>;
}

const REPO_TYPES: Record<string, MockRepoType> = { models: "model", datasets: "dataset", spaces: "space" };

function matchRoute(method: string, path: string): RouteMatch {
  const decode = (value: string | undefined) => value === undefined ? undefined : decodeURIComponent(value);
  let m: RegExpExecArray | null;

  if (method === "GET" && path === "/api/whoami-v2") return { route: "whoami", params: {} };
  if (method === "POST" && path === "/api/repos/create") return { route: "create-repo", params: {} };
  if (method === "GET" && path === "/api/jobs/hardware") return { route: "hardware", params: {} };
  if (method === "POST" && path === "/api/validate-yaml") return { route: "validate-yaml", params: {} };
  if (method === "PUT" && (m = /^\/__lfs\/([0-9a-f]{64})$/.exec(path))) {
    return { route: "lfs-upload", params: { oid: m[1] } };
  }

  if (
    (m =
      /^\/api\/(models|datasets|spaces)\/([^/]+\/[^/]+)\/(preupload|commit|tree|revision)\/([^/]+)(?:\/(.*))?$/
        .exec(path))
  ) {
    const [, kind, repo, action, revision, rest] = m;
    const route =
      ({ preupload: "preupload", commit: "commit", tree: "tree", revision: "repo-info" } as const)[
        action as "preupload" | "commit" | "tree" | "revision"
      ];
    const allowed = route === "tree" || route === "repo-info" ? "GET" : "POST";
    if (method === allowed) {
      return {
        route,
        params: { type: REPO_TYPES[kind], repo, revision: decode(revision)!, path: decode(rest) ?? "" },
      };
    }
  }
  if (method === "GET" && (m = /^\/api\/(models|datasets|spaces)\/([^/]+\/[^/]+)$/.exec(path))) {
    return { route: "repo-info", params: { type: REPO_TYPES[m[1]], repo: m[2] } };
  }
  if (
    method === "POST" &&
    (m = /^\/(?:(datasets|spaces)\/)?([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(path))
  ) {
    return { route: "lfs-batch", params: { type: REPO_TYPES[m[1] ?? "models"], repo: m[2] } };
  }
  if (
    (method === "GET" || method === "HEAD") &&
    (m = /^\/(?:(datasets|spaces)\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path))
  ) {
    return {
      route: "resolve",
      params: {
        type: REPO_TYPES[m[1] ?? "models"],
        repo: m[2],
        revision: decode(m[3])!,
        path: decode(m[4])!,
      },
    };
  }

  if ((m = /^\/api\/jobs\/([^/]+)(?:\/([0-9a-f]+)(?:\/(cancel|labels|logs))?)?$/.exec(path))) {
    const [, namespace, id, action] = m;
    const params = { namespace, id: id ?? "" };
    if (!id && method === "POST") return { route: "job-create", params };
    if (!id && method === "GET") return { route: "job-list", params };
    if (id && !action && method === "GET") return { route: "job-inspect", params };
    if (action === "cancel" && method === "POST") return { route: "job-cancel", params };
    if (action === "labels" && method === "PUT") return { route: "job-labels", params };
    if (action === "logs" && method === "GET") return { route: "job-logs", params };
  }
  return { route: "unknown", params: {} };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function errorResponse(status: number, message: string, errorCode?: string): Response {
  const response = json({ error: message }, status);
  response.headers.set("X-Error-Message", message);
  if (errorCode) response.headers.set("X-Error-Code", errorCode);
  return response;
}

function isBinary(sample: Uint8Array): boolean {
  if (sample.includes(0)) return true;
  // The 512-byte sample may end inside a multi-byte character, so its last 3 bytes may be cut.
  const whole = sample.byteLength < 512 ? sample : sample.subarray(0, 509);
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(whole);
    return false;
  } catch {
    return true;
  }
}

function checkLabels(labels: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(labels)) {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(key) || !/^[A-Za-z0-9._-]{0,100}$/.test(String(value))) {
      throw new MockHttpError(
        400,
        `Invalid label ${key}=${value}: keys and values are at most 100 characters of [A-Za-z0-9._-]`,
      );
    }
  }
  return labels;
}

function randomHex(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length / 2));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
