/**
 * Lays out Observable Plot panels into one chart: a standalone SVG with title,
 * legend and white background, and an HTML figure for notebooks. Plot renders
 * with a linkedom document, because Deno has no DOM.
 *
 * @module
 */
import { parseHTML } from "linkedom";
import { type Displayable, displayBundle, escapeHtml, htmlBundle } from "./display.ts";

/** A chart as one standalone SVG file and as HTML for notebooks and reports. */
export interface Chart {
  /** File stem for {@linkcode writeCharts}, such as `losses`. */
  name: string;
  /** Heading shown above the chart. */
  title: string;
  /** Standalone SVG: namespace declared once, white background, explicit colours. */
  svg: string;
  /** HTML `<figure>` with the title and legend as HTML, and the panels as inline SVG. */
  html: string;
}

/** One entry of a chart legend. */
export interface LegendEntry {
  label: string;
  color: string;
  /** SVG `stroke-dasharray` for a dashed line. */
  dash?: string;
  /** Swatch shape: a line for series, a square for bars. */
  shape?: "line" | "square";
}

/** One plot of a chart, with its own title above it. */
export interface Panel {
  title?: string;
  /** The `<svg>` element Plot returned (rendered without title or legend). */
  plot: Element;
}

/** Everything {@linkcode composeChart} needs. */
export interface ChartParts {
  name: string;
  title: string;
  legend: LegendEntry[];
  panels: Panel[];
  /** Panels per row. */
  columns: number;
}

/** Colour of text, axes and grid lines, set explicitly because some front ends force a white background. */
export const INK = "#1f2328";
/** Colour of reference marks such as the best-epoch rule. */
export const MUTED = "#6e7781";
/** Series colours (Observable 10), used in order. */
export const PALETTE = [
  "#4269d0",
  "#efb118",
  "#ff725c",
  "#6cc5b0",
  "#3ca951",
  "#ff8ab7",
  "#a463f2",
  "#97bbf5",
  "#9c6b4e",
  "#9498a0",
];
/** Font of every chart. */
export const FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif";

const PAD = 12;
const GAP = 16;
const TITLE_HEIGHT = 26;
const LEGEND_ROW_HEIGHT = 18;
const PANEL_TITLE_HEIGHT = 16;
/** Estimated width of one title character at 15 px bold, because there is no layout engine to measure text. */
const TITLE_CHAR_WIDTH = 9;
const SVG_NS = "http://www.w3.org/2000/svg";

/** The linkedom document every Plot call renders into. */
export const chartDocument: Document = parseHTML("<!doctype html><html><body></body></html>").document;

/** Rounds the numbers in geometry attributes to two decimals, which keeps 1,000-epoch paths small. */
function roundGeometry(markup: string): string {
  return markup.replace(
    /(\s(?:d|transform|x|y|x1|x2|y1|y2|cx|cy|r|width|height|viewBox|points)=")([^"]*)"/g,
    (_match, prefix: string, value: string) =>
      `${prefix}${
        value.replace(/-?\d+\.\d{3,}(?:e-?\d+)?/g, (n) => String(Math.round(Number(n) * 100) / 100))
      }"`,
  );
}

/** Serialises one Plot `<svg>` positioned at (x, y), without Plot's stylesheet and class. */
function panelMarkup(plot: Element, x: number, y: number): string {
  for (const style of Array.from(plot.querySelectorAll("style"))) style.remove();
  plot.removeAttribute("class");
  plot.setAttribute("x", String(x));
  plot.setAttribute("y", String(y));
  return plot.outerHTML.replaceAll("currentColor", INK);
}

function plotSize(plot: Element): { width: number; height: number } {
  return { width: Number(plot.getAttribute("width")), height: Number(plot.getAttribute("height")) };
}

function swatchMarkup(entry: LegendEntry, x: number, y: number): string {
  if (entry.shape === "square") {
    return `<rect x="${x + 4}" y="${y - 5}" width="10" height="10" fill="${entry.color}" stroke="${INK}" ` +
      `stroke-opacity="0.25"/>`;
  }
  const dash = entry.dash ? ` stroke-dasharray="${entry.dash}"` : "";
  return `<line x1="${x}" x2="${
    x + 18
  }" y1="${y}" y2="${y}" stroke="${entry.color}" stroke-width="2"${dash}/>`;
}

/** Estimated legend entry width in pixels; text is not measured because there is no layout engine. */
function legendEntryWidth(entry: LegendEntry): number {
  return 24 + entry.label.length * 6.2 + 16;
}

/** Lays the legend out in rows that fit `width`; returns the markup and its height. */
function legendMarkup(legend: LegendEntry[], top: number, width: number): { markup: string; height: number } {
  if (legend.length === 0) return { markup: "", height: 0 };

  let x = PAD;
  let row = 0;
  const parts: string[] = [];
  for (const entry of legend) {
    const entryWidth = legendEntryWidth(entry);
    if (x + entryWidth > width - PAD && x > PAD) {
      row++;
      x = PAD;
    }
    const y = top + row * LEGEND_ROW_HEIGHT + LEGEND_ROW_HEIGHT / 2;
    parts.push(swatchMarkup(entry, x, y));
    parts.push(`<text x="${x + 24}" y="${y}" dy="0.35em">${escapeHtml(entry.label)}</text>`);
    x += entryWidth;
  }
  return {
    markup: `<g font-size="11" fill="${INK}">${parts.join("")}</g>`,
    height: (row + 1) * LEGEND_ROW_HEIGHT,
  };
}

/** Places the panels in a grid below `top`; returns the markup, total width and height. */
function gridMarkup(panels: Panel[], columns: number, top: number) {
  const sizes = panels.map((panel) => plotSize(panel.plot));
  const cellWidth = Math.max(...sizes.map((s) => s.width));
  const titled = panels.some((panel) => panel.title);
  const parts: string[] = [];
  let y = top;
  for (let start = 0; start < panels.length; start += columns) {
    const rowSizes = sizes.slice(start, start + columns);
    const rowHeight = Math.max(...rowSizes.map((s) => s.height)) + (titled ? PANEL_TITLE_HEIGHT : 0);
    panels.slice(start, start + columns).forEach((panel, i) => {
      const x = PAD + i * (cellWidth + GAP);
      if (panel.title) {
        parts.push(
          `<text x="${x}" y="${y + 11}" font-size="12" font-weight="600">${escapeHtml(panel.title)}</text>`,
        );
      }
      parts.push(panelMarkup(panel.plot, x, y + (titled ? PANEL_TITLE_HEIGHT : 0)));
    });
    y += rowHeight + GAP;
  }
  const used = Math.min(columns, panels.length);
  return { markup: parts.join(""), width: 2 * PAD + used * cellWidth + (used - 1) * GAP, bottom: y - GAP };
}

function svgDocument(width: number, height: number, label: string, body: string): string {
  return `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" aria-label="${escapeHtml(label)}" font-family="${FONT}" font-size="10" fill="${INK}" ` +
    `style="background:#ffffff"><rect width="100%" height="100%" fill="#ffffff"/>${body}</svg>`;
}

function htmlLegend(legend: LegendEntry[]): string {
  if (legend.length === 0) return "";
  const items = legend.map((entry) => {
    const swatch = `<svg xmlns="${SVG_NS}" width="18" height="10">${swatchMarkup(entry, 0, 5)}</svg>`;
    return `<span style="display:inline-flex;align-items:center;gap:6px">${swatch}${
      escapeHtml(entry.label)
    }</span>`;
  });
  return `<div style="display:flex;flex-wrap:wrap;gap:4px 16px;font-size:11px;margin:0 0 6px">${
    items.join("")
  }</div>`;
}

/**
 * Builds a chart from Plot panels: a standalone SVG with the title and legend
 * drawn in SVG, and an HTML figure with them as HTML. The chart displays itself
 * in the Deno Jupyter kernel as `text/html`.
 */
export function composeChart(parts: ChartParts): Chart & Displayable {
  const { name, title, legend, panels, columns } = parts;

  // Standalone SVG: title, legend rows, then the grid of panels.
  const probe = gridMarkup(panels, columns, 0);
  const width = Math.max(probe.width, Math.ceil(2 * PAD + title.length * TITLE_CHAR_WIDTH));
  const legendBlock = legendMarkup(legend, PAD + TITLE_HEIGHT, width);
  const gridTop = PAD + TITLE_HEIGHT + legendBlock.height + (legend.length > 0 ? 8 : 0);
  const grid = gridMarkup(panels, columns, gridTop);
  const heading = `<text x="${PAD}" y="${PAD + 16}" font-size="15" font-weight="600">${
    escapeHtml(title)
  }</text>`;
  const svg = roundGeometry(
    svgDocument(width, grid.bottom + PAD, title, heading + legendBlock.markup + grid.markup),
  );

  // HTML figure: the same panels without the SVG title and legend.
  const bare = gridMarkup(panels, columns, PAD);
  const bareSvg = roundGeometry(svgDocument(bare.width, bare.bottom + PAD, title, bare.markup));
  const html = `<figure class="trainbook-chart" style="margin:0 0 16px;padding:8px;background:#ffffff;` +
    `color:${INK};font-family:${FONT};max-width:100%;overflow-x:auto">` +
    `<h3 style="margin:0 0 6px;font-size:15px;font-weight:600">${escapeHtml(title)}</h3>` +
    `${htmlLegend(legend)}${bareSvg}</figure>`;

  const chart: Chart = { name, title, svg, html };
  return displayBundle(chart, () => htmlBundle(chart.html, `Chart: ${title}`));
}

/** Makes a list of charts display as one HTML output in the Deno Jupyter kernel. */
export function displayCharts<T extends Chart[]>(charts: T): T & Displayable {
  return displayBundle(charts, () =>
    htmlBundle(
      charts.map((chart) => chart.html).join("\n"),
      charts.length === 0 ? "No charts" : `Charts: ${charts.map((chart) => chart.title).join(", ")}`,
    ));
}
