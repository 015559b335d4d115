/**
 * Job runners for the mock Hub. The Jobs container image cannot run here, so
 * the default runner executes the job's command on this machine: `uv run` and
 * `python` resolve to shims that start the given Python executable, so a UV
 * script job (`bash -c 'echo "$UV_SCRIPT_ENCODED" | base64 -d > … && uv run …'`
 * or `uv run [--with dep]… script args`) runs with the project's environment.
 *
 * @module
 */
import { join } from "node:path";

/** What a runner needs to know about a job. */
export interface RunnableJob {
  id: string;
  command: string[];
  arguments: string[];
  /** Job environment plus decrypted secrets, plus HF_ENDPOINT and friends. */
  env: Record<string, string>;
}

/** A started job process: its output lines and its exit code. */
export interface JobRun {
  /** stdout and stderr lines, in arrival order, without line endings. */
  lines: AsyncIterable<string>;
  /** Exit code; it resolves after `lines` has ended. */
  exitCode: Promise<number>;
}

/** Starts a job. The runner must stop the work when `signal` aborts (cancel or timeout). */
export type JobRunner = (job: RunnableJob, signal: AbortSignal) => JobRun | Promise<JobRun>;

/** Options of {@linkcode processJobRunner}. */
export interface ProcessJobRunnerOptions {
  /** Python executable that `uv run` and `python` in the job's command start. */
  python: string;
  /**
   * Host variables the job inherits, because a local process needs some of them.
   * @default PATH, HOME, LANG, LC_ALL, TMPDIR, TZ
   */
  inheritEnv?: string[];
  /** Extra variables for every job, such as YOLO_OFFLINE. */
  extraEnv?: Record<string, string>;
}

const UV_SHIM = `#!/usr/bin/env bash
# Stand-in for "uv run": skips uv's own options and runs the script with the mock's Python.
if [ "$1" != "run" ]; then echo "mock uv: only 'uv run' is supported" >&2; exit 2; fi
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --with|--python|-p|--index|--index-url|--extra-index-url|--with-requirements|--directory|--project) shift 2 ;;
    --*=*|-q|--quiet|--no-project|--isolated|--no-cache|--frozen|--locked|--exact|--offline|--script|-s) shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
case "$1" in python|python3) shift ;; esac
exec "$TRAINBOOK_MOCK_PYTHON" -u "$@"
`;

const PYTHON_SHIM = `#!/usr/bin/env bash
exec "$TRAINBOOK_MOCK_PYTHON" "$@"
`;

/**
 * Returns a runner that starts the job's command (plus its arguments) as a local
 * process in its own session, with `uv` and `python` shims first on PATH, and
 * streams the process's stdout and stderr lines as the job's log.
 */
export function processJobRunner(options: ProcessJobRunnerOptions): JobRunner {
  const { python, inheritEnv = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ"], extraEnv = {} } = options;

  return async (job, signal) => {
    const workDir = await Deno.makeTempDir({ prefix: `mock-job-${job.id}-` });
    const binDir = join(workDir, "bin");
    await Deno.mkdir(binDir);
    for (const [name, text] of [["uv", UV_SHIM], ["python", PYTHON_SHIM], ["python3", PYTHON_SHIM]]) {
      await Deno.writeTextFile(join(binDir, name), text, { mode: 0o755 });
    }

    const env: Record<string, string> = {};
    for (const name of inheritEnv) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, extraEnv, job.env, {
      PATH: `${binDir}:${env.PATH ?? "/usr/bin:/bin"}`,
      // An absolute path, because a bare "python3" would find the shim itself on PATH.
      TRAINBOOK_MOCK_PYTHON: await realPython(python),
      PYTHONUNBUFFERED: "1",
    });

    if (job.command.length === 0) {
      return failedRun("mock Hub: this job has no command (Space jobs cannot run locally)");
    }

    // setsid puts the job in its own process group, so cancel can stop the whole group.
    const child = new Deno.Command("setsid", {
      args: [...job.command, ...job.arguments],
      cwd: workDir,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();

    const stop = () => killGroup(child.pid);
    signal.addEventListener("abort", stop, { once: true });
    const status = child.status.finally(async () => {
      signal.removeEventListener("abort", stop);
      await Deno.remove(workDir, { recursive: true }).catch(() => {});
    });
    return { lines: mergeLines([child.stdout, child.stderr]), exitCode: status.then((s) => s.code) };
  };
}

const realPythons = new Map<string, Promise<string>>();

/**
 * Returns the interpreter's own path (sys.executable). A pyenv or asdf shim would
 * look python3 up on the job's PATH again, find the mock's shim, and exec itself
 * in an endless loop.
 */
function realPython(python: string): Promise<string> {
  let found = realPythons.get(python);
  if (!found) {
    found = (async () => {
      const executable = await findExecutable(python);
      const output = await new Deno.Command(executable, {
        args: ["-c", "import sys; print(sys.executable)"],
        stdout: "piped",
        stderr: "null",
      }).output().catch(() => undefined);
      const path = output?.success ? new TextDecoder().decode(output.stdout).trim() : "";
      return path || executable;
    })();
    realPythons.set(python, found);
  }
  return found;
}

async function findExecutable(name: string): Promise<string> {
  if (name.includes("/")) return name;
  for (const folder of (Deno.env.get("PATH") ?? "").split(":")) {
    const candidate = join(folder, name);
    try {
      if ((await Deno.stat(candidate)).isFile) return candidate;
    } catch {
      // Not in this folder.
    }
  }
  return name;
}

function killGroup(pid: number): void {
  try {
    Deno.kill(-pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      Deno.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }, 2000);
  Deno.unrefTimer(timer);
}

function failedRun(message: string): JobRun {
  return {
    lines: (async function* () {
      yield message;
    })(),
    exitCode: Promise.resolve(1),
  };
}

/** Splits byte streams into lines and yields them in arrival order across streams. */
export async function* mergeLines(streams: ReadableStream<Uint8Array>[]): AsyncGenerator<string> {
  const queue: string[] = [];
  let open = streams.length;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  for (const stream of streams) {
    (async () => {
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of stream) {
        pending += decoder.decode(chunk, { stream: true });
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        queue.push(...lines.map((line) => line.replace(/\r$/, "")));
        notify();
      }
      pending += decoder.decode();
      if (pending) queue.push(pending);
    })().catch(() => {}).finally(() => {
      open--;
      notify();
    });
  }

  while (true) {
    if (queue.length > 0) {
      yield queue.shift()!;
    } else if (open === 0) {
      return;
    } else {
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }
}

/** Returns a runner that yields `lines` with `delayMs` between them and exits with `exitCode`. */
export function scriptedJobRunner(
  lines: string[],
  options: { delayMs?: number; exitCode?: number } = {},
): JobRunner {
  const { delayMs = 5, exitCode = 0 } = options;
  return (_job, signal) => {
    let aborted = false;
    let resolveExit!: (code: number) => void;
    const exit = new Promise<number>((resolve) => (resolveExit = resolve));
    return {
      exitCode: exit,
      lines: (async function* () {
        for (const line of lines) {
          if (signal.aborted) break;
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          if (signal.aborted) break;
          yield line;
        }
        aborted = signal.aborted;
        resolveExit(aborted ? 143 : exitCode);
      })(),
    };
  };
}
