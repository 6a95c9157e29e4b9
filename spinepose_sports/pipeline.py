"""The pipeline: wires the stages together; draws and plots nothing itself.

video ─► frames (streamed) ─► track ─► pose per track ─► [smooth ─► kinematics] ─► save
─► overlay (second streamed pass over the video, drawing the saved results).

One results folder per video: ``<output_dir>/<video stem>/`` with ``poses.nc`` (raw
keypoints), ``boxes.nc``, ``keypoints.csv``, ``overlay.mp4`` and ``run.json``; later stages
add their files.  ``run.json`` is written last, with ``"status": "completed"``, so a folder
without it (or with ``"failed"``) is an unfinished video that a resumed batch redoes.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import xarray as xr

from . import __version__
from .data import (
    FrameDetections,
    FramePoses,
    TrackAccumulator,
    load_netcdf,
    load_poses,
    save_keypoints_csv,
    save_netcdf,
)
from .skeleton import MIN_KEYPOINT_CONFIDENCE
from .video import VideoInfo, probe, read_frames

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
POSES_FILE, BOXES_FILE, CSV_FILE = "poses.nc", "boxes.nc", "keypoints.csv"
SMOOTHED_FILE = "poses_smoothed.nc"
TRACKER_POSES_FILE, TRACKER_BOXES_FILE = "tracker_poses.nc", "tracker_boxes.nc"
OVERLAY_FILE, RUN_FILE = "overlay.mp4", "run.json"


class Tracker(Protocol):
    """The tracking stage: boxes with track ids per frame."""

    def update(self, frame: np.ndarray, /) -> FrameDetections: ...
    def reset(self) -> None: ...
    def describe(self) -> dict[str, Any]: ...


class PoseEstimator(Protocol):
    """The pose stage: ``(frame, xyxy (n,4)) -> (xy (n,37,2), score (n,37))``."""

    def __call__(self, frame: np.ndarray, xyxy: np.ndarray, /) -> tuple[np.ndarray, np.ndarray]: ...
    def describe(self) -> dict[str, Any]: ...


@dataclass
class AnalyzeConfig:
    """Every parameter of an ``analyze`` run (recorded in ``run.json``)."""

    output_dir: Path = Path("results")
    detector_weights: str = "yolo11n.pt"
    tracker: str = "bytetrack"
    person_classes: tuple[int, ...] = (0,)
    detector_confidence: float = 0.1
    detector_iou: float = 0.7
    detector_imgsz: int = 640
    device: str | None = None
    tracker_options: dict[str, Any] = field(default_factory=dict)
    pose_model: str = "m"
    model_version: str = "v2"
    model_dir: Path | None = None
    channel_order: Literal["rgb", "bgr"] = "rgb"
    start_s: float | None = None
    end_s: float | None = None
    stitch: bool = True
    max_gap_s: float = 1.5
    filter_tracks: bool = True
    min_track_s: float = 0.5
    min_track_height: float = 0.03
    min_track_motion: float = 0.1
    min_track_confidence: float = 0.2
    athletes: str | None = None
    names: str | None = None
    smoothing: str = "kalman"
    kinematics: bool = True
    view: str = "auto"
    facing: str = "auto"
    dashboard: bool = True
    overlay: bool = True
    overlay_min_score: float = 0.3
    overlay_preset: str = "veryfast"
    skip_completed: bool = False
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


@dataclass
class Stages:
    """The loaded models, reused across the videos of a batch."""

    tracker: Tracker
    pose: PoseEstimator

    def describe(self) -> dict[str, Any]:
        return {"detector": self.tracker.describe(), "pose_model": self.pose.describe()}


@dataclass
class StageTimer:
    """Wall-clock seconds spent per stage."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def timed(self, stage: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            self.add(stage, time.perf_counter() - t0)


@dataclass
class VideoResult:
    """The outcome of one input of a batch."""

    input_path: Path
    output_dir: Path | None
    status: str  # "completed", "failed" or "skipped"
    error: str | None = None
    n_frames: int = 0
    n_tracks: int = 0
    n_tracker_ids: int | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Loading the stages
# --------------------------------------------------------------------------------------


def load_stages(config: AnalyzeConfig) -> Stages:
    """Resolve and load the pose model first (fails fast when it can't be had), then the
    detector.  Raises the stages' own errors (ModelDownloadError, PoseModelError,
    DetectorError) with messages meant for users."""
    from .detection import YoloTracker
    from .pose import SpinePoseEstimator, resolve_model

    model_file = resolve_model(
        config.pose_model,
        config.model_version,
        model_dir=config.model_dir,
        progress=config.progress,
    )
    pose = SpinePoseEstimator(model_file.path, channel_order=config.channel_order)
    tracker = YoloTracker(
        config.detector_weights,
        tracker=config.tracker,
        person_classes=config.person_classes,
        conf=config.detector_confidence,
        iou=config.detector_iou,
        imgsz=config.detector_imgsz,
        device=config.device,
        tracker_overrides=config.tracker_options,
    )
    return Stages(tracker=tracker, pose=pose)


# --------------------------------------------------------------------------------------
# One video
# --------------------------------------------------------------------------------------


def _progress_bar(total: int | None, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="frame", disable=not enabled, dynamic_ncols=True)


def track_and_estimate(
    video_path: Path,
    info: VideoInfo,
    stages: Stages,
    timer: StageTimer,
    config: AnalyzeConfig,
) -> tuple[TrackAccumulator, Any]:
    """Stream the video once: track every frame, estimate the pose of every track.

    Returns the per-frame results and the per-track torso colour descriptors
    (an ``AppearanceCollector``, for stitching).

    Only the per-frame results are kept (boxes, keypoints); every frame is dropped as soon
    as its stages are done.
    """
    from .tracking import AppearanceCollector, torso_descriptor

    stages.tracker.reset()
    results = TrackAccumulator()
    appearance = AppearanceCollector()
    frames = iter(read_frames(video_path, start_s=config.start_s, end_s=config.end_s))
    total = _expected_frames(info, config)
    with _progress_bar(total, f"track+pose {video_path.name}", config.progress) as bar:
        while True:
            t0 = time.perf_counter()
            frame = next(frames, None)
            timer.add("decode", time.perf_counter() - t0)
            if frame is None:
                break
            dets = timer.timed("detect_track", stages.tracker.update, frame.image)
            poses = None
            if len(dets):
                xy, score = timer.timed("pose", stages.pose, frame.image, dets.xyxy)
                poses = FramePoses(xy=xy, score=score, track_id=dets.track_id)
                confident_xy = np.where(score[..., None] >= MIN_KEYPOINT_CONFIDENCE, xy, np.nan)
                descriptors = timer.timed(
                    "appearance", torso_descriptor, frame.image, dets.xyxy, confident_xy
                )
                appearance.add(frame.index, dets.track_id, descriptors)
            results.add(frame.time_s, frame.index, dets, poses)
            bar.update(1)
            bar.set_postfix(tracks=len(dets), refresh=False)
    if len(results) == 0:
        raise ValueError(f"{video_path}: no frame in the requested time range")
    return results, appearance


def _expected_frames(info: VideoInfo, config: AnalyzeConfig) -> int:
    start = max(config.start_s or 0.0, 0.0)
    end = min(config.end_s if config.end_s is not None else info.duration_s, info.duration_s)
    if start == 0.0 and end >= info.duration_s:
        return info.frame_count
    return max(round((end - start) * info.fps), 0)


def _dataset_attrs(video_path: Path, info: VideoInfo, stages: Stages) -> dict[str, Any]:
    pose_info = stages.pose.describe()
    return {
        "fps": info.fps,
        "source_file": str(video_path),
        "frame_width": info.width,
        "frame_height": info.height,
        "pose_model": Path(str(pose_info.get("path", ""))).name,
        "pose_model_sha256": str(pose_info.get("sha256", "")),
        "detector": str(stages.tracker.describe().get("weights", "")),
        "tracker": str(stages.tracker.describe().get("tracker", "")),
    }


def results_dir_for(source_file: str | Path, output_dir: Path) -> Path:
    """``<output_dir>/<video stem>/``."""
    return Path(output_dir) / Path(source_file).stem


def analyze_video(video_path: str | Path, config: AnalyzeConfig, stages: Stages) -> VideoResult:
    """Run every stage on one video and write its results folder.  Raises on failure."""
    video_path = Path(video_path)
    t_start = time.perf_counter()
    info = probe(video_path)
    timer = StageTimer()
    acc, appearance = track_and_estimate(video_path, info, stages, timer, config)
    attrs = _dataset_attrs(video_path, info, stages)
    poses = acc.to_poses(**attrs)
    boxes = acc.to_boxes(**attrs)
    n_tracker_ids = poses.sizes["individual"]
    out_dir = results_dir_for(video_path, config.output_dir)
    tracking: dict[str, Any] | None = None
    if n_tracker_ids and (config.stitch or config.filter_tracks or config.athletes or config.names):
        # the online tracker's own output, kept so that nothing is lost
        save_netcdf(poses, out_dir / TRACKER_POSES_FILE)
        save_netcdf(boxes, out_dir / TRACKER_BOXES_FILE)
        poses, boxes, tracking = timer.timed(
            "stitch_filter", postprocess, poses, boxes, appearance.to_dataarray(boxes), config
        )
    outputs = finish_from_poses(poses, boxes, out_dir, config, timer, save_raw=True)
    run = _run_record(
        config,
        timer,
        t_start,
        input_path=video_path,
        video=info.to_dict(),
        stages=stages.describe(),
        outputs=outputs,
        poses=poses,
    )
    run["tracking"] = tracking
    warnings = _warnings(poses, config)
    run["warnings"] = warnings
    _write_run_json(out_dir, run)
    return VideoResult(
        video_path,
        out_dir,
        "completed",
        n_frames=len(acc),
        n_tracks=poses.sizes["individual"],
        n_tracker_ids=n_tracker_ids,
        seconds=time.perf_counter() - t_start,
        warnings=warnings,
    )


def quality_params(config: AnalyzeConfig) -> Any:
    """The track quality thresholds of ``config`` (:class:`~.tracking.QualityParams`);
    a threshold of 0 turns its test off."""
    from .tracking import QualityParams

    def _on(value: float) -> float | None:
        return float(value) if value > 0 else None

    return QualityParams(
        min_seen_s=_on(config.min_track_s),
        min_height=_on(config.min_track_height),
        min_motion=_on(config.min_track_motion),
        min_confidence=_on(config.min_track_confidence),
    )


def postprocess(
    poses: xr.Dataset,
    boxes: xr.Dataset,
    appearance: xr.DataArray | None,
    config: AnalyzeConfig,
) -> tuple[xr.Dataset, xr.Dataset, dict[str, Any]]:
    """Stitch fragments, filter poor tracks, select and name athletes (``tracking``)."""
    from .tracking import StitchParams, parse_names, postprocess_tracks

    stitch = StitchParams(max_gap_s=config.max_gap_s) if config.stitch else None
    quality = quality_params(config) if config.filter_tracks else None
    names = parse_names(config.names) if config.names else None
    new_poses, new_boxes, report = postprocess_tracks(
        poses,
        boxes,
        appearance,
        stitch=stitch,
        quality=quality,
        select=config.athletes,
        names=names,
    )
    assert new_poses is not None
    return new_poses, new_boxes, report


def _warnings(poses: xr.Dataset, config: AnalyzeConfig) -> list[str]:
    """Things a user should know about a completed run."""
    if poses.sizes["individual"] == 0:
        return [
            "no person was tracked: check --person-classes "
            f"(now {','.join(map(str, config.person_classes))}) and --det-conf "
            f"(now {config.detector_confidence}); the outputs hold no track"
        ]
    return []


def finish_from_poses(
    poses: xr.Dataset,
    boxes: xr.Dataset | None,
    out_dir: Path,
    config: AnalyzeConfig,
    timer: StageTimer,
    *,
    save_raw: bool,
) -> dict[str, str]:
    """Everything after the pose stage: save the raw poses, smooth, kinematics, overlay.

    ``keypoints.csv``, the kinematics and the overlay use the smoothed poses (the raw
    ones with ``smoothing="none"``).

    Returns the written files by role.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, str] = {}
    t0 = time.perf_counter()
    if save_raw:
        outputs["poses"] = str(save_netcdf(poses, out_dir / POSES_FILE))
        if boxes is not None:
            outputs["boxes"] = str(save_netcdf(boxes, out_dir / BOXES_FILE))
    timer.add("save", time.perf_counter() - t0)
    analysed = poses
    if config.smoothing != "none":
        from .smoothing import smooth

        analysed = timer.timed("smooth", smooth, poses, method=config.smoothing)
        outputs["poses_smoothed"] = str(save_netcdf(analysed, out_dir / SMOOTHED_FILE))
    else:
        (out_dir / SMOOTHED_FILE).unlink(missing_ok=True)  # never a stale smoothed file
    t0 = time.perf_counter()
    outputs["keypoints_csv"] = str(save_keypoints_csv(analysed, out_dir / CSV_FILE))
    timer.add("save", time.perf_counter() - t0)
    kin = None
    if config.kinematics:
        kin, written = _kinematics(analysed, out_dir, config, timer)
        outputs.update(written)
        if config.dashboard:
            outputs["dashboard"] = str(_dashboard(out_dir, timer))
    if config.overlay:
        outputs["overlay"] = str(_render(analysed, boxes, kin, out_dir, config, timer))
    return outputs


def _dashboard(out_dir: Path, timer: StageTimer) -> Path:
    from .plots import write_dashboard

    return timer.timed("dashboard", write_dashboard, out_dir)


def _kinematics(
    poses: xr.Dataset, out_dir: Path, config: AnalyzeConfig, timer: StageTimer
) -> tuple[xr.Dataset, dict[str, str]]:
    from .kinematics import compute_kinematics, save_kinematics

    kin = timer.timed(
        "kinematics", compute_kinematics, poses, view=config.view, facing=config.facing
    )
    t0 = time.perf_counter()
    written = save_kinematics(kin, out_dir)
    timer.add("save", time.perf_counter() - t0)
    return kin, {role: str(path) for role, path in written.items()}


def _render(
    poses: xr.Dataset,
    boxes: xr.Dataset | None,
    kin: xr.Dataset | None,
    out_dir: Path,
    config: AnalyzeConfig,
    timer: StageTimer,
) -> Path:
    from .render import render_overlay
    from .tracking import names_of

    source = Path(str(poses.attrs["source_file"]))
    total = int(poses.sizes["time"])
    with _progress_bar(total, f"overlay {source.name}", config.progress) as bar:
        return timer.timed(
            "render_overlay",
            render_overlay,
            source,
            poses,
            out_dir / OVERLAY_FILE,
            boxes=boxes,
            kinematics=kin,
            names=names_of(poses) or None,
            min_score=config.overlay_min_score,
            preset=config.overlay_preset,
            on_frame=lambda _i: bar.update(1),
        )


def _only_select(config: AnalyzeConfig) -> AnalyzeConfig:
    """The config with stitching and filtering off (already done on saved results)."""
    from dataclasses import replace

    return replace(config, stitch=False, filter_tracks=False)


def analyze_poses_file(poses_path: str | Path, config: AnalyzeConfig) -> VideoResult:
    """Re-run everything after the pose stage from a saved ``poses.nc`` (no models)."""
    poses_path = Path(poses_path)
    t_start = time.perf_counter()
    poses = load_poses(poses_path)
    boxes_path = poses_path.with_name(BOXES_FILE)
    boxes = load_netcdf(boxes_path) if boxes_path.is_file() else None
    tracking = None
    if boxes is not None and (config.athletes or config.names):
        poses, boxes, tracking = postprocess(poses, boxes, None, _only_select(config))
    out_dir = results_dir_for(poses.attrs["source_file"], config.output_dir)
    # never overwrite the saved poses.nc it was read from (a selection would lose tracks)
    save_raw = out_dir.resolve() != poses_path.parent.resolve()
    timer = StageTimer()
    outputs = finish_from_poses(poses, boxes, out_dir, config, timer, save_raw=save_raw)
    run = _run_record(
        config,
        timer,
        t_start,
        input_path=poses_path,
        video=None,
        stages=None,
        outputs=outputs,
        poses=poses,
    )
    run["tracking"] = tracking
    _write_run_json(out_dir, run)
    return VideoResult(
        poses_path,
        out_dir,
        "completed",
        n_frames=poses.sizes["time"],
        n_tracks=poses.sizes["individual"],
        seconds=time.perf_counter() - t_start,
    )


# --------------------------------------------------------------------------------------
# run.json
# --------------------------------------------------------------------------------------


def _package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"spinepose-sports": __version__, "python": platform.python_version()}
    for dist in ("numpy", "xarray", "opencv-python", "av", "onnxruntime", "ultralytics", "torch"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _run_record(
    config: AnalyzeConfig,
    timer: StageTimer,
    t_start: float,
    *,
    input_path: Path,
    video: dict[str, Any] | None,
    stages: dict[str, Any] | None,
    outputs: dict[str, str],
    poses: xr.Dataset,
) -> dict[str, Any]:
    total_s = time.perf_counter() - t_start
    n_frames = int(poses.sizes["time"])
    return {
        "status": "completed",
        "input": str(input_path),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _package_versions(),
        "platform": platform.platform(),
        "parameters": config.to_dict(),
        "video": video,
        "models": stages,
        "n_frames": n_frames,
        "tracks": [str(i) for i in poses["individual"].values],
        "timing_s": {k: round(v, 4) for k, v in timer.seconds.items()} | {"total": total_s},
        "timing_ms_per_frame": {
            k: round(1000 * v / max(n_frames, 1), 3) for k, v in timer.seconds.items()
        },
        "outputs": outputs,
    }


def _write_run_json(out_dir: Path, record: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RUN_FILE
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    tmp.replace(path)
    return path


def is_completed(out_dir: Path) -> bool:
    """True when ``out_dir/run.json`` records a completed run."""
    try:
        return json.loads((out_dir / RUN_FILE).read_text()).get("status") == "completed"
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------


def expand_inputs(paths: Iterable[str | Path]) -> list[Path]:
    """Video files and ``poses.nc`` files as given; folders expanded to their videos
    (sorted, not recursive).  Paths that do not exist are kept, to be reported."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(c for c in p.iterdir() if c.suffix.lower() in VIDEO_SUFFIXES))
        else:
            out.append(p)
    return out


def _fail(input_path: Path, exc: BaseException, config: AnalyzeConfig) -> VideoResult:
    out_dir = results_dir_for(input_path, config.output_dir)
    message = str(exc) or type(exc).__name__
    if out_dir.is_dir():
        _write_run_json(
            out_dir,
            {
                "status": "failed",
                "input": str(input_path),
                "error": message,
                "error_type": type(exc).__name__,
                "parameters": config.to_dict(),
                "traceback": traceback.format_exc(),
            },
        )
    return VideoResult(input_path, out_dir, "failed", error=message)


def analyze_batch(
    inputs: Sequence[Path],
    config: AnalyzeConfig,
    *,
    load: Callable[[AnalyzeConfig], Stages] = load_stages,
    on_result: Callable[[VideoResult], None] | None = None,
) -> list[VideoResult]:
    """Analyze every input; one bad file never stops the batch.

    Videos are probed before the models load, so bad files are reported at once and a
    batch with no usable video loads nothing.  Models load once, on the first video that
    needs them; a model that cannot load fails every video that needs it (raised, since
    nothing could succeed).  ``poses.nc`` inputs need no model.
    """
    results: list[VideoResult] = []
    stages: Stages | None = None

    def report(r: VideoResult) -> None:
        results.append(r)
        if on_result is not None:
            on_result(r)

    for path in inputs:
        out_dir = _output_dir_of(path, config)
        if config.skip_completed and out_dir is not None and is_completed(out_dir):
            report(VideoResult(path, out_dir, "skipped"))
            continue
        try:
            if path.suffix == ".nc":
                report(analyze_poses_file(path, config))
                continue
            probe(path)  # bad input fails here, before any model loads
            if stages is None:
                stages = load(config)
            report(analyze_video(path, config, stages))
        except (KeyboardInterrupt, MemoryError):
            raise
        except _model_errors():
            raise
        except Exception as exc:  # one bad file never stops the batch
            report(_fail(path, exc, config))
    return results


def _output_dir_of(path: Path, config: AnalyzeConfig) -> Path | None:
    if path.suffix == ".nc":
        return None
    return results_dir_for(path, config.output_dir)


def _model_errors() -> tuple[type[BaseException], ...]:
    """Errors that no later input can avoid: a model that cannot be had."""
    from .detection import DetectorError
    from .pose import ModelDownloadError, PoseModelError

    return (ModelDownloadError, PoseModelError, DetectorError)


def print_summary(results: Sequence[VideoResult], stream: Any = sys.stderr) -> None:
    """One line per input: status, frames, tracks, time or the error."""
    for r in results:
        if r.status == "completed":
            ids = f" (tracker ids: {r.n_tracker_ids})" if r.n_tracker_ids is not None else ""
            line = (
                f"done    {r.input_path}: {r.n_frames} frames, {r.n_tracks} tracks{ids}, "
                f"{r.seconds:.1f} s -> {r.output_dir}"
            )
            line += "".join(f"\n        warning: {w}" for w in r.warnings)
        elif r.status == "skipped":
            line = f"skipped {r.input_path}: already completed in {r.output_dir}"
        else:
            line = f"failed  {r.input_path}: {r.error}"
        print(line, file=stream)
