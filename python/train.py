# /// script
# requires-python = ">=3.10"
# dependencies = [
#   "ultralytics==8.4.31",
#   "torch==2.14.1",
#   "torchvision==0.29.1",
#   "huggingface_hub==1.33.0",
# ]
# ///
"""Train an Ultralytics YOLO model and report progress as JSON event lines.

trainbook runs this script locally (in the Python environment it manages) and on
Hugging Face Jobs (as a uv script). Every event is one stdout line:

    TRAINBOOK_EVENT {"type": "epoch", "epoch": 3, ...}

Event types: start, epoch (one per finished epoch, with every results.csv column),
push (artifacts uploaded to the Hub), finish, error. Other output lines are logs.

With --hub-model-repo the script also uploads results.csv and the latest weights to
that Hub model repository every --push-every epochs and at the end, so a job that
dies keeps what it had. With --hub-dataset-repo it first downloads the dataset.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

EVENT_PREFIX = "TRAINBOOK_EVENT "


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def emit(event_type: str, **fields) -> None:
    """Print one event line; flush so the reader sees it at once."""
    line = json.dumps({"type": event_type, **fields, "time": now()}, allow_nan=False, default=str)
    sys.stdout.write(EVENT_PREFIX + line + "\n")
    sys.stdout.flush()


def finite_or_none(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def read_last_results_row(csv_path: Path) -> dict[str, float | None] | None:
    """Return the last row of results.csv keyed by its stripped header names."""
    if not csv_path.exists():
        return None
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 2:
        return None
    header = [name.strip() for name in rows[0]]
    values = [value.strip() for value in rows[-1]]
    return {name: finite_or_none(value) for name, value in zip(header, values)}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="data.yaml of the dataset (local runs)")
    parser.add_argument("--hub-dataset-repo", help="Hub dataset repository to download first (remote runs)")
    parser.add_argument("--model", default="yolo11n.yaml", help="model YAML (trained from scratch) or local .pt")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="auto", help="'auto' (every GPU, else CPU), 'cpu', or '0,1'")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--project", required=True, help="folder containing the run folders")
    parser.add_argument("--name", required=True, help="run id; the run folder is <project>/<name>")
    parser.add_argument("--overrides", default="{}", help="JSON object of further Ultralytics train arguments")
    parser.add_argument("--hub-model-repo", help="Hub model repository to push artifacts to")
    parser.add_argument("--push-every", type=int, default=5, help="push artifacts every N epochs (0: only at the end)")
    return parser.parse_args(argv)


def configure_offline(config_dir: Path) -> None:
    """Keep Ultralytics off the network: no settings sync, no installs, no font download."""
    os.environ.setdefault("YOLO_OFFLINE", "true")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    os.environ.setdefault("MPLBACKEND", "Agg")
    font_dir = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
    if not (font_dir / "Arial.ttf").exists():
        import shutil

        import matplotlib

        source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        font_dir.mkdir(parents=True, exist_ok=True)
        for name in ("Arial.ttf", "Arial.Unicode.ttf"):
            shutil.copyfile(source, font_dir / name)


def resolve_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        return "cpu"
    return ",".join(str(index) for index in range(count))


def download_dataset(repo: str, destination: Path) -> Path:
    """Download a staged dataset repository and return its data.yaml."""
    from huggingface_hub import snapshot_download

    local = snapshot_download(repo_id=repo, repo_type="dataset", local_dir=str(destination))
    data_yaml = Path(local) / "data.yaml"
    if not data_yaml.exists():
        raise FileNotFoundError(f"dataset repository {repo} has no data.yaml at its root; stage it with trainbook")
    # The staged data.yaml sets `path: .`, which Ultralytics resolves against the working
    # directory, so point it at the download folder explicitly.
    import yaml

    description = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    description["path"] = str(Path(local).resolve())
    resolved = Path(local) / "data.resolved.yaml"
    resolved.write_text(yaml.safe_dump(description, sort_keys=False), encoding="utf-8")
    return resolved


class HubPusher:
    """Uploads run artifacts to a Hub model repository."""

    ARTIFACTS = ("results.csv", "args.yaml", "results.png", "weights/last.pt", "weights/best.pt")

    def __init__(self, repo: str, run_dir: Path):
        from huggingface_hub import HfApi

        self.api = HfApi()
        self.repo = repo
        self.run_dir = run_dir

    def push(self, epoch: int | None, final: bool, metrics: dict | None = None) -> None:
        from huggingface_hub import CommitOperationAdd

        operations = [
            CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(self.run_dir / name))
            for name in self.ARTIFACTS
            if (self.run_dir / name).exists()
        ]
        if final:
            card = model_card(self.repo, metrics or {})
            operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode("utf-8")))
        if not operations:
            return
        label = "final artifacts" if final else f"artifacts after epoch {epoch}"
        self.api.create_commit(repo_id=self.repo, repo_type="model", operations=operations, commit_message=f"Upload {label}")
        emit("push", repo=self.repo, epoch=epoch, final=final, files=[op.path_in_repo for op in operations])


def model_card(repo: str, metrics: dict) -> str:
    """Return a model card whose model-index metadata contains the final validation metrics."""
    names = {
        "metrics/mAP50(B)": ("mAP50", "mAP@0.5"),
        "metrics/mAP50-95(B)": ("mAP50-95", "mAP@0.5:0.95"),
        "metrics/precision(B)": ("precision", "Precision"),
        "metrics/recall(B)": ("recall", "Recall"),
    }
    lines = [
        "---",
        "library_name: ultralytics",
        "tags: [ultralytics, yolo, object-detection, trainbook]",
        "model-index:",
        f"- name: {repo.split('/')[-1]}",
        "  results:",
        "  - task: {type: object-detection}",
        "    metrics:",
    ]
    for key, (metric_type, pretty) in names.items():
        value = metrics.get(key)
        if value is not None:
            lines.append(f"    - {{type: {metric_type}, value: {value:.5f}, name: {pretty}}}")
    lines += ["---", "", f"# {repo.split('/')[-1]}", "", "YOLO model trained with trainbook.", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    run_dir = Path(args.project).resolve() / args.name
    configure_offline(Path(args.project).resolve() / ".ultralytics-config")
    started = time.time()
    try:
        overrides = json.loads(args.overrides)
        if not isinstance(overrides, dict):
            raise ValueError("--overrides must be a JSON object")
        data = args.data
        if args.hub_dataset_repo:
            data = str(download_dataset(args.hub_dataset_repo, Path(args.project).resolve() / "dataset"))
        if not data:
            raise ValueError("pass --data or --hub-dataset-repo")

        import torch
        import ultralytics
        from ultralytics import YOLO

        device = resolve_device(args.device)
        model = YOLO(args.model)
        pusher = HubPusher(args.hub_model_repo, run_dir) if args.hub_model_repo else None
        emitted: set[int] = set()
        epoch_times: list[float] = []

        def on_fit_epoch_end(trainer) -> None:
            # Fires once per epoch, and once more after the final validation of best.pt
            # with the last epoch's number again: only the first call per epoch counts.
            epoch = trainer.epoch + 1
            if epoch in emitted:
                return
            emitted.add(epoch)
            row = read_last_results_row(Path(trainer.csv)) or {}
            row.pop("epoch", None)
            epoch_times.append(time.time())
            elapsed = time.time() - started
            mean_epoch = (epoch_times[-1] - epoch_times[0]) / (len(epoch_times) - 1) if len(epoch_times) > 1 else elapsed / epoch
            eta = max(0.0, (trainer.epochs - epoch) * mean_epoch)
            emit("epoch", epoch=epoch, epochs=trainer.epochs, metrics=row, elapsedSeconds=round(elapsed, 3), etaSeconds=round(eta, 3))
            if pusher and args.push_every > 0 and epoch % args.push_every == 0 and epoch < trainer.epochs:
                try:
                    pusher.push(epoch, final=False)
                except Exception as error:  # a failed intermediate push must not stop training
                    print(f"warning: pushing artifacts after epoch {epoch} failed: {error}", file=sys.stderr)

        model.add_callback("on_fit_epoch_end", on_fit_epoch_end)
        emit(
            "start",
            epochs=args.epochs,
            model=args.model,
            device=device,
            runDir=str(run_dir),
            versions={
                "python": platform.python_version(),
                "torch": torch.__version__,
                "ultralytics": ultralytics.__version__,
            },
        )
        train_args = dict(
            data=data,
            epochs=args.epochs,
            imgsz=args.imgsz,
            batch=args.batch,
            device=device,
            workers=args.workers,
            seed=args.seed,
            project=str(Path(args.project).resolve()),
            name=args.name,
            exist_ok=True,
            pretrained=args.model.endswith(".pt"),
            verbose=False,
        )
        train_args.update(overrides)
        model.train(**train_args)

        last_row = read_last_results_row(run_dir / "results.csv") or {}
        if pusher:
            pusher.push(max(emitted) if emitted else None, final=True, metrics=last_row)
        emit("finish", elapsedSeconds=round(time.time() - started, 3), bestEpoch=best_epoch(run_dir / "results.csv"), runDir=str(run_dir))
        return 0
    except KeyboardInterrupt:
        emit("error", message="training was interrupted")
        return 130
    except Exception as error:  # report every failure as an event, with the traceback's tail
        emit("error", message=f"{type(error).__name__}: {error}", traceback=traceback.format_exc()[-4000:])
        return 1


def best_epoch(csv_path: Path) -> int | None:
    """Return the epoch with the best Ultralytics fitness (0.1 mAP50 + 0.9 mAP50-95)."""
    if not csv_path.exists():
        return None
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        best, best_fitness = None, -1.0
        for values in reader:
            row = dict(zip(header, (finite_or_none(v.strip()) for v in values)))
            map50, map50_95 = row.get("metrics/mAP50(B)"), row.get("metrics/mAP50-95(B)")
            if map50 is None or map50_95 is None:
                continue
            fitness = 0.1 * map50 + 0.9 * map50_95
            if fitness > best_fitness:
                best, best_fitness = int(row.get("epoch") or 0), fitness
    return best


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
