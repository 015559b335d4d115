/**
 * Tiny image bytes and a dataset writer for dataset tests and benchmarks.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { deflateSync } from "node:zlib";

/** A 16x16 grey baseline JPEG (334 bytes) made with Pillow, ending with the FFD9 marker. */
const JPEG_16_BASE64 = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/wAALCAAQABABAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AMyiiiv/2Q==";

/** Bytes of a complete 16x16 JPEG. */
export function tinyJpeg(): Uint8Array {
  return Uint8Array.from(atob(JPEG_16_BASE64), (c) => c.charCodeAt(0));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Bytes of a grey 8-bit PNG of the given size. */
export function tinyPng(width = 16, height = 16): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8);
  const raw = new Uint8Array((width + 1) * height).fill(120);
  for (let y = 0; y < height; y++) raw[y * (width + 1)] = 0;
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header),
    pngChunk("IDAT", new Uint8Array(deflateSync(raw))),
    pngChunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Files of a dataset: relative path to text (label, YAML) or bytes (image). */
export type DatasetFiles = Record<string, string | Uint8Array>;

/** Writes `files` under `root`, creating folders. */
export async function writeDataset(root: string, files: DatasetFiles): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    await Deno.mkdir(dirname(full), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(full, content);
    else await Deno.writeFile(full, content);
  }
}

/** A minimal valid detection dataset: one train and one val image with one box each. */
export function basicDataset(yaml = "train: train/images\nval: valid/images\nnames: [dog, person]\n"): DatasetFiles {
  return {
    "data.yaml": yaml,
    "train/images/a.jpg": tinyJpeg(),
    "train/labels/a.txt": "0 0.5 0.5 0.2 0.2\n",
    "valid/images/b.jpg": tinyJpeg(),
    "valid/labels/b.txt": "1 0.4 0.4 0.3 0.3\n",
  };
}
