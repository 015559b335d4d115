// deno-lint-ignore-file no-console
/**
 * Commands `compare`, `report` and `import`: comparing runs, rebuilding a run's
 * report, and importing run folders trained elsewhere into the history.
 *
 * @module
 */
import { copyFile, mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Command } from "./_cli.ts";
import { compareChart } from "./charts.ts";
import { NotFoundError, TrainbookError } from "./errors.ts";
import { History } from "./history.ts";
import { importRun } from "./history_import.ts";
import { defaultRunsDir } from "./paths.ts";
import { readResults, type ResultsTable } from "./results.ts";
import { writeRunReport } from "./run_report.ts";

/** Help lines of the options that choose the history, shared by the history commands. */
export const HISTORY_OPTION_HELP =
  `  --runs-dir PATH    folder of run folders  [$TRAINBOOK_RUNS_DIR or ./training_runs]
  --history PATH     history database  [<runs-dir>/history.duckdb]`;

/** parseArgs options behind {@linkcode HISTORY_OPTION_HELP}. */
export const HISTORY_OPTIONS = {
  "runs-dir": { type: "string" },
  history: { type: "string" },
} as const;

/** Returns the folder of run folders that `--runs-dir` names, else the default one. */
export function runsDirFrom(values: Record<string, unknown>): string {
  return resolve((values["runs-dir"] as string | undefined) ?? defaultRunsDir());
}

/** Opens the history that `--history` names, else `<runs-dir>/history.duckdb`. */
export async function openHistory(values: Record<string, unknown>): Promise<History> {
  const path = (values.history as string | undefined) ?? join(runsDirFrom(values), "history.duckdb");
  return await History.open(path);
}

/** `deno task compare RUN_ID...`: puts runs side by side, optionally as a chart. */
export const compareCommand: Command = {
  summary: "compare runs side by side, optionally as an overlaid chart",
  usage: `Usage: deno task compare RUN_ID... [options]

Prints the given runs side by side: model, dataset, status, epochs, minutes, the
best value of each validation metric, test metrics when evaluated, and the
training arguments that differ. A run id may be a unique prefix of one.

Options:
  --chart FILE       also write an SVG chart of one metric by epoch, one line per run,
                     from each run's results.csv
  --metric NAME      results.csv column the chart draws
                     [metrics/mAP50-95(B), else the first metric every run has]
${HISTORY_OPTION_HELP}
  --json             print the comparison as JSON`,
  options: {
    chart: { type: "string" },
    metric: { type: "string" },
    ...HISTORY_OPTIONS,
    json: { type: "boolean" },
  },
  async run(values, positionals) {
    if (positionals.length === 0) {
      console.error("error: pass one or more run ids (list them with `deno task runs`)");
      return 2;
    }
    const history = await openHistory(values);
    let comparison;
    try {
      comparison = await history.compareRuns(positionals);
    } finally {
      await history.close();
    }

    let chartPath: string | undefined;
    if (values.chart) {
      const runs = [];
      for (const run of comparison.runs) {
        const table = await resultsOf(run.runDir ?? join(runsDirFrom(values), run.id));
        if (table) runs.push({ label: run.id, table });
        else console.error(`warning: run ${run.id} has no readable results.csv, so the chart leaves it out`);
      }
      if (runs.length === 0) {
        throw new NotFoundError("None of the runs has a results.csv to draw", {
          hint: "Compare runs whose run folder still contains results.csv",
        });
      }
      chartPath = resolve(values.chart as string);
      await mkdir(dirname(chartPath), { recursive: true });
      await writeFile(chartPath, compareChart(runs, values.metric as string | undefined).svg);
    }

    if (values.json) {
      const { runs, rows, epochs } = comparison;
      console.log(JSON.stringify({ runs, rows, epochs, chart: chartPath }, null, 2));
    } else {
      console.log(comparison.toString());
      if (chartPath) console.log(`\nChart: ${chartPath}`);
    }
    return 0;
  },
};

async function resultsOf(dir: string): Promise<ResultsTable | undefined> {
  try {
    return await readResults(join(dir, "results.csv"));
  } catch {
    return undefined;
  }
}

/** `deno task report RUN`: rewrites a run's charts and report.html. */
export const reportCommand: Command = {
  summary: "rewrite a run's charts and report.html from its run folder",
  usage: `Usage: deno task report RUN [options]

RUN is a run id from the history or a run folder. Rewrites charts/*.svg and
report.html inside the run folder from its results.csv, test_metrics.json and
run.json, and prints the report's path.

Options:
  --out FILE         also copy the report to FILE  [only <run folder>/report.html]
${HISTORY_OPTION_HELP}
  --json             print the paths written as JSON`,
  options: { out: { type: "string" }, ...HISTORY_OPTIONS, json: { type: "boolean" } },
  async run(values, positionals) {
    if (!positionals[0]) {
      console.error("error: pass a run id or a run folder");
      return 2;
    }
    const dir = await runFolder(positionals[0], values);
    const written = await writeRunReport(dir);
    let copy: string | undefined;
    if (values.out) {
      copy = resolve(values.out as string);
      await mkdir(dirname(copy), { recursive: true });
      await copyFile(written.report, copy);
    }

    if (values.json) {
      console.log(JSON.stringify({ ...written, out: copy }, null, 2));
    } else {
      console.log(`Report: ${written.report}`);
      if (copy) console.log(`Copied to: ${copy}`);
      console.log(`Charts: ${written.charts.length} in ${join(dir, "charts")}/`);
    }
    return 0;
  },
};

/** Returns the run folder of `target`: an existing folder as is, else the folder the history records. */
async function runFolder(target: string, values: Record<string, unknown>): Promise<string> {
  if (await isDirectory(target)) return resolve(target);
  const history = await openHistory(values);
  let dir: string;
  try {
    const { run } = await history.getRun(target);
    dir = run.runDir ?? join(runsDirFrom(values), run.id);
  } finally {
    await history.close();
  }
  if (!(await isDirectory(dir))) {
    throw new NotFoundError(`Run folder of run ${target} not found`, {
      file: dir,
      hint: "The folder was moved or deleted; pass the run folder's new path instead of the run id",
    });
  }
  return dir;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** `deno task import FOLDER...`: imports run folders trained elsewhere. */
export const importCommand: Command = {
  summary: "import run folders trained elsewhere (Ultralytics or YOLOv5) into the history",
  usage: `Usage: deno task import FOLDER... [options]

Imports each run folder (results.csv with args.yaml or opt.yaml, and weights/)
that Ultralytics or YOLOv5 wrote elsewhere into the history as a run with backend
"imported", and prints its id, format, task, epochs and status. A folder whose
results.csv was imported before is reported as already imported and not stored
again. Exit code 2 when any folder cannot be imported; the others are imported.

Options:
${HISTORY_OPTION_HELP}
  --json             print one JSON object per folder`,
  options: { ...HISTORY_OPTIONS, json: { type: "boolean" } },
  async run(values, positionals) {
    if (positionals.length === 0) {
      console.error("error: pass one or more run folders, each containing results.csv");
      return 2;
    }
    const history = await openHistory(values);
    let failures = 0;
    try {
      for (const folder of positionals) {
        try {
          // importRun() reports a missing folder, but a file given in its place (README.md from a glob) needs this check.
          if (!(await isDirectory(folder)) && (await exists(folder))) {
            throw new NotFoundError("Not a run folder", {
              file: resolve(folder),
              hint: "Pass folders that contain results.csv",
            });
          }
          const result = await importRun(history, folder);
          if (values.json) {
            console.log(JSON.stringify({ folder: resolve(folder), ...result }));
            continue;
          }
          const what = result.imported ? "imported" : "already imported";
          console.log(
            `${what} ${folder} as ${result.id}: ${result.format}, ${result.task}, ` +
              `${result.epochs} epochs, ${result.status}`,
          );
          for (const warning of result.warnings) console.log(`  warning: ${warning}`);
        } catch (error) {
          if (!(error instanceof TrainbookError)) throw error;
          failures++;
          if (values.json) console.log(JSON.stringify({ folder: resolve(folder), error: error.message }));
          else console.error(`error: ${error.message}`);
        }
      }
    } finally {
      await history.close();
    }
    return failures > 0 ? 2 : 0;
  },
};
