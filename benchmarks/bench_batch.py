"""Benchmark: a session of videos, one after the other vs 2 local workers, and a
re-analysis that changes only the smoothing (served by the stage cache: no model runs).

    python benchmarks/bench_batch.py                 # prints a Markdown table
    python benchmarks/bench_batch.py --videos 6 --seconds 8

The session: N segments of vtest.avi (768x576, 10 fps; a copy per segment, so each video
has its own content and folder), with the real offline detector
(../shared/models/person_yolov8.pt, classes 0,1, ByteTrack) and a SpinePose-s-cost
stand-in ONNX (same contract and cost, keypoints not real results); every output on
(overlay, dashboard, session files).  Wall time counts everything a user waits for,
model loading in every worker included.  Speed does not depend on weight values.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPINEPOSE_SPORTS_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("YOLO_OFFLINE", "1")


def _session(work: Path, n: int, seconds: float) -> list[tuple[Path, dict]]:
    """n copies of vtest.avi (one folder each), each analysed over its own segment (so
    each has its own stage-cache entry)."""
    items = []
    for i in range(n):
        video = work / f"clip{i + 1:02d}.avi"
        shutil.copy(SHARED / "videos" / "vtest.avi", video)
        items.append((video, {"start": i * seconds, "end": (i + 1) * seconds}))
    return items


def _run(items, base, output: Path, **batch) -> tuple[float, list[str], int]:
    from spinepose_sports.results import read_run
    from spinepose_sports.session import run_session

    config = base.replace(output=str(output), **batch)
    jobs = [(v, config.replace(**over)) for v, over in items]
    t0 = time.perf_counter()
    outcome = run_session(jobs, config, progress=False)
    wall = time.perf_counter() - t0
    hits = sum(bool((read_run(j.folder) or {}).get("stage_cache", {}).get("hit"))
               for j in outcome.jobs)
    return wall, [r.status for r in outcome.results], hits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each video, s")
    args = parser.parse_args()
    from standins import make_standin_model

    from spinepose_sports.config import AnalyzeConfig

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pose = make_standin_model(work / "standin-s.onnx", kind="compute")
        base = AnalyzeConfig.from_settings(
            detector_weights=str(SHARED / "models" / "person_yolov8.pt"), person_classes="0,1",
            pose_model=str(pose),
        )
        items = _session(work, args.videos, args.seconds)
        rows = []
        for label, batch in (("1 worker", {"workers": 1}), ("2 workers", {"workers": 2})):
            wall, status, hits = _run(items, base, work / label.replace(" ", ""), **batch)
            assert status == ["completed"] * args.videos and hits == 0, (status, hits)
            rows.append((label, wall))
        first = rows[0][1]
        wall, status, hits = _run(items, base.replace(smoothing="butterworth"),
                                  work / "1worker", workers=1)
        assert hits == args.videos, "the re-run must be served by the stage cache"
        rows.append(("smoothing-only re-run, 1 worker", wall))
    n = args.videos
    print(f"{n} videos x {args.seconds:g} s ({int(args.seconds * 10)} frames of 768x576), "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}\n")
    print("| run | wall s | videos per hour | speed-up vs 1 worker |")
    print("|---|---:|---:|---:|")
    for label, wall in rows:
        print(f"| {label} | {wall:.1f} | {n / wall * 3600:.0f} | {first / wall:.2f}x |")


if __name__ == "__main__":
    main()
