/**
 * Writes the malformed-dataset fixtures of tests/validate_test.ts, one folder
 * per case next to this file. Run it after changing a case:
 *
 *   node_modules/.bin/deno run -A tests/testdata/datasets/_make_fixtures.ts
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DatasetFiles, tinyJpeg, tinyPng, writeDataset } from "./_fixture_images.ts";

const YAML = "train: train/images\nval: valid/images\nnames: [body, head]\n";
const BOX = "0 0.5 0.5 0.2 0.2\n";

/** A valid two-image dataset with `changes` applied; a `null` value deletes the file. */
function dataset(changes: Record<string, string | Uint8Array | null> = {}): DatasetFiles {
  const files: Record<string, string | Uint8Array | null> = {
    "data.yaml": YAML,
    "train/images/a.jpg": tinyJpeg(),
    "train/labels/a.txt": BOX,
    "valid/images/b.jpg": tinyJpeg(),
    "valid/labels/b.txt": "1 0.4 0.6 0.3 0.2\n",
    ...changes,
  };
  return Object.fromEntries(Object.entries(files).filter(([, value]) => value !== null)) as DatasetFiles;
}

function truncated(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, Math.floor(bytes.length / 2));
}

function withTrailingBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 16);
  out.set(bytes);
  return out;
}

/** Case name to files. Expected findings are in tests/validate_test.ts. */
export const CASES: Record<string, DatasetFiles> = {
  "valid-basic": dataset(),
  "names-mapping-no-nc": dataset({ "data.yaml": "train: train/images\nval: valid/images\nnames: {0: body, 1: head}\n" }),
  "nc-mismatch": dataset({ "data.yaml": "train: train/images\nval: valid/images\nnc: 3\nnames: [body, head]\n" }),
  "nc-only": dataset({ "data.yaml": "train: train/images\nval: valid/images\nnc: 2\n" }),
  "nc-invalid": dataset({ "data.yaml": "train: train/images\nval: valid/images\nnc: two\nnames: [body, head]\n" }),
  "names-missing": dataset({ "data.yaml": "train: train/images\nval: valid/images\n" }),
  "names-gap": dataset({ "data.yaml": "train: train/images\nval: valid/images\nnames: {0: body, 2: head}\n" }),
  "validation-key": dataset({ "data.yaml": "train: train/images\nvalidation: valid/images\nnames: [body, head]\n" }),
  "val-key-missing": dataset({ "data.yaml": "train: train/images\nnames: [body, head]\n" }),
  "yaml-invalid": dataset({ "data.yaml": "train: train/images\nval: [valid/images\nnames: [body, head]\n" }),
  "yaml-not-mapping": dataset({ "data.yaml": "- train/images\n- valid/images\n" }),
  "model-yaml": dataset({ "data.yaml": "nc_scale: 1\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [-1, 1, Detect, [80]]\n" }),
  "args-yaml": dataset({ "data.yaml": "task: detect\nmode: train\nmodel: yolo11n.pt\nepochs: 100\nimgsz: 640\n" }),
  "windows-drive-path": dataset({ "data.yaml": "path: e:\\drone\\data\ntrain: train\nval: valid\nnames: [body, head]\n" }),
  "windows-backslash-split": dataset({ "data.yaml": "train: train\\images\nval: valid/images\nnames: [body, head]\n" }),
  "windows-mixed-separators": dataset({ "data.yaml": "train: train/images\nval: .\\valid/images\nnames: [body, head]\n" }),
  "split-missing": dataset({ "data.yaml": "train: train/images\nval: val/images\nnames: [body, head]\n" }),
  "split-empty": dataset({ "valid/images/b.jpg": null, "valid/labels/b.txt": null, "valid/images/README.md": "no images yet\n" }),
  "list-split-no-fallback": dataset({ "data.yaml": "train: [../train/images]\nval: valid/images\nnames: [body, head]\n" }),
  "parent-fallback": dataset({ "data.yaml": "train: ../train/images\nval: ../valid/images\nnames: [body, head]\n" }),
  "test-empty": dataset({ "data.yaml": "train: train/images\nval: valid/images\ntest: ''\nnames: [body, head]\n" }),
  "test-empty-folder-exists": dataset({
    "data.yaml": "train: train/images\nval: valid/images\ntest: ''\nnames: [body, head]\n",
    "test/images/c.jpg": tinyJpeg(),
    "test/labels/c.txt": BOX,
  }),
  "val-is-train": dataset({ "data.yaml": "train: train/images\nval: train/images\nnames: [body, head]\n" }),
  "txt-lists": dataset({
    "data.yaml": "train: train.txt\nval: val.txt\nnames: [body, head]\n",
    "train.txt": "./train/images/a.jpg\n",
    "val.txt": "./valid/images/b.jpg\n",
  }),
  "txt-list-missing-image": dataset({
    "data.yaml": "train: train.txt\nval: valid/images\nnames: [body, head]\n",
    "train.txt": "./train/images/a.jpg\n./train/images/gone.jpg\n",
  }),
  "split-overlap": dataset({
    "data.yaml": "train: train.txt\nval: val.txt\nnames: [body, head]\n",
    "train.txt": "./train/images/a.jpg\n./valid/images/b.jpg\n",
    "val.txt": "./valid/images/b.jpg\n",
  }),
  "pose-flip-idx-missing": dataset({
    "data.yaml": "train: train/images\nval: valid/images\nkpt_shape: [2, 3]\nnames: [body, head]\n",
    "train/labels/a.txt": "0 0.5 0.5 0.2 0.2 0.45 0.45 2 0.55 0.45 2\n",
    "valid/labels/b.txt": "1 0.4 0.6 0.3 0.2 0.35 0.55 2 0.45 0.55 1\n",
  }),
  "pose-flip-idx-invalid": dataset({
    "data.yaml": "train: train/images\nval: valid/images\nkpt_shape: [2, 3]\nflip_idx: [0, 0]\nnames: [body, head]\n",
    "train/labels/a.txt": "0 0.5 0.5 0.2 0.2 0.45 0.45 2 0.55 0.45 2\n",
    "valid/labels/b.txt": "1 0.4 0.6 0.3 0.2 0.35 0.55 2 0.45 0.55 1\n",
  }),
  "pose-wrong-columns": dataset({
    "data.yaml": "train: train/images\nval: valid/images\nkpt_shape: [2, 3]\nflip_idx: [1, 0]\nnames: [body, head]\n",
    "train/labels/a.txt": "0 0.5 0.5 0.2 0.2\n",
    "valid/labels/b.txt": "1 0.4 0.6 0.3 0.2 0.35 0.55 2 0.45 0.55 1\n",
  }),
  "kpt-shape-invalid": dataset({ "data.yaml": "train: train/images\nval: valid/images\nkpt_shape: [17]\nnames: [body, head]\n" }),
  "flip-idx-without-kpt-shape": dataset({ "data.yaml": "train: train/images\nval: valid/images\nflip_idx: [1, 0]\nnames: [body, head]\n" }),
  "class-out-of-range": dataset({ "train/labels/a.txt": "2 0.5 0.5 0.2 0.2\n" }),
  "class-not-integer": dataset({ "train/labels/a.txt": "0.5 0.5 0.5 0.2 0.2\n" }),
  "wrong-columns": dataset({ "train/labels/a.txt": "0 0.5 0.5 0.2\n" }),
  "not-numeric": dataset({ "train/labels/a.txt": "0 0.5 0.5 0.2 0.2\nbody 0.5 0.5 0.1 0.1\n" }),
  "out-of-range": dataset({ "train/labels/a.txt": "0 0.5 0.5 1.2 0.3\n" }),
  "negative-coordinate": dataset({ "train/labels/a.txt": "0 -0.05 0.5 0.1 0.3\n" }),
  "pixel-units": dataset({ "train/images/a.jpg": null, "train/images/a.png": tinyPng(416, 416), "train/labels/a.txt": "0 315 240 80 60\n" }),
  "zero-size": dataset({ "train/labels/a.txt": "0 0.431 0.4935 0 0\n" }),
  "duplicate-rows": dataset({ "train/labels/a.txt": "0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.1\n0 0.50 0.5 0.2 0.2\n" }),
  "mixed-rows": dataset({ "train/labels/a.txt": "0 0.5 0.5 0.2 0.2\n0 0.1 0.1 0.2 0.1 0.2 0.2 0.1 0.2\n" }),
  "polygon-in-detect": dataset({
    "train/labels/a.txt": "0 0.1 0.1 0.2 0.1 0.2 0.2 0.1 0.2\n",
    "train/images/c.jpg": tinyJpeg(),
    "train/labels/c.txt": BOX,
  }),
  "polygon-odd-coordinates": dataset({ "train/labels/a.txt": "0 0.1 0.1 0.2 0.1 0.2 0.2 0.1\n" }),
  "box-in-segment": dataset({
    "train/labels/a.txt": "0 0.1 0.1 0.2 0.1 0.2 0.2 0.1 0.2\n",
    "train/images/c.jpg": tinyJpeg(),
    "train/labels/c.txt": "1 0.5 0.5 0.6 0.5 0.6 0.6\n",
    "valid/labels/b.txt": "1 0.4 0.6 0.3 0.2\n",
  }),
  "crlf-no-final-newline": dataset({ "train/labels/a.txt": "0 0.5 0.5 0.2 0.2\r\n1 0.3 0.3 0.1 0.1" }),
  "bom": dataset({ "train/labels/a.txt": "\uFEFF0 0.5 0.5 0.2 0.2\n" }),
  "label-not-utf8": dataset({ "train/labels/a.txt": new Uint8Array([0x30, 0x20, 0xff, 0xfe, 0x0a]) }),
  "empty-label": dataset({ "train/images/c.jpg": tinyJpeg(), "train/labels/c.txt": "" }),
  "no-labels-in-val": dataset({ "valid/labels/b.txt": "" }),
  "classes-txt": dataset({ "train/labels/classes.txt": "body\nhead\n" }),
  "classes-txt-mismatch": dataset({ "train/labels/classes.txt": "head\nbody\n" }),
  "image-without-label": dataset({ "train/images/c.jpg": tinyJpeg() }),
  "label-without-image": dataset({ "train/labels/orphan.txt": BOX }),
  "truncated-jpeg": dataset({ "train/images/a.jpg": truncated(tinyJpeg()) }),
  "trailing-bytes-jpeg": dataset({ "train/images/a.jpg": withTrailingBytes(tinyJpeg()) }),
  "unreadable-image": dataset({ "train/images/a.jpg": "this is not an image\n" }),
  "empty-image": dataset({ "train/images/a.jpg": new Uint8Array() }),
  "unsupported-format": dataset({ "train/images/c.gif": new TextEncoder().encode("GIF89a\x10\x00\x10\x00\x00\x00\x00;") }),
  "image-too-small": dataset({ "train/images/a.jpg": null, "train/images/a.png": tinyPng(8, 8) }),
  "extension-mismatch": dataset({ "train/images/a.jpg": tinyPng(16, 16) }),
};

if (import.meta.main) {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const [name, files] of Object.entries(CASES)) {
    await Deno.remove(join(here, name), { recursive: true }).catch(() => {});
    await writeDataset(join(here, name), files);
  }
}
