/**
 * Checks one YOLO label file row by row against the rules of Ultralytics 8.4's
 * `verify_image_label`, and extracts the boxes for statistics.
 *
 * @module
 */
import { isPythonFloat, parsePythonFloat, splitLabelRows } from "./_label_text.ts";
import type { Finding } from "./validate_types.ts";

/** Dataset and image facts the label checker needs. */
export interface LabelContext {
  /** Label file path relative to the dataset root, for findings. */
  file: string;
  /** Class names; their count is nc. */
  names: string[];
  /** Task the labels are checked for. */
  task: "detect" | "segment" | "pose" | "obb" | "classify";
  /** `kpt_shape` of a pose dataset. */
  kptShape?: [number, number];
  /** Image size in pixels, when its header could be read. */
  imageSize?: { width: number; height: number };
}

/** A box for statistics: class id and normalised width and height. */
export interface LabelBox {
  cls: number;
  width: number;
  height: number;
}

/** Findings and boxes of one label file. */
export interface LabelFileResult {
  findings: Finding[];
  boxes: LabelBox[];
  /** Whether the file has no rows (a background image). */
  empty: boolean;
  /** Rows with 5 columns (or pose rows). */
  boxRows: number;
  /** Rows with more than 6 columns outside pose datasets. */
  polygonRows: number;
}

/** Coordinates above this are read as pixel units rather than a slightly-off normalised value. */
const PIXEL_THRESHOLD = 1.5;
/** Ultralytics accepts coordinates within 1% outside [0, 1]. */
const TOLERANCE = 0.01;

/** Collects per-file findings: one per code, counting the rows that repeat it. */
class FileFindings {
  readonly byCode = new Map<string, { finding: Finding; rows: number }>();

  add(finding: Finding): void {
    const existing = this.byCode.get(finding.code);
    if (existing) existing.rows++;
    else this.byCode.set(finding.code, { finding, rows: 1 });
  }

  list(): Finding[] {
    return [...this.byCode.values()].map(({ finding, rows }) =>
      rows > 1 ? { ...finding, message: `${finding.message} (and ${rows - 1} more rows)` } : finding
    );
  }
}

function round(value: number, digits = 4): string {
  return String(Number(value.toFixed(digits)));
}

/** Rewrites a pixel-unit box row in normalised units, for the fix text. */
function normalisedExample(values: number[], size: { width: number; height: number }): string {
  const [cls, x, y, w, h] = values;
  return `${cls} ${round(x / size.width)} ${round(y / size.height)} ${round(w / size.width)} ${
    round(h / size.height)
  }`;
}

/** Checks the class id of a row. */
function checkClass(
  values: number[],
  row: { line: number; text: string },
  context: LabelContext,
  out: FileFindings,
) {
  const cls = values[0];
  const nc = context.names.length;
  if (!Number.isInteger(cls)) {
    out.add({
      severity: "error",
      code: "label-class-not-integer",
      message: `Class id ${cls} is not a whole number`,
      file: context.file,
      line: row.line,
      value: row.text,
      fix: `Write the class as an integer index into names: (0-${nc - 1})`,
    });
  } else if (cls < 0 || cls >= nc) {
    out.add({
      severity: "error",
      code: "label-class-out-of-range",
      message: `Class id ${cls} is outside names:, which has ${nc} classes (ids 0-${
        nc - 1
      }); Ultralytics drops the image`,
      file: context.file,
      line: row.line,
      value: row.text,
      fix: `Add the missing class to names:, or correct the id to one of 0-${nc - 1}`,
    });
  }
}

/** Checks that coordinates are normalised: pixel units, slightly outside [0, 1], or zero-size boxes. */
function checkCoordinates(
  values: number[],
  row: { line: number; text: string },
  context: LabelContext,
  out: FileFindings,
): void {
  const coordinates = context.task === "pose"
    ? values.slice(1, 5).concat(keypointXY(values, context))
    : values.slice(1);
  const max = Math.max(...coordinates);
  const min = Math.min(...coordinates);
  if (max > PIXEL_THRESHOLD) {
    const size = context.imageSize;
    const example = size && values.length === 5
      ? ` For this ${size.width}x${size.height} image the row becomes \`${normalisedExample(values, size)}\`.`
      : "";
    out.add({
      severity: "error",
      code: "label-pixel-units",
      message: `Coordinates look like pixel units (largest ${
        round(max)
      }), but YOLO labels are normalised to 0-1; Ultralytics drops the image`,
      file: context.file,
      line: row.line,
      value: row.text,
      fix: `Divide x and width by the image width and y and height by the image height.${example}`,
    });
  } else if (max > 1 + TOLERANCE || min < -TOLERANCE) {
    const bad = max > 1 + TOLERANCE ? max : min;
    out.add({
      severity: "error",
      code: "label-out-of-range",
      message: `Coordinate ${
        round(bad)
      } is outside 0-1 by more than Ultralytics' 1% tolerance, so it drops the image`,
      file: context.file,
      line: row.line,
      value: row.text,
      fix: "Clip the coordinates to 0-1 (the box extends past the image edge), e.g. with min(max(v, 0), 1)",
    });
  }
  if (values.length === 5 && (values[3] <= 0 || values[4] <= 0)) {
    out.add({
      severity: "warning",
      code: "label-zero-size",
      message: "Box has zero width or height, so it marks no object; training drops it",
      file: context.file,
      line: row.line,
      value: row.text,
      fix: "Delete the row, or redraw the box around the object",
    });
  }
}

function keypointXY(values: number[], context: LabelContext): number[] {
  const [, dims] = context.kptShape ?? [0, 2];
  const out: number[] = [];
  for (let i = 5; i + 1 < values.length; i += dims) out.push(values[i], values[i + 1]);
  return out;
}

/** Expected column count for a row, or a description of the rule it breaks. */
function columnProblem(count: number, context: LabelContext): string | undefined {
  if (context.task === "pose") {
    // An invalid kpt_shape is reported once for the YAML, not for every row.
    if (!context.kptShape) return undefined;
    const [points, dims] = context.kptShape;
    const expected = 5 + points * dims;
    return count === expected
      ? undefined
      : `has ${count} columns, but kpt_shape [${points}, ${dims}] needs ${expected}`;
  }
  if (count === 5) return undefined;
  if (count > 6) {
    return (count - 1) % 2 === 0
      ? undefined
      : `is a polygon with an odd number (${count - 1}) of coordinates`;
  }
  return `has ${count} columns, but a box row needs 5 (class x_center y_center width height)`;
}

/** Converts a polygon to its bounding box, as Ultralytics does for detection training. */
function polygonBox(values: number[]): LabelBox {
  const xs = values.filter((_, i) => i > 0 && i % 2 === 1);
  const ys = values.filter((_, i) => i > 0 && i % 2 === 0);
  return {
    cls: values[0],
    width: Math.max(...xs) - Math.min(...xs),
    height: Math.max(...ys) - Math.min(...ys),
  };
}

/** Checks one label file's text and returns its findings and boxes. */
export function checkLabelText(text: string, context: LabelContext): LabelFileResult {
  const out = new FileFindings();
  if (text.startsWith("\uFEFF")) {
    out.add({
      severity: "error",
      code: "label-bom",
      message:
        "Label file starts with a byte order mark (BOM); Ultralytics cannot parse the first row and drops the image",
      file: context.file,
      line: 1,
      fix: "Save the file as UTF-8 without BOM",
    });
    return { findings: out.list(), boxes: [], empty: false, boxRows: 0, polygonRows: 0 };
  }

  const rows = splitLabelRows(text);
  const boxes: LabelBox[] = [];
  const seen = new Map<string, number>();
  let boxRows = 0;
  let polygonRows = 0;
  for (const row of rows) {
    const bad = row.tokens.find((token) => !isPythonFloat(token) || Number.isNaN(parsePythonFloat(token)));
    if (bad !== undefined) {
      out.add({
        severity: "error",
        code: "label-not-numeric",
        message: `Field ${JSON.stringify(bad)} is not a number; Ultralytics drops the image`,
        file: context.file,
        line: row.line,
        value: row.text,
        fix: "Every field must be a number: `class x_center y_center width height`, normalised to 0-1",
      });
      continue;
    }
    const values = row.tokens.map(parsePythonFloat);
    const problem = columnProblem(values.length, context);
    if (problem) {
      out.add({
        severity: "error",
        code: "label-columns",
        message: `Row ${problem}; Ultralytics drops the image`,
        file: context.file,
        line: row.line,
        value: row.text,
        fix: context.task === "pose"
          ? "Write `class x y w h` followed by the keypoints given by kpt_shape"
          : "Write one object per row: `class x_center y_center width height` (or a polygon `class x1 y1 x2 y2 ...`)",
      });
      continue;
    }

    checkClass(values, row, context, out);
    checkCoordinates(values, row, context, out);
    const key = values.map((value) => Math.fround(value)).join(" ");
    const first = seen.get(key);
    if (first !== undefined) {
      out.add({
        severity: "warning",
        code: "label-duplicate",
        message: `Row repeats line ${first} exactly; Ultralytics removes the copy`,
        file: context.file,
        line: row.line,
        value: row.text,
        fix: "Delete the repeated row",
      });
    } else seen.set(key, row.line);

    if (context.task !== "pose" && values.length > 6) {
      polygonRows++;
      boxes.push(polygonBox(values));
    } else {
      boxRows++;
      boxes.push({ cls: values[0], width: values[3], height: values[4] });
    }
  }

  return { findings: out.list(), boxes, empty: rows.length === 0, boxRows, polygonRows };
}

/**
 * Returns the findings about the mix of box and polygon rows in one file. They
 * depend on the task, which is known only after every file has been read.
 */
export function rowKindFindings(
  boxRows: number,
  polygonRows: number,
  context: Pick<LabelContext, "file" | "task">,
): Finding[] {
  if (polygonRows > 0 && boxRows > 0) {
    return [{
      severity: "error",
      code: "label-mixed-rows",
      message:
        `File mixes ${boxRows} box rows with ${polygonRows} polygon rows; Ultralytics then reads the box ` +
        "rows as two-point polygons and trains on wrong boxes without a warning",
      file: context.file,
      fix: "Convert every row to one format: boxes (`class x y w h`) or polygons (`class x1 y1 x2 y2 ...`)",
    }];
  }
  if (polygonRows > 0 && context.task === "detect") {
    return [{
      severity: "warning",
      code: "label-polygon-in-detect",
      message:
        `File has ${polygonRows} polygon rows in a detection dataset; Ultralytics trains on their bounding boxes`,
      file: context.file,
      fix: "Nothing to do for detection; train a -seg model to use the polygons as masks",
    }];
  }
  if (boxRows > 0 && context.task === "segment") {
    return [{
      severity: "error",
      code: "label-box-in-segment",
      message:
        `File has ${boxRows} box rows in a segmentation dataset; with boxes and polygons mixed across ` +
        "files, Ultralytics removes all masks and trains boxes only",
      file: context.file,
      fix: "Replace the box rows with polygons, or train a detection model",
    }];
  }
  return [];
}
