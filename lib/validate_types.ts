/**
 * Types of the dataset validation report that `validateDataset()` returns.
 *
 * @module
 */

/** One problem in a dataset, with where it is and how to fix it. */
export interface Finding {
  /** `error`: Ultralytics fails or silently drops data; `warning`: training works but something looks wrong. */
  severity: "error" | "warning";
  /** Stable identifier, e.g. `label-out-of-range`. */
  code: string;
  /** One sentence saying what is wrong. */
  message: string;
  /** File relative to the dataset root, with forward slashes. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** The offending value or row, as written. */
  value?: string;
  /** Remedy: the change that removes the finding. */
  fix: string;
}

/** Label statistics of one split. */
export interface SplitStats {
  /** Split name: train, val or test. */
  split: string;
  /** Number of images. */
  images: number;
  /** Images without any object: an empty or missing label file. */
  backgroundImages: number;
  /** Number of objects (label rows that parse). */
  instances: number;
  /** Objects and images per class, in class id order. */
  perClass: { name: string; instances: number; images: number }[];
  /** Objects per image. */
  boxesPerImage: { mean: number; max: number };
  /** Quantiles of the normalised box area (width times height). */
  boxSize: { p10: number; p50: number; p90: number };
  /** Image sizes in pixels with their counts, most frequent first. */
  imageSizes: { width: number; height: number; count: number }[];
}

/** Result of validating a dataset. */
export interface ValidationReport {
  /** Absolute dataset root, or the path given when the YAML could not be read. */
  root: string;
  /** True when there are no errors. */
  ok: boolean;
  /** Every finding, errors first. */
  findings: Finding[];
  /** Findings with severity `error`. */
  errors: Finding[];
  /** Findings with severity `warning`. */
  warnings: Finding[];
  /** Statistics per split, in train, val, test order. */
  stats: SplitStats[];
  /** Class names. */
  names: string[];
}

/** Options of `validateDataset()`. */
export interface ValidateDatasetOptions {
  /**
   * Task to check the labels for. `detect` warns about polygon rows, `segment`
   * rejects box rows, `pose` checks keypoint columns.
   * @default the dataset's task (see `Dataset.task`)
   */
  task?: "detect" | "segment" | "pose";
  /**
   * Read image headers for sizes and check that files are complete.
   * @default true
   */
  checkImages?: boolean;
  /**
   * Findings kept per code; the rest are summed up in one extra finding.
   * @default 50
   */
  maxFindingsPerCode?: number;
  /**
   * Files read at the same time.
   * @default 64
   */
  concurrency?: number;
  /** Stops the validation between files. */
  signal?: AbortSignal;
}
