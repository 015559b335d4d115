/**
 * Rich display of trainbook objects in the Deno Jupyter kernel. The kernel shows
 * a cell's result through its `Symbol.for("Jupyter.display")` method, which
 * returns a mime bundle. Every bundle here carries a `text/plain` fallback for
 * front ends that render fewer types than JupyterLab.
 *
 * @module
 */

/** The symbol the Deno Jupyter kernel looks up to display a value. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/**
 * Mime type JupyterLab 4 renders Vega-Lite 5 specs under. JupyterLab's built-in
 * Vega renderer registers Vega-Lite 3, 4 and 5 types; specs from trainbook use
 * only Vega-Lite 5 features so this type fits.
 */
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** Schema URL that matches {@linkcode VEGA_LITE_MIME}. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

const SVG_NAMESPACE = "http://www.w3.org/2000/svg";

/** A mime bundle: rich representations keyed by mime type, always with plain text. */
export interface MimeBundle {
  /** Text shown by front ends that render none of the other types. */
  "text/plain": string;
  /** A representation such as `text/html` or `image/svg+xml`. */
  [mimeType: string]: unknown;
}

/** A value the Deno Jupyter kernel displays as a rich output. */
export interface Displayable {
  /** Builds the mime bundle the kernel sends to the front end. */
  [JUPYTER_DISPLAY](): MimeBundle;
}

/**
 * Attaches a display method to `target` and returns it. The method is not
 * enumerable, so `JSON.stringify`, `Object.keys` and `assert.deepEqual` see the
 * object as before. `bundle` may be a function, so that the bundle is built only
 * when the kernel requests it.
 *
 * @example
 * ```ts
 * import { displayBundle, JUPYTER_DISPLAY } from "./display.ts";
 * const shown = displayBundle({ epochs: 3 }, { "text/plain": "3 epochs" });
 * console.assert(shown[JUPYTER_DISPLAY]()["text/plain"] === "3 epochs");
 * console.assert(JSON.stringify(shown) === '{"epochs":3}');
 * ```
 */
export function displayBundle<T extends object>(
  target: T,
  bundle: MimeBundle | (() => MimeBundle),
): T & Displayable {
  const build = typeof bundle === "function" ? bundle : () => bundle;
  Object.defineProperty(target, JUPYTER_DISPLAY, { value: build, enumerable: false, configurable: true });
  return target as T & Displayable;
}

/** Adds the SVG namespace to the root `<svg>` element of `svg` unless the root already declares one. */
export function withSvgNamespace(svg: string): string {
  const start = svg.indexOf("<svg");
  if (start < 0) return svg;
  const end = svg.indexOf(">", start);
  const rootTag = svg.slice(start, end);
  if (/\sxmlns="/.test(rootTag)) return svg;
  return `${svg.slice(0, start)}<svg xmlns="${SVG_NAMESPACE}"${svg.slice(start + 4)}`;
}

/** Builds a bundle that shows a bare `<svg>` as `image/svg+xml`. */
export function svgBundle(svg: string, text: string): MimeBundle {
  return { "image/svg+xml": withSvgNamespace(svg), "text/plain": text };
}

/** Builds a bundle that shows HTML markup, such as a chart `<figure>`, as `text/html`. */
export function htmlBundle(html: string, text: string): MimeBundle {
  return { "text/html": html, "text/plain": text };
}

/**
 * Builds the bundle for chart markup: a bare `<svg>` goes out as
 * `image/svg+xml`, anything else (a `<figure>` with title or legend) as `text/html`.
 */
export function markupBundle(markup: string, text: string): MimeBundle {
  return markup.trimStart().startsWith("<svg") ? svgBundle(markup, text) : htmlBundle(markup, text);
}

/** Builds a bundle that shows a Vega-Lite spec, with the Vega-Lite 5 mime type JupyterLab renders. */
export function vegaLiteBundle(spec: object, text: string): MimeBundle {
  return { [VEGA_LITE_MIME]: spec, "text/plain": text };
}

/** Escapes text for use in HTML or XML content and in double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
