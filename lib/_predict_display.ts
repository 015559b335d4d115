/**
 * Notebook display of `predict()` and the gallery of `predictionGallery()`:
 * HTML figures that draw predicted and ground-truth boxes as SVG over each image.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { basename } from "node:path";
import { extensionOf, labelPathFor } from "./_dataset_files.ts";
import { escapeHtml } from "./display.ts";
import type { Detection, ImagePrediction, PixelBox, Predictions } from "./predict.ts";

/** Number of images the notebook display draws; the text table lists all. */
const DISPLAY_MAX_IMAGES = 12;

/** Stroke colours of predicted boxes by class id. Green is left out because it marks ground truth. */
const CLASS_COLOURS = [
  "#e6194b",
  "#4363d8",
  "#f58231",
  "#911eb4",
  "#f032e6",
  "#42d4f4",
  "#9a6324",
  "#800000",
];
const GROUND_TRUTH_COLOUR = "#3cb44b";

/** Data URL mime types of the image extensions browsers can show. */
const IMAGE_MIME_TYPES: Record<string, string> = {
  avif: "image/avif",
  bmp: "image/bmp",
  jpeg: "image/jpeg",
  jpg: "image/jpeg",
  mpo: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
};

export function summaryLine(predictions: Pick<Predictions, "images" | "conf">): string {
  const count = predictions.images.reduce((sum, entry) => sum + entry.detections.length, 0);
  return `Predictions: ${count} detections on ${predictions.images.length} images (conf >= ${predictions.conf})`;
}

export function formatBox(box: PixelBox): string {
  return [box.x1, box.y1, box.x2, box.y2].map((value) => value.toFixed(1)).join(", ");
}

/** Builds the notebook HTML: the first images with their boxes drawn over them, then the detections table. */
export function predictionsHtml(predictions: Predictions): string {
  const shown = predictions.images.slice(0, DISPLAY_MAX_IMAGES);
  const figures = shown.map((entry) => {
    let source: string | undefined;
    try {
      source = imageDataUrl(entry.image, Deno.readFileSync(entry.image));
    } catch {
      source = undefined;
    }
    const caption = `${basename(entry.image)}: ${entry.detections.length} detections`;
    return overlayFigure(entry, source, predictedBoxes(entry.detections), caption);
  });
  const more = predictions.images.length > shown.length
    ? `<p>Showing ${shown.length} of ${predictions.images.length} images; the table lists all.</p>`
    : "";
  return `<div class="trainbook-predictions"><p><b>${escapeHtml(summaryLine(predictions))}</b></p>${more}` +
    `<div>${figures.join("")}</div>${detectionsHtmlTable(predictions.images)}</div>`;
}

function detectionsHtmlTable(images: ImagePrediction[]): string {
  const rows = images.flatMap((entry) => {
    const image = escapeHtml(basename(entry.image));
    if (entry.detections.length === 0) {
      return [`<tr><td>${image}</td><td colspan="3">(no detections)</td></tr>`];
    }
    return entry.detections.map((detection) =>
      `<tr><td>${image}</td><td>${escapeHtml(detection.className)}</td>` +
      `<td style="text-align:right">${detection.confidence.toFixed(3)}</td>` +
      `<td>${formatBox(detection.box)}</td></tr>`
    );
  });
  return `<table><thead><tr><th>image</th><th>class</th><th>confidence</th><th>box (x1, y1, x2, y2)</th>` +
    `</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** Builds a data URL for an image file's bytes. */
function imageDataUrl(path: string, bytes: Uint8Array): string | undefined {
  // NOTE: TIFF, HEIC, JPEG 2000 and DNG images have no mime type here because most browsers cannot show
  // them, so their figure shows the boxes on a grey background.
  const mime = IMAGE_MIME_TYPES[extensionOf(path)];
  return mime === undefined ? undefined : `data:${mime};base64,${Buffer.from(bytes).toString("base64")}`;
}

/** A box to draw, with its label and style. */
interface OverlayBox {
  box: PixelBox;
  label: string;
  colour: string;
  dashed: boolean;
}

function predictedBoxes(detections: Detection[]): OverlayBox[] {
  return detections.map((detection) => ({
    box: detection.box,
    label: `${detection.className} ${detection.confidence.toFixed(2)}`,
    colour: CLASS_COLOURS[detection.classId % CLASS_COLOURS.length],
    dashed: false,
  }));
}

/**
 * Draws one image with an absolutely positioned SVG over it. The SVG's viewBox
 * is the image's pixel grid, so boxes stay aligned when CSS scales the image.
 */
function overlayFigure(
  image: { width: number; height: number },
  source: string | undefined,
  boxes: OverlayBox[],
  caption: string,
): string {
  const { width, height } = image;
  const fontSize = Math.max(11, Math.round(Math.max(width, height) / 35));
  const picture = source === undefined
    ? `<div style="width:${width}px;max-width:100%;aspect-ratio:${width}/${height};background:#808080"></div>`
    : `<img src="${source}" width="${width}" height="${height}" alt="${escapeHtml(caption)}" ` +
      `style="display:block;max-width:100%;height:auto"/>`;
  const shapes = boxes.map((item) => boxMarkup(item, fontSize)).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" ` +
    `preserveAspectRatio="none" style="position:absolute;left:0;top:0;width:100%;height:100%;overflow:hidden">` +
    `${shapes}</svg>`;
  return `<figure style="display:inline-block;vertical-align:top;margin:0 12px 12px 0">` +
    `<div style="position:relative;display:inline-block;line-height:0">${picture}${svg}</div>` +
    `<figcaption style="font-size:12px;color:#1f2328">${escapeHtml(caption)}</figcaption></figure>`;
}

/**
 * Draws one box outline with its label on a filled tab. A prediction's tab sits
 * above the box, or inside it at the image's top edge, and a ground-truth tab
 * sits inside the box at its bottom edge.
 */
function boxMarkup(item: OverlayBox, fontSize: number): string {
  const { x1, y1, x2, y2 } = item.box;
  const tabHeight = fontSize + 4;
  const tabWidth = Math.round(item.label.length * fontSize * 0.6) + 6;
  let tabY = y1 >= tabHeight ? y1 - tabHeight : y1;
  if (item.dashed) tabY = y2 - tabHeight;
  const dash = item.dashed ? ' stroke-dasharray="6 3"' : "";
  return `<rect x="${x1}" y="${y1}" width="${Math.max(0, x2 - x1)}" height="${Math.max(0, y2 - y1)}" ` +
    `fill="none" stroke="${item.colour}" stroke-width="2" vector-effect="non-scaling-stroke"${dash}/>` +
    `<rect x="${x1}" y="${tabY}" width="${tabWidth}" height="${tabHeight}" fill="${item.colour}" fill-opacity="0.85"/>` +
    `<text x="${x1 + 3}" y="${tabY + fontSize}" font-size="${fontSize}" font-family="sans-serif" ` +
    `fill="#ffffff">${escapeHtml(item.label)}</text>`;
}

/**
 * Builds the gallery HTML: each image with its ground-truth boxes and predicted boxes,
 * and a legend that counts the shown images against all `images` of the split.
 */
export async function galleryHtml(
  predictions: Predictions,
  images: string[],
  split: string,
): Promise<string> {
  const figures = await Promise.all(predictions.images.map(async (entry) => {
    const truth = await groundTruthBoxes(entry, predictions.names);
    const source = await Deno.readFile(entry.image).then(
      (bytes) => imageDataUrl(entry.image, bytes),
      () => undefined,
    );
    const caption = `${
      basename(entry.image)
    }: ${entry.detections.length} predicted, ${truth.length} labelled`;
    return overlayFigure(entry, source, [...truth, ...predictedBoxes(entry.detections)], caption);
  }));
  const legend =
    `<p>Solid boxes: predictions with confidence at least ${predictions.conf}, coloured by class. ` +
    `<span style="color:${GROUND_TRUTH_COLOUR}">Dashed green boxes</span>: ground truth from the label files. ` +
    `Showing ${predictions.images.length} of ${images.length} ${split} images.</p>`;
  return `<div class="trainbook-gallery">${legend}<div>${figures.join("")}</div></div>`;
}

/**
 * Reads an image's YOLO label file as pixel boxes. A row is `class cx cy w h`
 * in normalised units, or, with more than 6 values, `class x1 y1 x2 y2 ...`, a
 * polygon whose bounding box Ultralytics trains detectors on.
 */
async function groundTruthBoxes(entry: ImagePrediction, names: string[]): Promise<OverlayBox[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(labelPathFor(entry.image));
  } catch (error) {
    // An image without a label file is a background image with no objects.
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }

  const boxes: OverlayBox[] = [];
  for (const line of text.split(/\r?\n/)) {
    const values = line.trim().split(/\s+/).map(Number);
    if (values.length < 5 || values.some((value) => !Number.isFinite(value))) continue;
    const [classId, ...coordinates] = values;
    let [left, top, right, bottom] = [0, 0, 0, 0];
    if (values.length > 6) {
      const xs = coordinates.filter((_, index) => index % 2 === 0);
      const ys = coordinates.filter((_, index) => index % 2 === 1);
      [left, top, right, bottom] = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    } else {
      const [cx, cy, w, h] = coordinates;
      [left, top, right, bottom] = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
    }
    const pixels = (value: number, size: number) => Math.round(value * size * 100) / 100;
    boxes.push({
      box: {
        x1: pixels(left, entry.width),
        y1: pixels(top, entry.height),
        x2: pixels(right, entry.width),
        y2: pixels(bottom, entry.height),
      },
      label: names[classId] ?? String(classId),
      colour: GROUND_TRUTH_COLOUR,
      dashed: true,
    });
  }
  return boxes;
}
