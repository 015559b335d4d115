/**
 * Vega-Lite specs of a results table, for front ends that render Vega-Lite
 * interactively (tooltips, zoom) where static SVG cannot.
 *
 * @module
 */
import { type Displayable, displayBundle, VEGA_LITE_SCHEMA, vegaLiteBundle } from "./display.ts";
import { bestRow, metricColumns, type ResultsTable } from "./results.ts";
import { OptionsError } from "./errors.ts";

/**
 * Builds a Vega-Lite 5 line chart of a results table with the data inline: one
 * `metric` by epoch, or every metric column when `metric` is omitted. Each
 * appended run is its own line. Missing and infinite values are left out, which
 * Vega-Lite draws as gaps. The best epoch of the last run is a dashed rule.
 *
 * The spec is a plain JSON object. It also displays itself in the Deno Jupyter
 * kernel under the Vega-Lite 5 mime type, with a text fallback.
 *
 * @throws {OptionsError} when `metric` is not a column of the table.
 */
export function toVegaLite(table: ResultsTable, metric?: string): Record<string, unknown> & Displayable {
  if (metric !== undefined && !table.columns.includes(metric)) {
    throw new OptionsError("metric is not a column of the results table", {
      file: table.source,
      value: metric,
      hint: `Pass one of: ${table.columns.join(", ")}`,
    });
  }
  const columns = metric !== undefined ? [metric] : metricColumns(table);

  const values = table.rows.flatMap((row) =>
    columns.map((column) => {
      const value = row.values[column];
      return {
        epoch: row.epoch,
        run: row.segment,
        series: column,
        value: typeof value === "number" && Number.isFinite(value) ? value : null,
      };
    })
  );
  const best = bestRow(table, metric)?.epoch;

  const lines = {
    mark: { type: "line", point: { size: 12 }, strokeWidth: 1.6 },
    encoding: {
      x: { field: "epoch", type: "quantitative", axis: { format: "d" } },
      y: { field: "value", type: "quantitative", title: metric ?? "value" },
      color: { field: "series", type: "nominal", title: null },
      detail: { field: "run", type: "ordinal" },
      tooltip: [
        { field: "series", type: "nominal" },
        { field: "epoch", type: "quantitative" },
        { field: "value", type: "quantitative", format: ".4~g" },
        { field: "run", type: "ordinal" },
      ],
    },
  };
  const layers: object[] = [lines];
  if (best !== undefined) {
    layers.push({
      data: { values: [{ epoch: best }] },
      mark: { type: "rule", strokeDash: [4, 3], color: "#6e7781" },
      encoding: { x: { field: "epoch", type: "quantitative" } },
    });
  }

  const title = metric ?? "Validation metrics";
  const spec: Record<string, unknown> = {
    $schema: VEGA_LITE_SCHEMA,
    title,
    width: 480,
    height: 280,
    background: "#ffffff",
    data: { values },
    layer: layers,
  };
  return displayBundle(
    spec,
    () => vegaLiteBundle(spec, `Vega-Lite chart: ${title}, ${table.rows.length} epochs`),
  );
}
