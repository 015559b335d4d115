/**
 * Small helpers that render rows as an aligned plain-text table and as an HTML
 * table, for the display bundles of history results.
 *
 * @module
 */

import { escapeHtml, JUPYTER_DISPLAY } from "./display.ts";

export { JUPYTER_DISPLAY };

/** One column of a rendered table. */
export interface TableColumn {
  /** Key of the value in each row. */
  key: string;
  /** Header text. */
  label: string;
  /** Align right (numbers). */
  right?: boolean;
}

/** Formats one cell: numbers to at most 4 decimals, dates as UTC minutes, missing values empty. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e-3 ? String(Number(value.toFixed(4))) : value.toPrecision(3);
  }
  if (value instanceof Date) return value.toISOString().slice(0, 16).replace("T", " ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Renders rows as a plain-text table with aligned columns and a header rule. */
export function plainTable(columns: TableColumn[], rows: Record<string, unknown>[]): string {
  const cells = rows.map((row) => columns.map((column) => formatCell(row[column.key]).replaceAll("\n", " ")));
  const widths = columns.map((column, i) =>
    Math.max(column.label.length, ...cells.map((line) => line[i].length))
  );
  const render = (line: string[]) =>
    line.map((text, i) => columns[i].right ? text.padStart(widths[i]) : text.padEnd(widths[i])).join("  ")
      .trimEnd();
  const header = render(columns.map((column) => column.label));
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [header, rule, ...cells.map(render)].join("\n");
}

/** Renders rows as an HTML table with every cell escaped, under an optional caption. */
export function htmlTable(columns: TableColumn[], rows: Record<string, unknown>[], caption?: string): string {
  const align = (column: TableColumn) =>
    column.right ? ' style="text-align:right"' : ' style="text-align:left"';
  const head = columns.map((column) => `<th${align(column)}>${escapeHtml(column.label)}</th>`).join("");
  const body = rows.map((row) =>
    "<tr>" + columns.map((column) =>
      `<td${align(column)}>${escapeHtml(formatCell(row[column.key]))}</td>`
    ).join("") +
    "</tr>"
  ).join("\n");
  const title = caption === undefined
    ? ""
    : `<caption style="text-align:left">${escapeHtml(caption)}</caption>`;
  return `<table>${title}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}
