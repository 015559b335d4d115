/**
 * Splitting YOLO label files into rows the way Ultralytics 8.4's
 * `verify_image_label` does: `text.strip().splitlines()`, then `str.split()`.
 *
 * @module
 */

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const PYTHON_FLOAT = /^[+-]?((\d(_?\d)*)?\.?(\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?|inf|infinity|nan)$/i;

/** Returns whether Python's `float()` accepts `token` (decimal, exponent, underscores, inf, nan). */
export function isPythonFloat(token: string): boolean {
  if (DECIMAL.test(token)) return true;
  return PYTHON_FLOAT.test(token) && /\d|inf|nan/i.test(token) && token !== "." && !/^[+-]?\.$/.test(token);
}

/** Parses a token that {@linkcode isPythonFloat} accepted. */
export function parsePythonFloat(token: string): number {
  const lower = token.toLowerCase().replaceAll("_", "");
  if (lower.endsWith("inf") || lower.endsWith("infinity")) {
    return lower.startsWith("-") ? -Infinity : Infinity;
  }
  if (lower.endsWith("nan")) return NaN;
  return Number(lower);
}

/** One non-blank row of a label file. */
export interface LabelRow {
  /** 1-based line number in the file. */
  line: number;
  /** The line as written, without its line break. */
  text: string;
  /** Whitespace-separated fields. */
  tokens: string[];
}

/** Characters Python's `str.isspace()` accepts. Unlike JavaScript's `\s` this excludes the BOM (U+FEFF). */
const SPACE_CLASS =
  "\\t\\n\\v\\f\\r \\u001c-\\u001f\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const WHITESPACE = new RegExp(`[${SPACE_CLASS}]+`);
const EDGE_SPACE = new RegExp(`^[${SPACE_CLASS}]+|[${SPACE_CLASS}]+$`, "g");
// deno-lint-ignore no-control-regex -- Python splitlines() breaks on the file/group/record separators.
const LINE_BREAK = /\r\n|[\n\r\v\f\u001c-\u001e\u0085\u2028\u2029]/;

/**
 * Splits label text into its non-blank rows, keeping line numbers. A leading
 * BOM stays in the first token, because Python's `float()` rejects it too.
 */
export function splitLabelRows(text: string): LabelRow[] {
  const rows: LabelRow[] = [];
  const lines = text.split(LINE_BREAK);
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i].replace(EDGE_SPACE, "");
    if (trimmed.length === 0) continue;
    rows.push({ line: i + 1, text: lines[i], tokens: trimmed.split(WHITESPACE) });
  }
  return rows;
}
