/**
 * Locations trainbook reads and writes: the repository's own files, the cache
 * that contains the managed Python environment, and the default runs folder.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the trainbook repository (the folder holding mod.ts). */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Folder of the Python scripts shipped with trainbook. */
export const PYTHON_DIR: string = join(REPO_ROOT, "python");

/**
 * Cache folder for the managed Python environment and downloads:
 * `$TRAINBOOK_HOME`, else `$XDG_CACHE_HOME/trainbook`, else `~/.cache/trainbook`.
 */
export function cacheDir(): string {
  const explicit = Deno.env.get("TRAINBOOK_HOME");
  if (explicit) return resolve(explicit);
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "trainbook");
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return join(home, ".cache", "trainbook");
}

/** Default folder for run folders and the history: `$TRAINBOOK_RUNS_DIR` or `./training_runs`. */
export function defaultRunsDir(): string {
  return resolve(Deno.env.get("TRAINBOOK_RUNS_DIR") ?? "training_runs");
}

/** Default history database: `<runsDir>/history.duckdb`. */
export function defaultHistoryPath(runsDir: string = defaultRunsDir()): string {
  return join(runsDir, "history.duckdb");
}
