"""Run trained YOLO weights on a list of images and write the detections as JSON.

Input (--images): a JSON file holding a list of image paths.
Output (--out): {weights, imgsz, conf, iou, names, images: [{image, width, height,
detections: [{classId, className, confidence, box: {x1, y1, x2, y2}}]}]}, with
boxes in pixels of the original image. A failure is printed as one
`TRAINBOOK_EVENT {"type": "error", ...}` line; an image that cannot be decoded
adds `"image": <path>` to that event.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

EVENT_PREFIX = "TRAINBOOK_EVENT "

# Images decoded and passed to the model at once; bounds the memory held by decoded images.
CHUNK_SIZE = 16


class UnreadableImage(Exception):
    def __init__(self, path: str):
        super().__init__(f"cannot decode image {path}")
        self.path = path


def read_images(paths: list[str]):
    """Decode images as Ultralytics does for file sources (BGR arrays, EXIF orientation applied)."""
    from ultralytics.utils.patches import imread

    images = []
    for path in paths:
        image = imread(path)
        if image is None:
            raise UnreadableImage(path)
        images.append(image)
    return images


def detections_of(result) -> list[dict]:
    boxes = result.boxes
    rows = []
    for xyxy, confidence, class_id in zip(boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist()):
        x1, y1, x2, y2 = (round(float(value), 2) for value in xyxy)
        rows.append(
            {
                "classId": int(class_id),
                "className": result.names[int(class_id)],
                "confidence": float(confidence),
                "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2},
            }
        )
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--images", required=True, help="JSON file with a list of image paths")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--iou", type=float, default=0.7)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    os.environ.setdefault("YOLO_OFFLINE", "true")
    os.environ.setdefault("MPLBACKEND", "Agg")

    try:
        from ultralytics import YOLO

        paths = json.loads(Path(args.images).read_text(encoding="utf-8"))
        model = YOLO(args.weights)
        entries = []
        for start in range(0, len(paths), CHUNK_SIZE):
            chunk = paths[start : start + CHUNK_SIZE]
            results = model.predict(
                read_images(chunk),
                imgsz=args.imgsz,
                conf=args.conf,
                iou=args.iou,
                device=args.device,
                save=False,
                verbose=False,
            )
            for path, result in zip(chunk, results):
                height, width = result.orig_shape
                entries.append(
                    {"image": path, "width": int(width), "height": int(height), "detections": detections_of(result)}
                )
        names = model.names
        output = {
            "weights": str(Path(args.weights).resolve()),
            "imgsz": args.imgsz,
            "conf": args.conf,
            "iou": args.iou,
            "names": [names[i] for i in sorted(names)],
            "images": entries,
        }
        Path(args.out).write_text(json.dumps(output), encoding="utf-8")
        return 0
    except UnreadableImage as error:
        event = {"type": "error", "message": str(error), "image": error.path}
        sys.stdout.write(EVENT_PREFIX + json.dumps(event) + "\n")
        return 1
    except Exception as error:  # report every failure as one event line
        event = {
            "type": "error",
            "message": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc()[-4000:],
        }
        sys.stdout.write(EVENT_PREFIX + json.dumps(event) + "\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
