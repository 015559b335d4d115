/**
 * Test-set metrics as python/evaluate.py writes them to `test_metrics.json`.
 *
 * @module
 */

/** Metrics of one class on the evaluated split. */
export interface ClassMetrics {
  /** Class index in data.yaml's names. */
  classId: number;
  /** Class name from data.yaml. */
  name: string;
  /** Images that contain at least one instance of the class. */
  images: number;
  /** Ground-truth boxes of the class. */
  instances: number;
  /** Precision at the confidence that maximises F1. */
  precision: number;
  /** Recall at the confidence that maximises F1. */
  recall: number;
  /** mAP at IoU 0.50. */
  map50: number;
  /** mAP averaged over IoU thresholds 0.50 to 0.95. */
  map50_95: number;
}

/** Metrics of a trained model on one split (box task). */
export interface TestMetrics {
  /** Split evaluated: "test", "val" or "train". */
  split: string;
  /** Weights file evaluated. */
  weights: string;
  /** Images in the split. */
  images: number;
  /** Ground-truth boxes in the split. */
  instances: number;
  /** Mean precision over classes. */
  precision: number;
  /** Mean recall over classes. */
  recall: number;
  /** mAP at IoU 0.50. */
  map50: number;
  /** mAP averaged over IoU thresholds 0.50 to 0.95. */
  map50_95: number;
  /** One row per class present in the split. */
  classes: ClassMetrics[];
  /** Rows are predicted classes, columns true classes; the last index is background. */
  confusionMatrix?: { names: string[]; matrix: number[][] };
  /** Milliseconds per image for preprocess, inference and postprocess. */
  speedMs?: Record<string, number>;
}
