"""Benchmark: the whole `analyze` pipeline, per stage, and its memory as videos get longer.

    python benchmarks/bench_pipeline.py            # all cases, prints a Markdown table

Cases (each in a fresh subprocess, so peak RSS is its own):
- sports2d_demo.mp4 (1768x994, 230 frames) and vtest.avi (768x576, first 100 / all 795
  frames) with the real offline detector (../shared/models/person_yolov8.pt, classes 0,1,
  ByteTrack) and a SpinePose-s-cost stand-in ONNX (same contract, ~0.65 G multiply-adds
  per crop; its keypoints are not real results).
- the default detector's architecture (yolo11n, untrained weights built from
  ultralytics' yolo11n.yaml: same cost as the official yolo11n.pt, no detections) for its
  detection time per frame.
Figures: ms per frame per stage (run.json's timing), frames per second end to end, peak
RSS. Speed does not depend on weight values.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPINEPOSE_SPORTS_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("YOLO_OFFLINE", "1")


def _standin(path: Path) -> Path:
    from standins import make_standin_model

    return make_standin_model(path, kind="compute")


def _untrained_yolo11n(path: Path) -> Path:
    from ultralytics import YOLO

    YOLO("yolo11n.yaml").save(str(path))
    return path


def run_one(video: Path, detector: Path, pose_model: Path, end_s: float | None, classes: str):
    """Analyze one video in this process; print a JSON line with the figures."""
    from spinepose_sports.pipeline import AnalyzeConfig, analyze_video, load_stages

    with tempfile.TemporaryDirectory() as out:
        config = AnalyzeConfig.from_settings(
            output=out, detector_weights=str(detector), pose_model=str(pose_model),
            person_classes=classes, end=end_s,
        )
        stages = load_stages(config, progress=False)
        t0 = time.perf_counter()
        result = analyze_video(
            video, Path(out) / video.stem, config, stages, progress=False
        )
        wall_s = time.perf_counter() - t0
        run = json.loads((result.output_dir / "run.json").read_text())
    print(json.dumps({
        "video": video.name, "detector": detector.name, "frames": result.n_frames,
        "tracks": result.n_tracks, "wall_s": wall_s, "fps": result.n_frames / wall_s,
        "ms_per_frame": run["timing_ms_per_frame"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def _case(video: Path, detector: Path, pose: Path, end_s: float | None, classes: str) -> dict:
    cmd = [sys.executable, __file__, "--one", str(video), str(detector), str(pose),
           "" if end_s is None else str(end_s), classes]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    pose = _standin(tmp / "standin-s-cost.onnx")
    person = SHARED / "models" / "person_yolov8.pt"
    yolo11n = _untrained_yolo11n(tmp / "yolo11n-untrained.pt")
    videos = SHARED / "videos"
    cases = [
        (videos / "sports2d_demo.mp4", person, None, "0,1"),
        (videos / "vtest.avi", person, 10.0, "0,1"),
        (videos / "vtest.avi", person, None, "0,1"),
        (videos / "sports2d_demo.mp4", yolo11n, None, "0"),
    ]
    rows = [_case(v, d, pose, e, c) for v, d, e, c in cases]
    stages = ["decode", "detect_track", "pose", "appearance", "stitch_filter", "smooth",
              "kinematics", "save", "dashboard", "render_overlay"]
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}\n")
    print("| video | detector | frames | tracks | " + " | ".join(stages)
          + " | end-to-end fps | peak RSS MiB |")
    print("|---" * (len(stages) + 6) + "|")
    for r in rows:
        ms = [f"{r['ms_per_frame'].get(s, 0.0):.1f}" for s in stages]
        print(f"| {r['video']} | {r['detector']} | {r['frames']} | {r['tracks']} | "
              + " | ".join(ms) + f" | {r['fps']:.2f} | {r['peak_rss_mib']:.0f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        video, det, pose, end, classes = sys.argv[2:7]
        run_one(Path(video), Path(det), Path(pose), float(end) if end else None, classes)
    else:
        main()
