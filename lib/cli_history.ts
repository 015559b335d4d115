// deno-lint-ignore-file no-console
/**
 * Command `runs`: the run history in a terminal.
 *
 * @module
 */
import { join } from "node:path";
import { type Command, intOption } from "./_cli.ts";
import type { RunStatus } from "./events.ts";
import { History } from "./history.ts";
import { defaultRunsDir } from "./paths.ts";

const STATUSES: RunStatus[] = ["queued", "running", "completed", "failed", "cancelled", "interrupted"];

/** `deno task runs [RUN_ID]`: lists runs, or shows one run. */
export const runsCommand: Command = {
  summary: "list the runs in the history, or show one",
  usage: `Usage: deno task runs [RUN_ID] [options]

Without RUN_ID, lists the runs in the history, newest first. With RUN_ID, shows
that run's record, last epoch, test metrics, artifacts and events.

Options:
  --status STATUS    only runs with this status (queued, running, completed, failed,
                     cancelled, interrupted)
  --backend NAME     only runs of this backend (local, hf-jobs, imported)
  --dataset TEXT     only runs whose dataset path or repository contains TEXT
  --limit N          at most N runs  [50]
  --history PATH     history database  [<runs-dir>/history.duckdb]
  --runs-dir PATH    folder of run folders  [$TRAINBOOK_RUNS_DIR or ./training_runs]
  --json             print JSON`,
  options: {
    status: { type: "string" },
    backend: { type: "string" },
    dataset: { type: "string" },
    limit: { type: "string" },
    history: { type: "string" },
    "runs-dir": { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, positionals) {
    const runsDir = (values["runs-dir"] as string | undefined) ?? defaultRunsDir();
    const path = (values.history as string | undefined) ?? join(runsDir, "history.duckdb");
    // Listing must not create a history at a mistyped path.
    if (!(await Deno.stat(path).then((info) => info.isFile, () => false))) {
      console.error(`error: no history at ${path}. Train a run first, or pass --runs-dir or --history`);
      return 2;
    }
    const status = values.status as string | undefined;
    if (status !== undefined && !STATUSES.includes(status as RunStatus)) {
      console.error(`error: invalid --status "${status}". Use one of: ${STATUSES.join(", ")}`);
      return 2;
    }
    const history = await History.open(path);
    try {
      if (positionals[0]) {
        const details = await history.getRun(positionals[0]);
        console.log(values.json ? JSON.stringify(details, null, 2) : details.toString());
        return 0;
      }
      const list = await history.listRuns({
        status: values.status as RunStatus | undefined,
        backend: values.backend as string | undefined,
        dataset: values.dataset as string | undefined,
        limit: intOption(values, "limit") ?? 50,
      });
      console.log(values.json ? JSON.stringify(list, null, 2) : list.toString());
      return 0;
    } finally {
      await history.close();
    }
  },
};
