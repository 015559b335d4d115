/**
 * Executing notebooks with the Deno Jupyter kernel: installs the kernelspec into
 * the managed Python environment (not the user's home) and runs a notebook top
 * to bottom through python/run_notebook.py.
 *
 * @module
 */
import { join } from "node:path";
import { exists } from "./_dataset_files.ts";
import { TrainingError } from "./errors.ts";
import { PYTHON_DIR } from "./paths.ts";
import { ensurePythonEnv, type PythonEnv } from "./python_env.ts";

/** Options of {@linkcode executeNotebook}. */
export interface ExecuteNotebookOptions {
  /**
   * Seconds one cell may run.
   * @default {900}
   */
  cellTimeout?: number;
  /** Extra environment variables for the kernel (for example a Hub endpoint override). */
  env?: Record<string, string>;
}

/** Outcome of one notebook execution. */
export interface NotebookRun {
  /** Path of the executed copy. */
  output: string;
  /** Whether every cell ran without error. */
  ok: boolean;
  /** The runner's standard error (the failing cell's traceback when not ok). */
  stderr: string;
}

/**
 * Installs the Deno kernelspec into `env` (once) and returns its folder. The
 * kernelspec names this process's Deno binary, so it follows the pinned version.
 */
export async function installDenoKernel(env: PythonEnv): Promise<string> {
  const target = join(env.dir, "share", "jupyter", "kernels", "deno");
  const scratch = await Deno.makeTempDir({ prefix: "trainbook-kernelspec-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["jupyter", "--install", "--force"],
      env: { XDG_DATA_HOME: scratch, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new TrainingError("Installing the Deno Jupyter kernel failed", {
        value: new TextDecoder().decode(output.stderr).trim().slice(-500),
        hint: "Check that the deno binary runs: " + Deno.execPath(),
      });
    }
    await Deno.mkdir(join(env.dir, "share", "jupyter", "kernels"), { recursive: true });
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await copyDir(join(scratch, "jupyter", "kernels", "deno"), target);
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
  return target;
}

/** Executes `notebook` with the Deno kernel and writes the executed copy to `output`. */
export async function executeNotebook(
  notebook: string,
  output: string,
  options: ExecuteNotebookOptions = {},
): Promise<NotebookRun> {
  const env = await ensurePythonEnv();
  await installDenoKernel(env);
  const result = await new Deno.Command(env.python, {
    args: [
      join(PYTHON_DIR, "run_notebook.py"),
      notebook,
      output,
      "--timeout",
      String(options.cellTimeout ?? 900),
    ],
    env: {
      ...env.env,
      ...options.env,
      JUPYTER_PATH: join(env.dir, "share", "jupyter"),
      NO_COLOR: "1",
      // Notebooks must not inherit the test runner's Python; the kernel is Deno.
      PATH: `${join(env.dir, "bin")}:${Deno.env.get("PATH") ?? ""}`,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  if (result.code === 2 || (!result.success && !(await exists(output)))) {
    throw new TrainingError("The notebook runner failed", { file: notebook, value: stderr.slice(-1500) });
  }
  return { output, ok: result.success, stderr };
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}
