"""Evaluate trained YOLO weights on one dataset split and write the metrics as JSON.

Output (--out): {split, weights, images, instances, precision, recall, map50,
map50_95, classes: [{classId, name, images, instances, precision, recall, map50,
map50_95}], confusionMatrix: {names, matrix}, speedMs}. The same object is printed
as one `TRAINBOOK_EVENT {"type": "evaluation", ...}` line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import traceback
from pathlib import Path

EVENT_PREFIX = "TRAINBOOK_EVENT "


def number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    os.environ.setdefault("YOLO_OFFLINE", "true")
    os.environ.setdefault("MPLBACKEND", "Agg")

    try:
        from ultralytics import YOLO

        model = YOLO(args.weights)
        seen = {}
        model.add_callback("on_val_end", lambda validator: seen.update(images=int(validator.seen)))
        with tempfile.TemporaryDirectory() as scratch:
            metrics = model.val(
                data=args.data,
                split=args.split,
                imgsz=args.imgsz,
                batch=args.batch,
                device=args.device,
                project=scratch,
                name="val",
                # The confusion matrix is only filled when plots are on; the plots go to the scratch folder.
                plots=True,
                verbose=False,
                workers=0,
            )
        box = metrics.box
        names = metrics.names
        nt_per_class = getattr(metrics, "nt_per_class", None)
        nt_per_image = getattr(metrics, "nt_per_image", None)
        classes = []
        for index, class_id in enumerate(box.ap_class_index):
            precision, recall, ap50, ap = box.class_result(index)
            classes.append(
                {
                    "classId": int(class_id),
                    "name": names[int(class_id)],
                    "images": int(nt_per_image[class_id]) if nt_per_image is not None else None,
                    "instances": int(nt_per_class[class_id]) if nt_per_class is not None else None,
                    "precision": number(precision),
                    "recall": number(recall),
                    "map50": number(ap50),
                    "map50_95": number(ap),
                }
            )
        matrix = getattr(metrics, "confusion_matrix", None)
        result = {
            "split": args.split,
            "weights": str(Path(args.weights).resolve()),
            "images": seen.get("images"),
            "instances": int(nt_per_class.sum()) if nt_per_class is not None else None,
            "precision": number(box.mp),
            "recall": number(box.mr),
            "map50": number(box.map50),
            "map50_95": number(box.map),
            "classes": classes,
            "speedMs": {key: number(value) for key, value in (metrics.speed or {}).items()},
        }
        if matrix is not None and getattr(matrix, "matrix", None) is not None:
            result["confusionMatrix"] = {
                "names": [names[i] for i in range(len(names))] + ["background"],
                "matrix": [[int(cell) for cell in row] for row in matrix.matrix.tolist()],
            }
        Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
        sys.stdout.write(EVENT_PREFIX + json.dumps({"type": "evaluation", **result}) + "\n")
        return 0
    except Exception as error:  # report every failure as one event line
        sys.stdout.write(
            EVENT_PREFIX
            + json.dumps({"type": "error", "message": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-4000:]})
            + "\n"
        )
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
