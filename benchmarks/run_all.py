"""One harness for the pipeline's speed figures: writes ``benchmarks/RESULTS.md``.

    python benchmarks/run_all.py            # everything (about 15-25 min on 2 busy cores)
    python benchmarks/run_all.py --quick    # fewer frames, prints only

Every case runs in a fresh subprocess (its own peak RSS, no warm caches shared):

1. ``analyze`` on the real clips with the real offline detector
   (``../shared/models/person_yolov8.pt``, classes 0,1, ByteTrack) and the SpinePose-s
   cost stand-in of ``benchmarks/bench_pipeline.py`` (``tests/standins.py``
   ``kind="compute"``: SpinePose's contract, ~0.65 G multiply-adds per crop; its
   keypoints are not results): detector through torch, through ONNX, and ONNX with
   ``detect_every = 3``.  Stage breakdown (run.json's ms per frame), end-to-end fps, peak
   RSS.
2. The detector + pose inference alone on the same frames (the same tracker and pose
   calls, frames decoded beforehand outside the clock): the floor ``analyze`` is compared
   with.
3. Boxes of detect-every-3 against per-frame detection (IoU; ``benchmarks/sparse_iou.py``).
4. Peak memory of ``analyze`` on a 1-minute and a 10-minute clip (the real sports2d
   frames, downscaled to 320x180 and looped, H.264) with zero-cost fake models, so that
   only what grows with the video's length differs.
5. ``smooth(method="kalman")`` of 37 keypoints x 3 tracks x 10,000 frames in a fresh process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPINEPOSE_SPORTS_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")
DETECTOR = SHARED / "models" / "person_yolov8.pt"
VIDEOS = SHARED / "videos"
STAGES = ["decode", "detect_track", "pose", "appearance", "stitch_filter", "smooth",
          "kinematics", "save", "dashboard", "render_overlay"]
HERE = "python benchmarks/run_all.py"
REPEATS = 2


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds of this process (all threads): on a shared machine a steadier figure
    than wall time, which grows with whatever else runs."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _sub(*args: str) -> dict:
    """Run this file with ``args`` in a fresh process; its last stdout line is JSON."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{args}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------- cases (subprocesses)


def case_analyze(video: str, pose: str, backend: str, every: str, end: str,
                 outputs: str = "all") -> dict:
    """``analyze_video`` with every output (``outputs="all"``), every output with the
    overlay encoded with libx264 ``ultrafast`` (``"ultrafast"``), or all but the overlay
    (``"no-overlay"``)."""
    from spinepose_sports.pipeline import AnalyzeConfig, analyze_video, load_stages

    with tempfile.TemporaryDirectory() as out:
        config = AnalyzeConfig.from_settings(
            output=out, detector_weights=str(DETECTOR), pose_model=pose, person_classes="0,1",
            end=float(end) if end else None, detector_backend=backend,
            detect_every=int(every), device="cpu", overlay=outputs != "no-overlay",
            overlay_preset="ultrafast" if outputs == "ultrafast" else "veryfast",
        )
        stages = load_stages(config, progress=False)
        t0, c0 = time.perf_counter(), _cpu_s()
        result = analyze_video(Path(video), Path(out) / Path(video).stem, config, stages,
                               progress=False)
        wall_s, cpu_s = time.perf_counter() - t0, _cpu_s() - c0
        run = json.loads((result.output_dir / "run.json").read_text())
    return {"frames": result.n_frames, "tracks": result.n_tracks, "wall_s": wall_s,
            "cpu_s": cpu_s, "fps": result.n_frames / wall_s, "ms": run["timing_ms_per_frame"],
            "peak_rss_mib": _peak_mib(), "detector": stages.tracker.describe()}


def case_models_alone(video: str, pose: str, backend: str, end: str) -> dict:
    """The detector (ultralytics track call) and the pose model on every frame, timed
    alone; frames decoded outside the clock, in batches of 20."""
    from spinepose_sports.pipeline import AnalyzeConfig, load_stages
    from spinepose_sports.video import read_frames

    config = AnalyzeConfig.from_settings(
        detector_weights=str(DETECTOR), pose_model=pose, person_classes="0,1",
        detector_backend=backend, device="cpu",
    )
    stages = load_stages(config, progress=False)
    stages.tracker.reset()
    det_s = pose_s = 0.0
    n = 0
    batch: list = []
    end_s = float(end) if end else None

    def run(frames: list) -> None:
        nonlocal det_s, pose_s, n
        for image in frames:
            t0 = time.perf_counter()
            dets = stages.tracker.update(image)
            t1 = time.perf_counter()
            if len(dets):
                stages.pose(image, dets.xyxy)
            pose_s += time.perf_counter() - t1
            det_s += t1 - t0
            n += 1

    cpu_s = 0.0
    for frame in read_frames(Path(video), end_s=end_s):
        batch.append(frame.image)
        if len(batch) == 20:
            c0 = _cpu_s()
            run(batch)
            cpu_s += _cpu_s() - c0
            batch = []
    c0 = _cpu_s()
    run(batch)
    cpu_s += _cpu_s() - c0
    return {"frames": n, "detector_s": det_s, "pose_s": pose_s, "models_s": det_s + pose_s,
            "models_cpu_s": cpu_s}


def case_iou(video: str, frames: str, every: str = "3") -> dict:
    from sparse_iou import compare

    return compare(Path(video), DETECTOR, int(every), int(frames))


#: (video, end s, label) of the ``analyze`` and ``models`` cases
CLIPS = [(str(VIDEOS / "sports2d_demo.mp4"), "", "sports2d_demo.mp4 (230 frames)"),
         (str(VIDEOS / "vtest.avi"), "10", "vtest.avi (first 100 frames)")]

#: clip -> frames of the ``iou`` case; and the clips also measured at detect every 2
IOU_FRAMES = {"sports2d_demo.mp4": 90, "pose2sim_single_athlete.mp4": 60, "vtest.avi": 45}
IOU_EVERY_2 = ("vtest.avi",)


def iou_cases(iou_frames: dict[str, int]) -> tuple[dict, dict]:
    """The ``iou`` case at detect every 3 for each clip, and at 2 for :data:`IOU_EVERY_2`."""
    every3 = {v: _sub("iou", str(VIDEOS / v), str(n)) for v, n in iou_frames.items()}
    every2 = {v: _sub("iou", str(VIDEOS / v), str(n), "2")
              for v, n in iou_frames.items() if v in IOU_EVERY_2}
    return every3, every2


def case_memory(video: str) -> dict:
    """``analyze`` with zero-cost fake models (3 athletes moving across the frame)."""
    from fake_models import fake_stages

    from spinepose_sports.pipeline import AnalyzeConfig, analyze_video

    with tempfile.TemporaryDirectory() as out:
        config = AnalyzeConfig.from_settings(output=out, min_track_motion=0.0)
        t0 = time.perf_counter()
        result = analyze_video(Path(video), Path(out) / "clip", config, fake_stages(),
                               progress=False)
        wall_s = time.perf_counter() - t0
        sizes = {p.name: p.stat().st_size for p in result.output_dir.iterdir() if p.is_file()}
    return {"frames": result.n_frames, "tracks": result.n_tracks, "wall_s": wall_s,
            "peak_rss_mib": _peak_mib(), "file_sizes": sizes}


def case_smoothing() -> dict:
    t_import = time.perf_counter()
    from synthetic import synthetic_motion

    from spinepose_sports.smoothing import smooth

    poses = synthetic_motion(fps=30.0, duration_s=10_000 / 30.0, n_tracks=3, seed=0).noisy
    t0, c0 = time.perf_counter(), time.process_time()
    smooth(poses, method="kalman")
    return {"smooth_s": time.perf_counter() - t0, "smooth_cpu_s": time.process_time() - c0,
            "setup_s": t0 - t_import}


def case_threads() -> dict:
    """The detector's ONNX export alone in onnxruntime on a 384x640 input (sports2d's
    letterboxed size), ms per call, for 1 and 2 intra-op threads with idle threads
    spinning or not; with a second session (the pose stand-in) busy in another thread,
    as in the pipeline's overlap."""
    import threading

    import numpy as np
    import onnxruntime as ort

    from spinepose_sports.detection import YoloTracker

    onnx = YoloTracker(DETECTOR, person_classes=(0, 1), backend="onnx").model_path
    pose_path = pose_standin(Path(tempfile.mkdtemp()))
    x = np.random.default_rng(0).random((1, 3, 384, 640), dtype=np.float32)
    crops = np.zeros((3, 3, 256, 192), np.float32)
    out = {}
    for threads in (1, 2):
        for spin in ("1", "0"):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.add_session_config_entry("session.intra_op.allow_spinning", spin)
            det = ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])
            pose = ort.InferenceSession(str(pose_path), opts,
                                        providers=["CPUExecutionProvider"])
            name, pname = det.get_inputs()[0].name, pose.get_inputs()[0].name
            det.run(None, {name: x})
            stop = threading.Event()

            def busy(p=pose, n=pname, stop=stop) -> None:
                while not stop.is_set():
                    p.run(None, {n: crops})

            worker = threading.Thread(target=busy)
            worker.start()
            t0 = time.perf_counter()
            for _ in range(6):
                det.run(None, {name: x})
            out[f"threads={threads} spinning={spin}"] = (time.perf_counter() - t0) / 6 * 1000
            stop.set()
            worker.join()
    return out


def case_presets(video: str) -> dict:
    """The overlay pass alone (``render_overlay``: decode again, draw, encode) of results
    of ``video`` with 3 fake athletes, per libx264 preset: ms per frame, CPU ms per frame
    (all threads) and the file's size; presets interleaved, the faster of 2 runs kept."""
    from fake_models import fake_stages

    from spinepose_sports.pipeline import AnalyzeConfig, analyze_video
    from spinepose_sports.render import RenderOptions, render_overlay
    from spinepose_sports.report import load_results

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = AnalyzeConfig.from_settings(output=tmp, min_track_motion=0.0, overlay=False,
                                             dashboard=False)
        folder = analyze_video(Path(video), Path(tmp) / "clip", config, fake_stages(),
                               progress=False).output_dir
        res = load_results(folder)
        frames = int(res.poses.sizes["time"])
        for _ in range(2):
            for preset in ("veryfast", "superfast", "ultrafast"):
                path = Path(tmp) / f"{preset}.mp4"
                t0, c0 = time.perf_counter(), _cpu_s()
                render_overlay(video, res.poses, path, boxes=res.boxes,
                               kinematics=res.kinematics, options=RenderOptions(preset=preset))
                ms = 1000 * (time.perf_counter() - t0) / frames
                if preset not in out or ms < out[preset]["ms_per_frame"]:
                    out[preset] = {"ms_per_frame": ms,
                                   "cpu_ms_per_frame": 1000 * (_cpu_s() - c0) / frames,
                                   "mb": path.stat().st_size / 1e6, "frames": frames}
    return out


CASES = {"threads": case_threads, "presets": case_presets, "analyze": case_analyze,
         "models": case_models_alone, "iou": case_iou, "memory": case_memory,
         "smoothing": case_smoothing}


# ----------------------------------------------------------------- the report


def long_clip(path: Path, seconds: float, fps: int = 30) -> Path:
    """The real sports2d frames at 320x180, looped to ``seconds`` s, H.264 ultrafast."""
    import cv2

    from spinepose_sports.video import VideoWriter, read_frames

    frames = [cv2.resize(f.image, (320, 180), interpolation=cv2.INTER_AREA)
              for f in read_frames(VIDEOS / "sports2d_demo.mp4")]
    with VideoWriter(path, fps=fps, preset="ultrafast") as writer:
        for i in range(int(seconds * fps)):
            k = i % (2 * len(frames) - 2)  # forwards then backwards: no jump at the seam
            writer.write(frames[k if k < len(frames) else 2 * len(frames) - 2 - k])
    return path


def machine() -> str:
    cpu = cpu_model()
    import numpy
    import onnxruntime
    import torch
    import ultralytics

    return (f"{cpu}; {os.cpu_count()} logical CPUs; no GPU used; Linux "
            f"{platform.release()}; Python {platform.python_version()}, numpy "
            f"{numpy.__version__}, onnxruntime {onnxruntime.__version__}, torch "
            f"{torch.__version__} ({torch.get_num_threads()} threads), ultralytics "
            f"{ultralytics.__version__}")


def _cpu_fps(r: dict) -> float:
    return r["frames"] / r["cpu_s"] if r.get("cpu_s") else float("nan")


def _row(name: str, r: dict) -> str:
    ms = " | ".join(f"{r['ms'].get(s, 0.0):.1f}" for s in STAGES)
    runs = ", ".join(f"{r['frames'] / w:.2f}" for w in r.get("wall_runs_s", [r["wall_s"]]))
    return (f"| {name} | {r['frames']} | {r['tracks']} | {ms} | {r['fps']:.2f} ({runs}) | "
            f"{_cpu_fps(r):.2f} | {r['peak_rss_mib']:.0f} |")


#: (detector backend, detect every, outputs) of the ``analyze`` case
SETUPS = (("torch", "1", "all"), ("onnx", "1", "all"), ("onnx", "3", "all"),
          ("onnx", "1", "ultrafast"), ("onnx", "3", "ultrafast"),
          ("onnx", "1", "no-overlay"), ("onnx", "3", "no-overlay"))


def pose_standin(folder: Path) -> str:
    """The SpinePose-s architecture (``spinepose_sports.pose.rtmpose``, random weights)
    exported with the official ONNX contract: the real model's cost; its keypoints are
    not results."""
    from spinepose_sports.pose.convert import export_onnx
    from spinepose_sports.pose.rtmpose import build_rtmpose

    return str(export_onnx(build_rtmpose("s", seed=0), folder / "spinepose-s-standin.onnx"))


def model_cases(pose: str, clips: list, repeats: int = REPEATS,
                setups: tuple = SETUPS) -> tuple[dict, dict]:
    """The ``analyze`` and ``models`` cases, ``repeats`` rounds interleaved (each round
    runs every setup once), the round with the shortest wall time kept per setup: the
    machine is shared, and the least disturbed run is the closest to its real cost."""
    analyze: dict = {}
    models: dict = {}
    for _ in range(repeats):
        for video, end, label in clips:
            for backend, every, outputs in setups:
                r = _sub("analyze", video, pose, backend, every, end, outputs)
                key = f"{label}|{backend}|{every}|{outputs}"
                r["wall_runs_s"] = [*analyze.get(key, {}).get("wall_runs_s", []), r["wall_s"]]
                if key not in analyze or r["wall_s"] < analyze[key]["wall_s"]:
                    analyze[key] = r
                else:
                    analyze[key]["wall_runs_s"] = r["wall_runs_s"]
                print(label, backend, every, outputs, f"{r['fps']:.2f} fps", flush=True)
            m = _sub("models", video, pose, "onnx", end)
            if label not in models or m["models_s"] < models[label]["models_s"]:
                models[label] = m
    return analyze, models


def redo_models(raw: dict) -> None:
    """The ``analyze`` and ``models`` cases of ``raw`` run again (``raw`` updated)."""
    tmp = Path(tempfile.mkdtemp(prefix="run_all-"))
    pose = pose_standin(tmp)
    clips = CLIPS
    load0 = os.getloadavg()
    raw["analyze"], raw["models"] = model_cases(pose, clips)
    raw["threads"] = _sub("threads")
    raw["presets"] = _sub("presets", clips[0][0])
    raw["models_rerun"] = {"started": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
                           "load_start": load0, "load_end": os.getloadavg()}


def collect(quick: bool) -> dict:
    """Run every case; the raw figures (also saved by :func:`main` beside the report)."""
    tmp = Path(tempfile.mkdtemp(prefix="run_all-"))
    pose = pose_standin(tmp)
    sports = str(VIDEOS / "sports2d_demo.mp4")
    clips = list(CLIPS)
    iou_frames = dict(IOU_FRAMES)
    seconds = (60, 600)
    if quick:
        clips = [(sports, "1", "sports2d_demo.mp4 (first 30 frames)")]
        iou_frames = {"sports2d_demo.mp4": 15}
        seconds = (6, 60)
    raw: dict = {"started": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
                 "load_start": os.getloadavg(), "machine": machine(), "clips": [],
                 "analyze": {}, "models": {}, "seconds": seconds}
    raw["clips"] = [label for _, _, label in clips]
    raw["analyze"], raw["models"] = model_cases(pose, clips)
    raw["iou"], raw["iou_every_2"] = iou_cases(iou_frames)
    print("iou done", flush=True)
    raw["memory"] = {str(s): _sub("memory", str(long_clip(tmp / f"loop-{s}s.mp4", s)))
                     for s in seconds}
    print("memory done", flush=True)
    raw["smoothing"] = [_sub("smoothing") for _ in range(3)]
    raw["threads"] = _sub("threads")
    raw["presets"] = _sub("presets", sports)
    raw["load_end"] = os.getloadavg()
    return raw


OUTPUTS_WORDS = {"all": "every output", "ultrafast": "every output, overlay `ultrafast`",
                 "no-overlay": "every output but the overlay"}


def report(raw: dict) -> str:
    """``benchmarks/RESULTS.md`` from the raw figures of :func:`collect`."""
    analyze = {tuple(k.split("|")): v for k, v in raw["analyze"].items()}
    models, ious, memory, smoothing = raw["models"], raw["iou"], raw["memory"], raw["smoothing"]
    load0, load1 = raw["load_start"], raw["load_end"]
    lines = ["# Pipeline speed: all figures of issue 13 in one run", ""]
    lines += [
        f"- date: {raw['started']} UTC; command: `{HERE}` (each case in a fresh "
        "subprocess; raw figures in `benchmarks/results/run_all.json`)",
        f"- machine: {raw['machine']}",
        f"- load average (1/5/15 min) at the start {load0[0]:.2f}/{load0[1]:.2f}/"
        f"{load0[2]:.2f}, at the end {load1[0]:.2f}/{load1[1]:.2f}/{load1[2]:.2f}: the 2 "
        "cores were shared with other work, so wall times are inflated and noisy",
        f"- detector: `{DETECTOR.relative_to(SHARED.parent)}` (11 M-parameter YOLOv8, "
        "classes 0,1, imgsz 640, ByteTrack, conf 0.1), `--device cpu`",
        "- pose model: the SpinePose-s **architecture** with random weights "
        "(`spinepose_sports.pose.rtmpose`, RTMPose-s: 5.98 M parameters, 0.72 G "
        "multiply-adds per crop), exported with the official ONNX contract (dynamic "
        "batch): the real model's cost; its keypoints are not results",
        "- defaults otherwise: stitching + filtering, Kalman-RTS smoothing, kinematics, "
        "dashboard, overlay (`veryfast`); `no-overlay` rows: the same without the "
        "overlay video (`--no-overlay`)",
        "",
        "## End to end, by stage",
        "",
        f"Command: `{HERE}` (case `analyze`: `analyze_video` with `--detector-backend "
        "B --detect-every N --device cpu`). ms per frame by stage (run.json's "
        "`timing_ms_per_frame`; `decode` is the wait for the read-ahead thread), "
        "frames per second end to end (the best of the interleaved runs, all runs in "
        "brackets), frames per CPU second of the process (all its threads: steadier than "
        "wall time on a shared machine), peak RSS of the process.",
        "",
        "| clip, detector backend, detect every, outputs | frames | tracks | " + " | ".join(STAGES)
        + " | fps (runs) | frames per CPU s | peak RSS MiB |",
        "|---" * (len(STAGES) + 6) + "|",
    ]
    for (label, backend, every, outputs), r in analyze.items():
        lines.append(_row(f"{label}, {backend}, {every}, {outputs}", r))
    lines += ["", "## The issue's ratios", ""]
    lines += ["| figure | target | measured | made by |", "|---|---|---|---|"]
    for label in raw["clips"]:
        m = models[label]
        for outputs in [o for o in OUTPUTS_WORDS if (label, "onnx", "1", o) in analyze]:
            a = analyze[label, "onnx", "1", outputs]
            ratio = a["wall_s"] / m["models_s"]
            cpu_ratio = a["cpu_s"] / m["models_cpu_s"] if a.get("cpu_s") and m.get(
                "models_cpu_s") else float("nan")
            lines.append(
                f"| {label}: `analyze` ({OUTPUTS_WORDS[outputs]}) time / detector + pose "
                f"inference alone (ONNX detector, {m['frames']} frames: models "
                f"{1000 * m['models_s'] / m['frames']:.0f} ms/frame = detector "
                f"{1000 * m['detector_s'] / m['frames']:.0f} + pose "
                f"{1000 * m['pose_s'] / m['frames']:.0f}) | <= 1.25x | {ratio:.2f}x "
                f"{'(met)' if ratio <= 1.25 else '(missed)'} (CPU time: {cpu_ratio:.2f}x) | "
                f"`{HERE}` cases `analyze`, `models` |"
            )
        t, o, s3 = (analyze[label, b, e, "all"] for b, e in (("torch", "1"), ("onnx", "1"),
                                                             ("onnx", "3")))
        lines.append(
            f"| {label}: fps, ONNX vs torch detector (per frame) | faster | "
            f"{o['fps']:.2f} vs {t['fps']:.2f} ({o['fps'] / t['fps']:.2f}x); per CPU s "
            f"{_cpu_fps(o):.2f} vs {_cpu_fps(t):.2f} ({_cpu_fps(o) / _cpu_fps(t):.2f}x) | "
            f"`{HERE}` |"
        )
        lines.append(
            f"| {label}: fps, detect every 3 vs per frame (ONNX) | >= 2x | {s3['fps']:.2f} "
            f"vs {o['fps']:.2f} = {s3['fps'] / o['fps']:.2f}x "
            f"{'(met)' if s3['fps'] >= 2 * o['fps'] else '(missed)'}; per CPU s "
            f"{_cpu_fps(s3) / _cpu_fps(o):.2f}x; vs the torch per-frame run (the issue's "
            f"baseline): {s3['fps'] / t['fps']:.2f}x | `{HERE}` |"
        )
        for outputs in [o for o in ("ultrafast", "no-overlay")
                        if (label, "onnx", "3", o) in analyze]:
            o, s3 = (analyze[label, "onnx", e, outputs] for e in ("1", "3"))
            lines.append(
                f"| {label}, {OUTPUTS_WORDS[outputs]}: fps, detect every 3 vs per frame "
                f"(ONNX) | >= 2x | {s3['fps']:.2f} vs {o['fps']:.2f} = "
                f"{s3['fps'] / o['fps']:.2f}x "
                f"{'(met)' if s3['fps'] >= 2 * o['fps'] else '(missed)'}; per CPU s "
                f"{_cpu_fps(s3) / _cpu_fps(o):.2f}x | `{HERE}` |"
            )
    every_2 = raw.get("iou_every_2", {})
    for name, r in [*ious.items(), *every_2.items()]:
        lines.append(
            f"| {name}, first {r['frames']} frames: boxes of detect every {r['every']} vs "
            "per frame | "
            f"IoU >= 0.8 | mean IoU {r['mean_iou']:.3f} (0 counted for a box not found; "
            f"{r['matched_mean_iou']:.3f} over found boxes; 5th percentile "
            f"{r['p05_iou']:.2f}; {100 * r['recall_iou_0.5']:.0f}% of boxes found at IoU "
            f">= 0.5; {r['detected']} of {r['frames']} frames detected) | `{HERE}` case "
            "`iou` (`benchmarks/sparse_iou.py`) |"
        )
    s1, s10 = (str(s) for s in raw["seconds"])
    m1, m10 = memory[s1], memory[s10]
    grow = m10["peak_rss_mib"] - m1["peak_rss_mib"]
    per_frame_kib = 1024 * grow / max(m10["frames"] - m1["frames"], 1)
    lines.append(
        f"| peak memory, {s1} s vs {s10} s clip ({m1['frames']} vs {m10['frames']} frames, "
        f"3 athletes, fake models) | no growth beyond the per-frame results | "
        f"{m1['peak_rss_mib']:.0f} vs {m10['peak_rss_mib']:.0f} MiB: +{grow:.0f} MiB, "
        f"{per_frame_kib:.1f} KiB per frame | `{HERE}` case `memory` |"
    )
    sm = sorted(r["smooth_s"] for r in smoothing)
    lines.append(
        f"| `smooth(method=\"kalman\")`, 37 x 3 x 10,000 frames, fresh process (3 runs) | "
        f"< 1 s | {sm[1]:.2f} s median ({sm[0]:.2f}-{sm[2]:.2f}; CPU "
        f"{sorted(r['smooth_cpu_s'] for r in smoothing)[1]:.2f} s) | `{HERE}` case "
        "`smoothing` |"
    )
    notes = ROOT / "benchmarks" / "results" / "run_all_notes.md"
    if notes.is_file():  # the reading of the figures, written by hand after a run
        lines += ["", notes.read_text().strip()]
    if "presets" in raw:
        first = raw["clips"][0].split(" ")[0]
        lines += ["", "## The overlay's encoder preset", "",
                  f"`{HERE}` case `presets`: the overlay pass alone (`render_overlay`: decode "
                  f"again, draw, encode; `--overlay-preset`) on {first}, 3 fake athletes; "
                  "the faster of 2 interleaved runs:", "",
                  "| preset | ms per frame | CPU ms per frame | file MB |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['ms_per_frame']:.1f} | {v['cpu_ms_per_frame']:.1f} | "
                  f"{v['mb']:.1f} |" for k, v in raw["presets"].items()]
    if "threads" in raw:
        lines += ["", "## Detector threads (onnxruntime)", "",
                  f"`{HERE}` case `threads`: the detector's ONNX export alone on a 384x640 "
                  "input while the pose stand-in runs in another thread (as in the "
                  "pipeline), ms per call:", "",
                  "| setting | ms |", "|---|---|"]
        lines += [f"| {k} | {v:.0f} |" for k, v in raw["threads"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer frames; prints only")
    ap.add_argument("--report-only", type=Path, help="format a saved run_all.json again")
    ap.add_argument("--redo-models", type=Path,
                    help="run the analyze and models cases again into a saved run_all.json")
    ap.add_argument("--redo-memory", type=Path,
                    help="run the memory cases again into a saved run_all.json")
    ap.add_argument("--add-outputs", nargs=2, metavar=("JSON", "OUTPUTS"),
                    help="run the analyze setups of one outputs kind (all, ultrafast, "
                    "no-overlay) again into a saved run_all.json")
    ap.add_argument("--redo-iou", type=Path,
                    help="run the iou cases again into a saved run_all.json")
    args = ap.parse_args()
    if args.report_only:
        raw = json.loads(args.report_only.read_text())
    elif args.redo_memory:
        raw = json.loads(args.redo_memory.read_text())
        tmp = Path(tempfile.mkdtemp(prefix="run_all-"))
        raw["memory"] = {str(s): _sub("memory", str(long_clip(tmp / f"loop-{s}s.mp4", s)))
                         for s in raw["seconds"]}
        args.redo_memory.write_text(json.dumps(raw, indent=1, default=str))
    elif args.add_outputs:
        saved = Path(args.add_outputs[0])
        raw = json.loads(saved.read_text())
        tmp = Path(tempfile.mkdtemp(prefix="run_all-"))
        setups = tuple(s for s in SETUPS if s[2] == args.add_outputs[1])
        added, models = model_cases(pose_standin(tmp), CLIPS, setups=setups)
        raw["analyze"].update(added)
        for label, m in models.items():  # the fastest models-alone run, as for analyze
            if m["models_s"] < raw["models"][label]["models_s"]:
                raw["models"][label] = m
        saved.write_text(json.dumps(raw, indent=1, default=str))
    elif args.redo_iou:
        raw = json.loads(args.redo_iou.read_text())
        raw["iou"], raw["iou_every_2"] = iou_cases(IOU_FRAMES)
        args.redo_iou.write_text(json.dumps(raw, indent=1, default=str))
    elif args.redo_models:
        raw = json.loads(args.redo_models.read_text())
        redo_models(raw)
        args.redo_models.write_text(json.dumps(raw, indent=1, default=str))
    else:
        raw = collect(args.quick)
        saved = ROOT / "benchmarks" / "results" / ("run_all_quick.json" if args.quick
                                                   else "run_all.json")
        saved.write_text(json.dumps(raw, indent=1, default=str))
    text = report(raw)
    print(text)
    if not args.quick:
        (ROOT / "benchmarks" / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in CASES:
        print(json.dumps(CASES[sys.argv[1]](*sys.argv[2:]), default=str))
    else:
        main()
