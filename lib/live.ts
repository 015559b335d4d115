/**
 * Live view of a training run, for both backends. In the Deno Jupyter kernel one
 * display (status line, progress bar, loss and metric charts) is updated in place
 * as each epoch ends. In a terminal one progress line is printed per epoch.
 *
 * @module
 */
import type { Chart } from "./charts.ts";
import { escapeHtml, type MimeBundle } from "./display.ts";
import type { EpochEvent, TrainEvent } from "./events.ts";
import { formatEventLine } from "./progress.ts";
import type { ResultsTable } from "./results.ts";
import type { RunResult, TrainingRun } from "./run.ts";
import { formatDuration } from "./run.ts";

/** Options of {@linkcode watch}. */
export interface WatchOptions {
  /**
   * Progress display: "notebook" (a display updated in place), "terminal"
   * (one line per epoch), or "auto" (the notebook inside the Jupyter kernel).
   * @default {"auto"}
   */
  mode?: "auto" | "notebook" | "terminal";
  /**
   * Draw the loss and metric charts in the notebook view.
   * @default {true}
   */
  charts?: boolean;
  /** Terminal: also print the trainer's own output lines. @default {false} */
  verbose?: boolean;
  /** Receives each terminal line. @default {console.log} */
  print?: (line: string) => void;
  /** Notebook: sends a display bundle; tests pass their own. @default {Deno.jupyter.display} */
  display?: (bundle: MimeBundle, options: { display_id: string; update: boolean }) => Promise<void>;
}

/** The part of the Deno Jupyter API used here (its types are unstable, so not in `deno.window`). */
interface JupyterApi {
  display(
    bundle: MimeBundle,
    options: { raw: boolean; update?: boolean; display_id?: string },
  ): Promise<void>;
}

function jupyterApi(): JupyterApi {
  return (Deno as unknown as { jupyter: JupyterApi }).jupyter;
}

/** Returns whether this process is a Deno Jupyter kernel. */
export function inJupyter(): boolean {
  try {
    return typeof jupyterApi()?.display === "function";
  } catch {
    // Outside `deno jupyter`, reading Deno.jupyter throws.
    return false;
  }
}

/**
 * Shows a run's progress until it ends and returns its result.
 *
 * @example In a notebook cell
 * ```ts ignore
 * const run = await train("../datasets/thermal-dogs-and-people", { epochs: 10 });
 * const result = await watch(run);
 * ```
 */
export async function watch(run: TrainingRun, options: WatchOptions = {}): Promise<RunResult> {
  const mode = options.mode === undefined || options.mode === "auto"
    ? (inJupyter() ? "notebook" : "terminal")
    : options.mode;
  if (mode === "terminal") {
    // deno-lint-ignore no-console
    const print = options.print ?? ((line: string) => console.log(line));
    for await (const event of run.events()) {
      const line = formatEventLine(event, options.verbose);
      if (line !== undefined) print(line);
    }
    return await run.done;
  }

  const display = options.display ??
    ((bundle: MimeBundle, displayOptions: { display_id: string; update: boolean }) =>
      jupyterApi().display(bundle, { raw: true, ...displayOptions }));
  const displayId = `trainbook-run-${run.id}`;
  const charts = options.charts === false ? undefined : (await import("./charts.ts")).trainingCharts;
  let shown = false;
  const show = async () => {
    await display(liveBundle(run, charts), { display_id: displayId, update: shown });
    shown = true;
  };
  await show();
  for await (const event of run.events()) {
    if (redraws(event)) await show();
  }
  await show();
  return await run.done;
}

function redraws(event: TrainEvent): boolean {
  return event.type === "epoch" || event.type === "status" || event.type === "start" ||
    event.type === "setup" ||
    event.type === "error";
}

/**
 * The live display of a run: status line, progress bar and, when `renderCharts` is
 * given (lib/charts.ts `trainingCharts`), the loss and metric charts; with a text fallback.
 */
export function liveBundle(run: TrainingRun, renderCharts?: (table: ResultsTable) => Chart[]): MimeBundle {
  const epochs = run.epochs;
  const last = epochs.at(-1);
  const done = last?.epoch ?? 0;
  const planned = last?.epochs ?? run.epochsPlanned;
  const status = statusLine(run);
  const lines = [status];
  if (last) lines.push(epochSummary(last));

  let html =
    `<div class="trainbook-live" style="font-family: system-ui, sans-serif; color: #222; background: #fff;">` +
    `<div style="margin: 4px 0;"><b>${escapeHtml(status)}</b></div>` +
    `<progress max="${planned}" value="${done}" style="width: 100%; height: 14px;"></progress>`;
  if (last) {
    html += `<div style="font-family: monospace; margin: 4px 0;">${escapeHtml(epochSummary(last))}</div>`;
  }
  if (renderCharts && epochs.length > 0) {
    for (const chart of renderCharts(tableFromEpochs(epochs))) {
      if (chart.name === "learning_rate") continue;
      html += `<div style="display: inline-block; vertical-align: top; margin: 4px;">${chart.html}</div>`;
    }
  }
  html += "</div>";
  return { "text/plain": lines.join("\n"), "text/html": html };
}

function statusLine(run: TrainingRun): string {
  const last = run.epochs.at(-1);
  const parts = [`Run ${run.id}`, run.stage ? `${run.status} (${run.stage})` : run.status];
  if (last) parts.push(`epoch ${last.epoch}/${last.epochs}`);
  parts.push(`elapsed ${formatDuration(run.elapsedSeconds)}`);
  if (run.stage) parts.push(`in stage ${formatDuration(run.stageElapsedSeconds)}`);
  if (last && !run.finished) parts.push(`ETA ${formatDuration(last.etaSeconds)}`);
  for (const [key, value] of Object.entries(run.info)) {
    if (key !== "pid") parts.push(`${key} ${value}`);
  }
  return parts.join(" · ");
}

function epochSummary(event: EpochEvent): string {
  return (formatEventLine(event) ?? "").replace(/\s+elapsed.*$/, "");
}

/** Builds a results table from epoch events, so live charts use the same code as results.csv. */
export function tableFromEpochs(epochs: EpochEvent[]): ResultsTable {
  const columns: string[] = [];
  for (const event of epochs) {
    for (const name of Object.keys(event.metrics)) if (!columns.includes(name)) columns.push(name);
  }
  return {
    format: "ultralytics",
    task: "detect",
    epochBase: 1,
    columns,
    originalColumns: Object.fromEntries(columns.map((name) => [name, name])),
    rows: epochs.map((event) => ({ epoch: event.epoch, segment: 1, values: { ...event.metrics } })),
    segments: 1,
    warnings: [],
  };
}
