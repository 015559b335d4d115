/**
 * Reading image sizes from file headers without decoding pixels: JPEG, PNG,
 * BMP, WebP, GIF and TIFF, plus a cheap completeness check of the file's end
 * (JPEG end marker FFD9, PNG IEND chunk, GIF trailer, WebP and BMP sizes).
 *
 * @example Read the size of an image
 * ```ts
 * import { inspectImage } from "./image_header.ts";
 *
 * const image = await inspectImage("tests/testdata/datasets/valid-basic/train/images/a.jpg");
 * if (image.problem) console.log(image.problem, image.detail);
 * else console.log(image.format, image.width, image.height);
 * ```
 *
 * @module
 */

/** Image formats recognised from their first bytes. */
export type ImageFormat = "jpeg" | "png" | "bmp" | "webp" | "gif" | "tiff" | "heif" | "avif" | "jp2";

/** Reason an image cannot be used as it is. */
export type ImageProblem = "empty" | "unknown-format" | "bad-header" | "truncated" | "trailing-data";

/** Result of {@linkcode inspectImage}. `width` and `height` are 0 when the header gives no size. */
export interface ImageInspection {
  /** Recognised format, absent for an empty file or an unknown signature. */
  format?: ImageFormat;
  /** Width in pixels, or 0 when unknown. JPEG EXIF orientations 6 and 8 swap it with the height, as Ultralytics does. */
  width: number;
  /** Height in pixels, or 0 when unknown. */
  height: number;
  /** File size in bytes. */
  bytes: number;
  /** Problem found, if any. `trailing-data` means bytes after the JPEG end marker. */
  problem?: ImageProblem;
  /** One sentence about the problem. */
  detail?: string;
}

/** Bytes read from the start of each file; larger headers are followed with seeks. */
const PREFIX_BYTES = 64 * 1024;

/** Random access to a file with its first bytes cached. */
class ByteSource {
  constructor(readonly file: Deno.FsFile, readonly prefix: Uint8Array, readonly size: number) {}

  /** Reads `length` bytes at `offset`; the reads are synchronous, the promise keeps callers unchanged. */
  read(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return Promise.resolve(new Uint8Array());
    if (end <= this.prefix.length) return Promise.resolve(this.prefix.subarray(offset, end));
    const out = new Uint8Array(end - offset);
    this.file.seekSync(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < out.length) {
      const n = this.file.readSync(out.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return Promise.resolve(out.subarray(0, filled));
  }
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

/** Recognises the format from the first 16 bytes. */
export function sniffFormat(head: Uint8Array): ImageFormat | undefined {
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpeg";
  if (head[0] === 0x89 && ascii(head, 1, 3) === "PNG") return "png";
  if (ascii(head, 0, 2) === "BM") return "bmp";
  if (ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 4) === "WEBP") return "webp";
  if (ascii(head, 0, 4) === "GIF8") return "gif";
  if (ascii(head, 0, 4) === "II*\0" || ascii(head, 0, 4) === "MM\0*") return "tiff";
  if (ascii(head, 4, 4) === "ftyp") {
    const brand = ascii(head, 8, 4);
    if (brand === "avif" || brand === "avis") return "avif";
    if (["heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"].includes(brand)) return "heif";
  }
  if (ascii(head, 4, 8) === "jP  \r\n\x87\n" || (head[0] === 0xff && head[1] === 0x4f && head[2] === 0xff)) {
    return "jp2";
  }
  return undefined;
}

/** Reads width and height from a TIFF structure (a TIFF file or a JPEG's EXIF block) and its orientation tag. */
async function readTiff(
  source: ByteSource,
  base: number,
): Promise<{ width?: number; height?: number; orientation?: number }> {
  const header = await source.read(base, 8);
  if (header.length < 8) return {};
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const little = header[0] === 0x49;
  const ifdOffset = view.getUint32(4, little);
  const countBytes = await source.read(base + ifdOffset, 2);
  if (countBytes.length < 2) return {};
  const count = new DataView(countBytes.buffer, countBytes.byteOffset).getUint16(0, little);
  const entries = await source.read(base + ifdOffset + 2, count * 12);
  const entryView = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
  const found: { width?: number; height?: number; orientation?: number } = {};
  for (let at = 0; at + 12 <= entries.length; at += 12) {
    const tag = entryView.getUint16(at, little);
    const type = entryView.getUint16(at + 2, little);
    const value = type === 3 ? entryView.getUint16(at + 8, little) : entryView.getUint32(at + 8, little);
    if (tag === 256) found.width = value;
    else if (tag === 257) found.height = value;
    else if (tag === 274) found.orientation = value;
  }
  return found;
}

/** Walks JPEG segments to the first start-of-frame marker and applies the EXIF orientation. */
async function readJpegSize(source: ByteSource): Promise<{ width: number; height: number } | undefined> {
  let offset = 2;
  let orientation: number | undefined;
  while (offset + 4 <= source.size) {
    const marker = await source.read(offset, 4);
    if (marker[0] !== 0xff) return undefined;
    const code = marker[1];
    if (code === 0xff) {
      offset += 1; // Fill byte before a marker.
      continue;
    }
    const length = (marker[2] << 8) | marker[3];
    const isFrame = code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc;
    if (isFrame) {
      const frame = await source.read(offset + 5, 4);
      if (frame.length < 4) return undefined;
      const height = (frame[0] << 8) | frame[1];
      const width = (frame[2] << 8) | frame[3];
      // Ultralytics' exif_size swaps only for orientations 6 and 8 (rotated 90 degrees), not 5 and 7.
      return orientation === 6 || orientation === 8 ? { width: height, height: width } : { width, height };
    }
    if (code === 0xe1 && orientation === undefined) {
      const exif = await source.read(offset + 4, 6);
      if (ascii(exif, 0, 4) === "Exif") orientation = (await readTiff(source, offset + 10)).orientation;
    }
    offset += 2 + length;
  }
  return undefined;
}

/** Reads the size from a header; `undefined` when the header is malformed. */
async function readSize(
  format: ImageFormat,
  source: ByteSource,
): Promise<{ width: number; height: number } | undefined> {
  const head = source.prefix;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  switch (format) {
    case "jpeg":
      return await readJpegSize(source);
    case "png":
      return head.length >= 24 && ascii(head, 12, 4) === "IHDR"
        ? { width: view.getUint32(16), height: view.getUint32(20) }
        : undefined;
    case "gif":
      return head.length >= 10
        ? { width: view.getUint16(6, true), height: view.getUint16(8, true) }
        : undefined;
    case "bmp": {
      if (head.length < 26) return undefined;
      if (view.getUint32(14, true) === 12) {
        return { width: view.getUint16(18, true), height: view.getUint16(20, true) };
      }
      return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
    }
    case "webp":
      return readWebpSize(head, view);
    case "tiff": {
      const { width, height } = await readTiff(source, 0);
      return width && height ? { width, height } : undefined;
    }
    default:
      return { width: 0, height: 0 };
  }
}

function readWebpSize(head: Uint8Array, view: DataView): { width: number; height: number } | undefined {
  if (head.length < 30) return undefined;
  const chunk = ascii(head, 12, 4);
  if (chunk === "VP8 ") {
    return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  }
  if (chunk === "VP8L") {
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    const width = 1 + (head[24] | (head[25] << 8) | (head[26] << 16));
    const height = 1 + (head[27] | (head[28] << 8) | (head[29] << 16));
    return { width, height };
  }
  return undefined;
}

/** Checks the end of the file for the format's end marker or declared size. */
async function checkEnd(
  format: ImageFormat,
  source: ByteSource,
): Promise<Pick<ImageInspection, "problem" | "detail">> {
  const view = new DataView(source.prefix.buffer, source.prefix.byteOffset, source.prefix.byteLength);
  if (format === "jpeg") {
    const tail = await source.read(Math.max(0, source.size - 4096), 4096);
    if (tail[tail.length - 2] === 0xff && tail[tail.length - 1] === 0xd9) return {};
    for (let i = tail.length - 2; i >= 0; i--) {
      if (tail[i] === 0xff && tail[i + 1] === 0xd9) {
        return {
          problem: "trailing-data",
          detail: `${tail.length - i - 2} bytes follow the JPEG end marker (FFD9)`,
        };
      }
    }
    return { problem: "truncated", detail: "the JPEG does not end with its end marker (FFD9)" };
  }
  if (format === "png") {
    const tail = await source.read(Math.max(0, source.size - 12), 12);
    if (ascii(tail, 4, 4) !== "IEND") {
      return { problem: "truncated", detail: "the PNG does not end with an IEND chunk" };
    }
  }
  if (format === "gif") {
    const tail = await source.read(source.size - 1, 1);
    if (tail[0] !== 0x3b) {
      return { problem: "truncated", detail: "the GIF does not end with its trailer byte (3B)" };
    }
  }
  if (format === "webp" && source.prefix.length >= 8 && view.getUint32(4, true) + 8 > source.size) {
    return { problem: "truncated", detail: `the WebP header declares ${view.getUint32(4, true) + 8} bytes` };
  }
  if (format === "bmp" && source.prefix.length >= 6 && view.getUint32(2, true) > source.size) {
    return { problem: "truncated", detail: `the BMP header declares ${view.getUint32(2, true)} bytes` };
  }
  return {};
}

/**
 * Reads an image's format and size from its header and checks that the file
 * is complete, without decoding pixels. Reads the first 64 KiB, the last
 * 4 KiB of a JPEG, and seeks further only for headers placed later.
 * HEIF, AVIF and JPEG 2000 are recognised but their size is reported as 0.
 *
 * @throws {Deno.errors.NotFound} when the file does not exist.
 */
export async function inspectImage(path: string): Promise<ImageInspection> {
  // Synchronous file calls: a header read is a few small reads, and the promise
  // round trips of async calls cost more than the reads themselves (measured on
  // 20,000 images).
  using file = Deno.openSync(path, { read: true });
  const size = file.statSync().size;
  if (size === 0) return { width: 0, height: 0, bytes: 0, problem: "empty", detail: "the file is empty" };

  const prefix = new Uint8Array(Math.min(size, PREFIX_BYTES));
  let filled = 0;
  while (filled < prefix.length) {
    const n = file.readSync(prefix.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  const source = new ByteSource(file, prefix.subarray(0, filled), size);
  const format = sniffFormat(source.prefix);
  if (format === undefined) {
    return {
      width: 0,
      height: 0,
      bytes: size,
      problem: "unknown-format",
      detail: "the first bytes match no image format",
    };
  }

  const dimensions = await readSize(format, source);
  if (dimensions === undefined) {
    const end = await checkEnd(format, source);
    return {
      format,
      width: 0,
      height: 0,
      bytes: size,
      problem: end.problem === "truncated" ? "truncated" : "bad-header",
      detail: end.detail ?? `the ${format.toUpperCase()} header has no readable size`,
    };
  }
  return { format, ...dimensions, bytes: size, ...(await checkEnd(format, source)) };
}
