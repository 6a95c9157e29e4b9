"""Benchmark: the overlay's cost per frame (decoding, drawing, encoding) at 720p and 1080p,
and its share of a whole ``analyze`` run.

    python benchmarks/bench_render.py                     # runs analyze once for the share
    python benchmarks/bench_render.py --run-json results/sports2d_demo/run.json

Sources: the 230 frames of sample_videos/sports2d_demo.mp4 resized with cv2.resize to
1280x720 and 1920x1080 (written once with libx264 ``ultrafast``, the sample's AAC audio
kept); results: two synthetic athletes (tests/render_data.py: known spine motion) and
their kinematics.  Measured, each the best of ``--repeat`` runs:

- decode: streaming the source (what the overlay pays to read it again);
- draw: decode + drawing every athlete, legend, readouts and trails, minus decode;
- encode: the whole ``render_overlay`` (libx264 ``veryfast``, audio muxed) minus decode
  and draw; the whole again with ``ultrafast``;
- panel: the same with the moviepy side panel (optional, slower), whole cost.

The share compares the plain overlay's whole cost (decode + draw + encode) with the other
stages of an ``analyze`` run (``timing_ms_per_frame`` of its run.json: decode,
detect_track, pose, kinematics, save) at the same per-frame rate: share = render / (other
stages + render).  Without ``--run-json`` it runs ``analyze`` on the sample clip with the
real offline detector (../shared/models/person_yolov8.pt) and a stand-in pose model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPINEPOSE_SPORTS_SHARED", ROOT.parent / "shared"))
SAMPLE = ROOT / "sample_videos" / "sports2d_demo.mp4"
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("SPINEPOSE_SPORTS_OFFLINE", "1")
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
NON_RENDER = ("decode", "detect_track", "pose", "kinematics", "save")


def resized_clip(size: tuple[int, int], path: Path) -> Path:
    """The sample clip resized to ``size`` (w, h), H.264 ultrafast, its audio kept."""
    import cv2

    from spinepose_sports.video import VideoWriter, probe, read_frames

    fps = probe(SAMPLE).fps
    with VideoWriter(path, fps=fps, preset="ultrafast", audio_from=SAMPLE) as writer:
        for frame in read_frames(SAMPLE):
            writer.write(cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA))
    return path


def _best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(label: str, size: tuple[int, int], tmp: Path, repeat: int) -> dict[str, float]:
    """ms per frame of decode, draw, encode (and the panel variant) at one size."""
    from render_data import make_results_folder

    from spinepose_sports.render import FrameLookup, RenderOptions, overlay_frames, render_overlay
    from spinepose_sports.report import load_results
    from spinepose_sports.video import read_frames

    clip = resized_clip(size, tmp / f"{label}.mp4")
    folder = make_results_folder(tmp / label, clip)
    res = load_results(folder)
    n = res.poses.sizes["time"]

    def decode() -> None:
        for _ in read_frames(clip):
            pass

    def draw() -> None:
        lookup = FrameLookup(res.poses, res.boxes, res.kinematics, trail_s=1.0)
        for _ in overlay_frames(clip, lookup):
            pass

    def whole(panel: bool = False, preset: str = "veryfast") -> None:
        render_overlay(
            clip,
            res.poses,
            tmp / f"{label}-overlay.mp4",
            boxes=res.boxes,
            kinematics=res.kinematics,
            options=RenderOptions(trail_s=1.0, panel=panel, preset=preset),
        )

    t_decode = _best(decode, repeat)
    t_draw = _best(draw, repeat)
    t_whole = _best(whole, repeat)
    t_ultrafast = _best(lambda: whole(preset="ultrafast"), repeat)
    t_panel = _best(lambda: whole(panel=True), 1)
    ms = 1000.0 / n
    return {
        "frames": n,
        "decode": t_decode * ms,
        "draw": (t_draw - t_decode) * ms,
        "encode": (t_whole - t_draw) * ms,
        "render": t_whole * ms,
        "ultrafast": t_ultrafast * ms,
        "panel": t_panel * ms,
    }


def analyze_timing(run_json: Path | None, tmp: Path) -> tuple[dict[str, float], str]:
    """``timing_ms_per_frame`` of an analyze run: the given run.json, or a fresh run."""
    if run_json is None:
        from standins import make_standin_model

        model = make_standin_model(tmp / "standin.onnx")
        out = tmp / "analyze"
        cmd = [
            str(Path(sys.executable).with_name("spinepose-sports")),
            "analyze",
            str(SAMPLE),
            "-o",
            str(out),
            "--detector-weights",
            str(SHARED / "models" / "person_yolov8.pt"),
            "--person-classes",
            "0,1",
            "--pose-model",
            str(model),
            "--quiet",
        ]
        subprocess.run(cmd, check=True)
        run_json = out / SAMPLE.stem / "run.json"
    run = json.loads(run_json.read_text())
    video = run.get("video") or {}
    where = f"{video.get('path', '?')} {video.get('width', '?')}x{video.get('height', '?')}"
    return run["timing_ms_per_frame"], where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-json", type=Path, help="run.json of an analyze run to compare to")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measure (best kept)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_render_"))
    rows = {label: measure(label, size, tmp, args.repeat) for label, size in SIZES.items()}
    timing, where = analyze_timing(args.run_json, tmp)
    others = sum(timing.get(k, 0.0) for k in NON_RENDER)
    print(
        f"date: {date.today()}; machine: {platform.platform()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}"
    )
    print(
        f"analyze run compared to: {where}; its stages other than the overlay: "
        f"{others:.1f} ms/frame ({', '.join(f'{k} {timing.get(k, 0):.1f}' for k in NON_RENDER)})"
        f"; its own render_overlay: {timing.get('render_overlay', float('nan')):.1f} ms/frame\n"
    )
    print(
        "| size | frames | decode | draw | encode | overlay total | share of analyze "
        "| total, ultrafast | share, ultrafast | with side panel |"
    )
    print("|---" * 10 + "|")
    for label, r in rows.items():
        share = r["render"] / (others + r["render"])
        share_uf = r["ultrafast"] / (others + r["ultrafast"])
        print(
            f"| {label} | {r['frames']:.0f} | {r['decode']:.1f} | {r['draw']:.1f} | "
            f"{r['encode']:.1f} | {r['render']:.1f} | {100 * share:.0f} % | "
            f"{r['ultrafast']:.1f} | {100 * share_uf:.0f} % | {r['panel']:.1f} |"
        )
    print(
        "\n(ms per frame; libx264 veryfast unless said; share = overlay total / "
        "(analyze's other stages + overlay total))"
    )


if __name__ == "__main__":
    main()
