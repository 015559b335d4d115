/**
 * Rendering a {@linkcode ValidationReport}: plain text for terminals, and an
 * HTML table with a per-class chart for Jupyter's Deno kernel.
 *
 * @module
 */
import { escapeHtml } from "./display.ts";
import type { Finding, SplitStats, ValidationReport } from "./validate_types.ts";

function location(finding: Finding): string {
  if (finding.file === undefined) return "";
  return finding.line === undefined ? finding.file : `${finding.file}:${finding.line}`;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(value < 0.01 ? 2 : 1)}%`;
}

function summaryLine(report: ValidationReport): string {
  const verdict = report.ok ? "OK" : "FAILED";
  return `Dataset ${report.root}: ${verdict}, ${report.errors.length} errors, ${report.warnings.length} warnings`;
}

function statsLines(stats: SplitStats): string[] {
  const sizes = stats.imageSizes.slice(0, 3).map((size) => `${size.width}x${size.height} (${size.count})`)
    .join(", ");
  const lines = [
    `  ${stats.split}: ${stats.images} images (${stats.backgroundImages} background), ${stats.instances} objects, ` +
    `${stats.boxesPerImage.mean.toFixed(2)} per image (max ${stats.boxesPerImage.max})`,
    `    box area p10/p50/p90: ${percent(stats.boxSize.p10)} / ${percent(stats.boxSize.p50)} / ${
      percent(stats.boxSize.p90)
    }` +
    (sizes ? `; image sizes: ${sizes}` : ""),
  ];
  for (const cls of stats.perClass) {
    lines.push(`    ${cls.name}: ${cls.instances} objects in ${cls.images} images`);
  }
  return lines;
}

/**
 * Formats a validation report as plain text for a terminal: a summary line,
 * each finding with its location and fix, then the statistics per split.
 */
export function formatValidationReport(report: ValidationReport): string {
  const lines = [summaryLine(report)];
  for (const finding of report.findings) {
    const where = location(finding);
    lines.push(
      `${finding.severity.toUpperCase()} [${finding.code}] ${where ? where + ": " : ""}${finding.message}`,
    );
    if (finding.value !== undefined) lines.push(`    value: ${finding.value}`);
    lines.push(`    fix: ${finding.fix}`);
  }
  if (report.stats.length > 0) lines.push("Statistics:");
  for (const stats of report.stats) lines.push(...statsLines(stats));
  return lines.join("\n");
}

const CELL = 'style="text-align:left;padding:2px 8px;border-bottom:1px solid #ddd;vertical-align:top"';
const SEVERITY_COLOURS = { error: "#b42318", warning: "#b54708" };

function findingsTable(findings: Finding[]): string {
  if (findings.length === 0) return "<p>No findings.</p>";
  const rows = findings.map((finding) =>
    `<tr><td ${CELL}><b style="color:${SEVERITY_COLOURS[finding.severity]}">${finding.severity}</b></td>` +
    `<td ${CELL}><code>${escapeHtml(finding.code)}</code></td><td ${CELL}><code>${
      escapeHtml(location(finding))
    }</code></td>` +
    `<td ${CELL}>${escapeHtml(finding.message)}${
      finding.value === undefined ? "" : `<br><code>${escapeHtml(finding.value)}</code>`
    }</td>` +
    `<td ${CELL}>${escapeHtml(finding.fix)}</td></tr>`
  );
  const header = ["Severity", "Code", "Where", "Problem", "Fix"].map((name) => `<th ${CELL}>${name}</th>`)
    .join("");
  return `<table style="border-collapse:collapse"><thead><tr>${header}</tr></thead><tbody>${
    rows.join("")
  }</tbody></table>`;
}

function statsTable(stats: SplitStats[]): string {
  const header = [
    "Split",
    "Images",
    "Background",
    "Objects",
    "Per image (max)",
    "Box area p10 / p50 / p90",
    "Image sizes",
  ]
    .map((name) => `<th ${CELL}>${name}</th>`).join("");
  const rows = stats.map((split) =>
    `<tr><td ${CELL}>${split.split}</td><td ${CELL}>${split.images}</td><td ${CELL}>${split.backgroundImages}</td>` +
    `<td ${CELL}>${split.instances}</td><td ${CELL}>${
      split.boxesPerImage.mean.toFixed(2)
    } (${split.boxesPerImage.max})</td>` +
    `<td ${CELL}>${percent(split.boxSize.p10)} / ${percent(split.boxSize.p50)} / ${
      percent(split.boxSize.p90)
    }</td>` +
    `<td ${CELL}>${
      split.imageSizes.slice(0, 3).map((size) => `${size.width}x${size.height} (${size.count})`).join(", ")
    }</td></tr>`
  );
  return `<table style="border-collapse:collapse"><thead><tr>${header}</tr></thead><tbody>${
    rows.join("")
  }</tbody></table>`;
}

/** Colours of the splits in the chart, set explicitly because some front ends force a white background. */
const SPLIT_COLOURS = { train: "#1f77b4", val: "#ff7f0e", test: "#2ca02c" };

/** Renders objects per class and split as an SVG bar chart, or "" when there are no objects. */
async function classChart(stats: SplitStats[]): Promise<string> {
  const data = stats.flatMap((split) =>
    split.perClass.map((cls) => ({ split: split.split, name: cls.name, instances: cls.instances }))
  );
  if (data.every((row) => row.instances === 0)) return "";
  // Plot and linkedom load on first display, so importing trainbook stays fast.
  const [Plot, { parseHTML }] = await Promise.all([import("@observablehq/plot"), import("linkedom")]);
  const { document } = parseHTML("<!DOCTYPE html><html><body></body></html>");
  const splits = stats.map((split) => split.split);
  const chart = Plot.plot({
    document,
    width: 560,
    height: 80 + 24 * Math.max(1, stats[0]?.perClass.length ?? 1) * splits.length,
    marginLeft: 110,
    style: { background: "white", color: "#222" },
    x: { label: "objects", grid: true },
    y: { label: null },
    fy: { label: null },
    color: {
      domain: splits,
      range: splits.map((split) => SPLIT_COLOURS[split as keyof typeof SPLIT_COLOURS] ?? "#777"),
      legend: true,
    },
    marks: [
      Plot.barX(data, { x: "instances", y: "split", fy: "name", fill: "split" }),
      Plot.ruleX([0], { stroke: "#222" }),
    ],
  }) as unknown as Element;
  // Plot leaves out xmlns, which standalone SVG viewers need; set it once on every svg element.
  const svgs = chart.tagName.toLowerCase() === "svg" ? [chart] : [...chart.querySelectorAll("svg")];
  for (const svg of svgs) svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return chart.outerHTML;
}

/** Builds the Jupyter display bundle: `text/plain` and an HTML summary, findings, statistics and chart. */
export async function validationReportBundle(report: ValidationReport): Promise<Record<string, string>> {
  const verdictColour = report.ok ? "#067647" : "#b42318";
  const html = [
    `<div><p style="color:${verdictColour}"><b>${escapeHtml(summaryLine(report))}</b></p>`,
    findingsTable(report.findings),
    report.stats.length > 0
      ? `<h4>Statistics</h4>${statsTable(report.stats)}${await classChart(report.stats)}`
      : "",
    "</div>",
  ].join("");
  return { "text/plain": formatValidationReport(report), "text/html": html };
}
