/**
 * The Python environment trainbook manages: a virtual environment with the pinned
 * ultralytics, torch and torchvision of `python/requirements.txt`, created on first
 * use under the cache folder, reused while the requirements are unchanged, and
 * rebuilt when they change.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { PythonEnvError } from "./errors.ts";
import { cacheDir, PYTHON_DIR } from "./paths.ts";

/** A ready Python environment. */
export interface PythonEnv {
  /** Folder of the virtual environment. */
  dir: string;
  /** Absolute path of its python executable. */
  python: string;
  /** Environment variables every trainbook Python process gets (offline Ultralytics, unbuffered output). */
  env: Record<string, string>;
}

/** Progress of creating the environment. */
export interface PythonEnvEvent {
  /** Event kind. */
  type: "python-env";
  /** Step of the set-up. */
  phase: "reuse" | "create" | "install" | "configure" | "ready";
  /** The step, in words. */
  message: string;
}

/** Options of {@linkcode ensurePythonEnv}. */
export interface PythonEnvOptions {
  /**
   * Python used to create the virtual environment.
   * @default {Deno.env TRAINBOOK_PYTHON, else "python3"}
   */
  basePython?: string;
  /**
   * Folder under which environments are kept.
   * @default {`${cacheDir()}/python`}
   */
  root?: string;
  /** Called with each progress event. */
  onProgress?: (event: PythonEnvEvent) => void;
}

const READY_MARKER = "trainbook-ready.json";
const REQUIREMENTS = join(PYTHON_DIR, "requirements.txt");
const LOCK = join(PYTHON_DIR, "requirements.lock");
const LOCK_WAIT_MS = 30 * 60 * 1000;

let cached: Promise<PythonEnv> | undefined;

/**
 * Returns the managed Python environment, creating it first when it does not exist
 * or its requirements changed. Concurrent calls in one process share one build, and
 * a lock folder keeps two processes from building the same environment at once.
 *
 * @throws {PythonEnvError} when python3 is missing or pip fails (the message contains pip's last lines).
 */
export function ensurePythonEnv(options: PythonEnvOptions = {}): Promise<PythonEnv> {
  if (cached && !options.basePython && !options.root) return cached;
  const build = buildOrReuse(options);
  if (!options.basePython && !options.root) {
    cached = build;
    build.catch(() => (cached = undefined));
  }
  return build;
}

async function buildOrReuse(options: PythonEnvOptions): Promise<PythonEnv> {
  const progress = options.onProgress ?? (() => {});
  const basePython = options.basePython ?? Deno.env.get("TRAINBOOK_PYTHON") ?? "python3";
  const root = options.root ?? join(cacheDir(), "python");
  const baseVersion = await pythonVersion(basePython);
  const key = await requirementsKey(baseVersion);
  const dir = join(root, `env-${key.slice(0, 16)}`);
  const env = environmentFor(dir);

  if (await isReady(dir, key)) {
    progress({ type: "python-env", phase: "reuse", message: `Using the Python environment in ${dir}` });
    return { dir, python: join(dir, "bin", "python"), env };
  }

  await Deno.mkdir(root, { recursive: true });
  const lockDir = `${dir}.lock`;
  await acquireLock(lockDir, progress);
  try {
    // Another process may have finished the build while this one waited for the lock.
    if (!(await isReady(dir, key))) {
      await createEnvironment(basePython, dir, baseVersion, progress);
      await configureUltralytics(dir, env, progress);
      await Deno.writeTextFile(
        join(dir, READY_MARKER),
        JSON.stringify({ key, basePython: baseVersion, createdAt: new Date().toISOString() }),
      );
      await removeStaleEnvironments(root, dir);
    }
  } finally {
    await Deno.remove(lockDir, { recursive: true }).catch(() => {});
  }
  progress({ type: "python-env", phase: "ready", message: `Python environment ready in ${dir}` });
  return { dir, python: join(dir, "bin", "python"), env };
}

/** Environment variables for Python processes of the environment in `dir`. */
function environmentFor(dir: string): Record<string, string> {
  return {
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    YOLO_OFFLINE: "true",
    YOLO_AUTOINSTALL: "false",
    YOLO_CONFIG_DIR: join(dir, "ultralytics-config"),
    MPLBACKEND: "Agg",
    MPLCONFIGDIR: join(dir, "matplotlib-config"),
    // Ultralytics writes tqdm bars with carriage returns; trainbook reports progress itself.
    TQDM_DISABLE: "1",
  };
}

async function pythonVersion(basePython: string): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(basePython, {
      args: ["-c", "import sys, platform; print(sys.version.split()[0], platform.machine())"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new PythonEnvError(`${basePython} was not found on PATH`, {
        value: basePython,
        hint:
          "Install Python 3.10 or newer with the venv module (Debian/Ubuntu: apt-get install python3 python3-venv), " +
          "or set TRAINBOOK_PYTHON to the python executable to use",
      });
    }
    throw error;
  }
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success || !/^3\.(\d+)/.test(text)) {
    throw new PythonEnvError(`${basePython} did not run as Python 3`, {
      value: text || new TextDecoder().decode(output.stderr).trim(),
      hint: "Set TRAINBOOK_PYTHON to a Python 3.10 or newer executable",
    });
  }
  const minor = Number(/^3\.(\d+)/.exec(text)![1]);
  if (minor < 10) {
    throw new PythonEnvError(`Python ${text.split(" ")[0]} is too old for ultralytics`, {
      value: text,
      hint: "Install Python 3.10 or newer, or set TRAINBOOK_PYTHON to one",
    });
  }
  return text;
}

async function requirementsKey(baseVersion: string): Promise<string> {
  const hash = createHash("sha256");
  hash.update(baseVersion);
  // Comments and blank lines do not change what pip installs, so they do not count.
  for (const file of [REQUIREMENTS, LOCK]) {
    const lines = (await Deno.readTextFile(file)).split("\n").map((line) => line.replace(/#.*/, "").trim());
    hash.update(lines.filter(Boolean).join("\n") + "\n");
  }
  return hash.digest("hex");
}

async function isReady(dir: string, key: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await Deno.readTextFile(join(dir, READY_MARKER)));
    await Deno.stat(join(dir, "bin", "python"));
    return marker.key === key;
  } catch {
    return false;
  }
}

async function acquireLock(lockDir: string, progress: (event: PythonEnvEvent) => void): Promise<void> {
  const started = Date.now();
  let told = false;
  while (true) {
    try {
      await Deno.mkdir(lockDir);
      await Deno.writeTextFile(join(lockDir, "pid"), String(Deno.pid));
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    if (await lockIsStale(lockDir)) {
      await Deno.remove(lockDir, { recursive: true }).catch(() => {});
      continue;
    }
    if (!told) {
      progress({
        type: "python-env",
        phase: "create",
        message: "Waiting for another process building the environment",
      });
      told = true;
    }
    if (Date.now() - started > LOCK_WAIT_MS) {
      throw new PythonEnvError("Timed out waiting for another process to build the Python environment", {
        file: lockDir,
        hint: "If no other trainbook process is running, delete this lock folder and try again",
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function lockIsStale(lockDir: string): Promise<boolean> {
  try {
    const pid = Number(await Deno.readTextFile(join(lockDir, "pid")));
    if (!Number.isInteger(pid) || pid <= 0) return true;
    await Deno.stat(`/proc/${pid}`);
    return false;
  } catch (error) {
    // No /proc entry: the process that held the lock is gone (Linux). On other systems
    // the pid file may be missing for a moment right after mkdir, so treat it as held.
    return error instanceof Deno.errors.NotFound && Deno.build.os === "linux";
  }
}

async function createEnvironment(
  basePython: string,
  dir: string,
  baseVersion: string,
  progress: (event: PythonEnvEvent) => void,
): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  progress({
    type: "python-env",
    phase: "create",
    message: `Creating a Python ${baseVersion} environment in ${dir}`,
  });
  const venv = await new Deno.Command(basePython, {
    args: ["-m", "venv", dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!venv.success) {
    throw new PythonEnvError("Creating the virtual environment failed", {
      value: tail(new TextDecoder().decode(venv.stderr), 10),
      hint: "Install the venv module (Debian/Ubuntu: apt-get install python3-venv) and try again",
    });
  }

  progress({
    type: "python-env",
    phase: "install",
    message: "Installing ultralytics, torch and torchvision (several GB, a few minutes on the first run)",
  });
  const pip = new Deno.Command(join(dir, "bin", "python"), {
    args: [
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      "--progress-bar",
      "off",
      "-r",
      REQUIREMENTS,
      "-c",
      LOCK,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONUNBUFFERED: "1" },
  }).spawn();
  const lines: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const line of readLines(stream)) {
      lines.push(line);
      if (lines.length > 400) lines.splice(0, lines.length - 200);
      const step = /^(Collecting|Installing collected packages|Successfully installed)\s*(\S*)/.exec(line);
      if (step) progress({ type: "python-env", phase: "install", message: line.slice(0, 160) });
    }
  };
  await Promise.all([collect(pip.stdout), collect(pip.stderr)]);
  const status = await pip.status;
  if (!status.success) {
    throw new PythonEnvError(`pip install failed with exit code ${status.code}`, {
      file: REQUIREMENTS,
      value: tail(lines.join("\n"), 25),
      hint: "Check the pip output above; the package registry must be reachable. Delete " + dir + " to retry",
    });
  }
}

/**
 * Stops Ultralytics from reaching the network at run time: it downloads Arial.ttf
 * for plots unless the font is already in its config folder, so a copy of
 * matplotlib's DejaVuSans takes its place.
 */
async function configureUltralytics(
  dir: string,
  env: Record<string, string>,
  progress: (event: PythonEnvEvent) => void,
): Promise<void> {
  progress({ type: "python-env", phase: "configure", message: "Configuring Ultralytics for offline use" });
  const script = [
    "import os, shutil, matplotlib",
    "src = os.path.join(matplotlib.get_data_path(), 'fonts', 'ttf', 'DejaVuSans.ttf')",
    "dst = os.path.join(os.environ['YOLO_CONFIG_DIR'], 'Ultralytics')",
    "os.makedirs(dst, exist_ok=True)",
    "[shutil.copyfile(src, os.path.join(dst, n)) for n in ('Arial.ttf', 'Arial.Unicode.ttf')]",
    "import ultralytics",
  ].join("\n");
  const output = await new Deno.Command(join(dir, "bin", "python"), {
    args: ["-c", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new PythonEnvError("The new Python environment cannot import ultralytics", {
      value: tail(new TextDecoder().decode(output.stderr), 15),
      hint: `Delete ${dir} and try again`,
    });
  }
}

async function removeStaleEnvironments(root: string, keep: string): Promise<void> {
  for await (const entry of Deno.readDir(root)) {
    const path = join(root, entry.name);
    if (
      entry.isDirectory && entry.name.startsWith("env-") && path !== keep && !entry.name.endsWith(".lock")
    ) {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    }
  }
}

/** Exit status and last output lines of a script run with {@linkcode runPythonScript}. */
export interface ScriptRun {
  success: boolean;
  /** Up to the last 60 lines of stdout and stderr together. */
  lines: string[];
}

/** Runs `python/<script>` in `env` with an argument array and waits for it to exit. */
export async function runPythonScript(env: PythonEnv, script: string, args: string[]): Promise<ScriptRun> {
  const child = new Deno.Command(env.python, {
    args: ["-u", join(PYTHON_DIR, script), ...args],
    env: env.env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const lines: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const line of readLines(stream)) {
      lines.push(line);
      if (lines.length > 60) lines.shift();
    }
  };
  await Promise.all([collect(child.stdout), collect(child.stderr)]);
  return { success: (await child.status).success, lines };
}

/** Yields the lines of a byte stream as they arrive, without line terminators. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const parts = pending.split(/\r?\n|\r/);
    pending = parts.pop() ?? "";
    yield* parts;
  }
  pending += decoder.decode();
  if (pending) yield pending;
}

function tail(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}
