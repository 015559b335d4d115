/**
 * Results of history queries: run lists, leaderboards, run details and run
 * comparisons. Each prints as an aligned table with `toString()` and shows as an
 * HTML table in a Jupyter notebook with the Deno kernel.
 *
 * @module
 */
import type { TestMetrics } from "./metrics.ts";
import type { ArtifactRecord, EpochRecord, EventRecord, RunRecord } from "./history_records.ts";
import { htmlTable, JUPYTER_DISPLAY, plainTable, type TableColumn } from "./_table.ts";

/** One titled table of a view. */
interface Section {
  title: string;
  columns: TableColumn[];
  rows: Record<string, unknown>[];
}

function sectionsText(sections: Section[]): string {
  return sections.map((section) => `${section.title}\n${plainTable(section.columns, section.rows)}`).join(
    "\n\n",
  );
}

function sectionsBundle(sections: Section[]): Record<string, string> {
  const html = sections.map((section) => htmlTable(section.columns, section.rows, section.title)).join("\n");
  return { "text/plain": sectionsText(sections), "text/html": html };
}

/** One run in a {@linkcode RunList}. */
export interface RunSummary {
  /** Run id. */
  id: string;
  /** ISO 8601 time the run was created. */
  createdAt: string;
  /** Lifecycle status. */
  status: RunRecord["status"];
  /** Training backend. */
  backend: RunRecord["backend"];
  /** Model weights or YAML the run started from. */
  model: string;
  /** Dataset repo, else dataset path. */
  dataset?: string;
  /** Epochs recorded, over all segments. */
  epochs: number;
  /** Epochs the run was started with. */
  epochsPlanned?: number;
  /** Best validation mAP50-95 (box) over the recorded epochs. */
  bestMap50_95?: number;
  /** Test-split mAP50-95, when the run was evaluated on it. */
  testMap50_95?: number;
}

/** Runs from {@linkcode History.listRuns}, newest first. */
export class RunList {
  /** Wraps query results; {@linkcode History} builds these. */
  constructor(
    /** Runs, newest first. */
    readonly runs: RunSummary[],
  ) {
  }

  /** Returns the view as aligned plain-text tables. */
  toString(): string {
    return sectionsText(this.#sections());
  }

  /** Returns the Jupyter display bundle: HTML tables with a plain-text fallback. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return sectionsBundle(this.#sections());
  }

  #sections(): Section[] {
    const columns: TableColumn[] = [
      { key: "id", label: "id" },
      { key: "created", label: "created (UTC)" },
      { key: "status", label: "status" },
      { key: "backend", label: "backend" },
      { key: "model", label: "model" },
      { key: "dataset", label: "dataset" },
      { key: "epochs", label: "epochs", right: true },
      { key: "bestMap50_95", label: "best mAP50-95", right: true },
      { key: "testMap50_95", label: "test mAP50-95", right: true },
    ];
    const rows = this.runs.map((run) => ({
      ...run,
      created: run.createdAt.slice(0, 16).replace("T", " "),
      epochs: run.epochsPlanned === undefined ? run.epochs : `${run.epochs}/${run.epochsPlanned}`,
    }));
    return [{ title: `${this.runs.length} run${this.runs.length === 1 ? "" : "s"}`, columns, rows }];
  }
}

/** One ranked run in a {@linkcode Leaderboard}. */
export interface LeaderboardRow {
  /** 1-based rank. */
  rank: number;
  /** Run id. */
  id: string;
  /** Model weights or YAML the run started from. */
  model: string;
  /** Dataset repo, else dataset path. */
  dataset?: string;
  /** Lifecycle status. */
  status: RunRecord["status"];
  /** The ranked value: the best epoch's value, or the test metric. */
  value: number;
  /** Segment of the best epoch; absent for test metrics. */
  segment?: number;
  /** Epoch of the best value; absent for test metrics. */
  epoch?: number;
  /** ISO 8601 time the run was created. */
  createdAt: string;
}

/** Runs ranked by one metric, from {@linkcode History.leaderboard}. */
export class Leaderboard {
  /** Wraps query results; {@linkcode History} builds these. */
  constructor(
    /** Metric ranked by: a results.csv column, or `test/<field>` of the test metrics. */
    readonly metric: string,
    /** "max" when higher is better, "min" when lower is better. */
    readonly order: "max" | "min",
    /** Ranked runs, best first. */
    readonly rows: LeaderboardRow[],
  ) {
  }

  /** Returns the view as aligned plain-text tables. */
  toString(): string {
    return sectionsText(this.#sections());
  }

  /** Returns the Jupyter display bundle: HTML tables with a plain-text fallback. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return sectionsBundle(this.#sections());
  }

  #sections(): Section[] {
    const columns: TableColumn[] = [
      { key: "rank", label: "#", right: true },
      { key: "id", label: "id" },
      { key: "model", label: "model" },
      { key: "dataset", label: "dataset" },
      { key: "status", label: "status" },
      { key: "value", label: this.metric, right: true },
      { key: "epoch", label: "epoch", right: true },
      { key: "created", label: "created (UTC)" },
    ];
    const rows = this.rows.map((row) => ({
      ...row,
      epoch: row.epoch === undefined
        ? undefined
        : row.segment === 1
        ? row.epoch
        : `${row.segment}:${row.epoch}`,
      created: row.createdAt.slice(0, 16).replace("T", " "),
    }));
    return [{
      title: `Leaderboard by ${this.metric} (${this.order === "max" ? "higher" : "lower"} is better)`,
      columns,
      rows,
    }];
  }
}

/** Everything the history contains about one run, from {@linkcode History.getRun}. */
export class RunDetails {
  /** Wraps query results; {@linkcode History} builds these. */
  constructor(
    /** The run's record. */
    readonly run: RunRecord,
    /** Epochs in order of segment and epoch. */
    readonly epochs: EpochRecord[],
    /** Test metrics, one entry per evaluated split. */
    readonly testMetrics: TestMetrics[],
    /** Files the run produced. */
    readonly artifacts: ArtifactRecord[],
    /** Events in the order they were recorded. */
    readonly events: EventRecord[],
  ) {
  }

  /** Returns the view as aligned plain-text tables. */
  toString(): string {
    return sectionsText(this.#sections());
  }

  /** Returns the Jupyter display bundle: HTML tables with a plain-text fallback. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return sectionsBundle(this.#sections());
  }

  #sections(): Section[] {
    const field: TableColumn[] = [{ key: "field", label: "field" }, { key: "value", label: "value" }];
    const runRows = Object.entries(this.run).map(([key, value]) => ({ field: key, value }));
    const sections: Section[] = [{ title: `Run ${this.run.id}`, columns: field, rows: runRows }];

    const last = this.epochs.at(-1);
    if (last !== undefined) {
      const rows = Object.entries(last.metrics).map(([metric, value]) => ({ field: metric, value }));
      sections.push({
        title: `Last epoch (${last.epoch} of ${this.epochs.length} recorded)`,
        columns: field,
        rows,
      });
    }
    for (const metrics of this.testMetrics) {
      const columns: TableColumn[] = [
        { key: "name", label: "class" },
        { key: "images", label: "images", right: true },
        { key: "instances", label: "instances", right: true },
        { key: "precision", label: "P", right: true },
        { key: "recall", label: "R", right: true },
        { key: "map50", label: "mAP50", right: true },
        { key: "map50_95", label: "mAP50-95", right: true },
      ];
      const rows = [{ ...metrics, name: "all" }, ...metrics.classes] as unknown as Record<string, unknown>[];
      sections.push({ title: `Metrics on the ${metrics.split} split`, columns, rows });
    }
    if (this.artifacts.length > 0) {
      const columns: TableColumn[] = [
        { key: "path", label: "path" },
        { key: "kind", label: "kind" },
        { key: "size", label: "bytes", right: true },
        { key: "sha256", label: "sha256" },
      ];
      sections.push({
        title: "Artifacts",
        columns,
        rows: this.artifacts as unknown as Record<string, unknown>[],
      });
    }
    return sections;
  }
}

/** Key metrics of several runs side by side, from {@linkcode History.compareRuns}. */
export class RunComparison {
  /** Wraps query results; {@linkcode History} builds these. */
  constructor(
    /** Compared runs, in the order requested. */
    readonly runs: RunRecord[],
    /** One row per compared quantity: `label`, then one value per run id. */
    readonly rows: Record<string, unknown>[],
    /** Every epoch of each run, by run id. */
    readonly epochs: Record<string, EpochRecord[]>,
  ) {
  }

  /** Returns the view as aligned plain-text tables. */
  toString(): string {
    return sectionsText(this.#sections());
  }

  /** Returns the Jupyter display bundle: HTML tables with a plain-text fallback. */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return sectionsBundle(this.#sections());
  }

  #sections(): Section[] {
    const columns: TableColumn[] = [
      { key: "label", label: "" },
      ...this.runs.map((run) => ({ key: run.id, label: run.id, right: true })),
    ];
    return [{ title: `Comparison of ${this.runs.length} runs`, columns, rows: this.rows }];
  }
}
