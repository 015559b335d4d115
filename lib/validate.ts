/**
 * Dataset validation: checks a YOLO dataset's YAML, label files and images
 * against what Ultralytics 8.4 accepts, and reports every problem with its
 * file, line and fix, plus label statistics per split and class. The report
 * displays itself as an HTML table in Jupyter's Deno kernel.
 *
 * @example Validate the bundled dataset
 * ```ts
 * import { formatValidationReport, validateDataset } from "./validate.ts";
 *
 * const report = await validateDataset("datasets/thermal-dogs-and-people");
 * console.log(formatValidationReport(report));
 * if (!report.ok) Deno.exit(1);
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import type { Dataset } from "./dataset.ts";
import { type DatasetIssue, resolveDataset } from "./_dataset_resolve.ts";
import { DatasetYamlError } from "./_dataset_yaml.ts";
import { checkDatasetFiles } from "./_validate_files.ts";
import { type LabelRowKinds, relativeToRoot, scanSplit } from "./_validate_scan.ts";
import { rowKindFindings } from "./_validate_labels.ts";
import { validationReportBundle } from "./_validate_display.ts";
import type { Finding, SplitStats, ValidateDatasetOptions, ValidationReport } from "./validate_types.ts";

export type { Finding, SplitStats, ValidateDatasetOptions, ValidationReport } from "./validate_types.ts";
export { formatValidationReport } from "./_validate_display.ts";

function issueToFinding(root: string, issue: DatasetIssue): Finding {
  const finding: Finding = {
    severity: issue.severity,
    code: issue.code,
    message: issue.message,
    fix: issue.fix,
  };
  if (issue.file !== undefined) finding.file = relativeToRoot(root, issue.file);
  if (issue.line !== undefined) finding.line = issue.line;
  if (issue.value !== undefined) finding.value = issue.value;
  return finding;
}

/** Keeps `max` findings per code and replaces the rest with one finding that counts them. */
function capFindings(findings: Finding[], max: number): Finding[] {
  const kept: Finding[] = [];
  const dropped = new Map<string, { first: Finding; count: number }>();
  const perCode = new Map<string, number>();
  for (const finding of findings) {
    const count = (perCode.get(finding.code) ?? 0) + 1;
    perCode.set(finding.code, count);
    if (count <= max) kept.push(finding);
    else {
      const entry = dropped.get(finding.code) ?? { first: finding, count: 0 };
      entry.count++;
      dropped.set(finding.code, entry);
    }
  }
  for (const [code, { first, count }] of dropped) {
    kept.push({
      severity: first.severity,
      code,
      message: `${count} more findings like the ${max} above are not listed one by one`,
      fix: first.fix,
    });
  }
  return kept;
}

/** Builds the report object, errors first, with its Jupyter display method. */
function buildReport(
  root: string,
  names: string[],
  findings: Finding[],
  stats: SplitStats[],
): ValidationReport {
  const errors = findings.filter((finding) => finding.severity === "error");
  const warnings = findings.filter((finding) => finding.severity === "warning");
  const report: ValidationReport = {
    root,
    ok: errors.length === 0,
    findings: [...errors, ...warnings],
    errors,
    warnings,
    stats,
    names,
  };
  Object.defineProperty(report, Symbol.for("Jupyter.display"), {
    value: () => validationReportBundle(report),
    enumerable: false,
  });
  return report;
}

/** Scans the splits and runs the dataset-wide file checks. */
async function scanDataset(
  dataset: Dataset,
  options: Required<Omit<ValidateDatasetOptions, "signal" | "task">> & ValidateDatasetOptions,
): Promise<{ findings: Finding[]; stats: SplitStats[] }> {
  const context = {
    dataset,
    task: options.task ?? dataset.task,
    checkImages: options.checkImages,
    concurrency: options.concurrency,
    signal: options.signal,
  };
  const findings: Finding[] = [];
  const stats: SplitStats[] = [];
  const labels: LabelRowKinds[] = [];
  for (const split of [dataset.splits.train, dataset.splits.val, dataset.splits.test]) {
    if (!split) continue;
    const result = await scanSplit(split, context);
    findings.push(...result.findings);
    stats.push(result.stats);
    labels.push(...result.labels);
  }

  const task = options.task ?? inferTaskFromRows(dataset, labels);
  for (const label of labels) {
    findings.push(...rowKindFindings(label.boxRows, label.polygonRows, { file: label.file, task }));
  }
  findings.push(...(await checkDatasetFiles(dataset)));
  return { findings, stats };
}

/** Reads a dataset as `segment` when most non-empty label files hold polygons and the YAML names no task. */
function inferTaskFromRows(dataset: Dataset, labels: LabelRowKinds[]): Dataset["task"] {
  if (dataset.task !== "detect" || dataset.raw.task !== undefined) return dataset.task;
  const nonEmpty = labels.filter((label) => label.boxRows + label.polygonRows > 0);
  const polygons = nonEmpty.filter((label) => label.polygonRows > 0).length;
  return nonEmpty.length > 0 && polygons / nonEmpty.length > 0.5 ? "segment" : "detect";
}

/**
 * Validates a dataset folder (or its YAML file) and returns every finding with
 * its fix. Only a missing dataset or an unreadable YAML stops the checks early;
 * such problems become findings, so this does not throw for bad datasets.
 *
 * @throws {DOMException} `AbortError` when `options.signal` aborts.
 */
export async function validateDataset(
  path: string,
  options: ValidateDatasetOptions = {},
): Promise<ValidationReport> {
  const { checkImages = true, maxFindingsPerCode = 50, concurrency = 64 } = options;

  let resolved;
  try {
    resolved = await resolveDataset(path);
  } catch (error) {
    if (!(error instanceof DatasetYamlError)) throw error;
    const finding: Finding = {
      severity: "error",
      code: error.code,
      message: error.message,
      fix: error.hint ?? "",
    };
    const root = resolve(path);
    if (error.file !== undefined) finding.file = relativeToRoot(root, error.file);
    if (error.line !== undefined) finding.line = error.line;
    return buildReport(root, [], [finding], []);
  }

  const { dataset, yaml, issues } = resolved;
  const root = dataset?.root ?? (yaml ? resolve(yaml.path, "..") : resolve(path));
  const findings = issues.map((issue) => issueToFinding(root, issue));
  if (!dataset) return buildReport(root, [], findings, []);

  const scanned = await scanDataset(dataset, { ...options, checkImages, maxFindingsPerCode, concurrency });
  findings.push(...scanned.findings);
  return buildReport(dataset.root, dataset.names, capFindings(findings, maxFindingsPerCode), scanned.stats);
}
