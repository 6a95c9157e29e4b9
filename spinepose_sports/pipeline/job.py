"""One input: a video through every stage, or a saved ``poses.nc`` through the chain
after the pose stage.  Each writes its results folder and its ``run.json``.

A run writes into a staging folder (:class:`~..results.StagedRun`) and swaps it in when
it completes, so the results folder holds the previous run or this one, never a mix.
When a stage fails after earlier stages saved their outputs (the overlay after the
poses), those outputs are published with a ``failed`` ``run.json`` that lists them:
finished work is never lost.  An interrupted run (Ctrl-C, SIGTERM) publishes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..config import AnalyzeConfig
from ..data import load_netcdf, load_poses, save_netcdf
from ..results import (
    BOXES_FILE,
    OUTPUTS,
    TRACKER_BOXES_FILE,
    TRACKER_POSES_FILE,
    StagedRun,
    input_identity,
    link_or_copy,
    stale_outputs,
    write_run,
)
from ..video import VideoInfo, probe
from .cache import RawResults, cached_raw_results
from .chain import finish_from_poses, postprocess_tracks, wants_track_postprocessing
from .record import completed_record, failed_record, run_warnings, started_record
from .stages import Stages, StageTimer
from .stream import track_and_estimate


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


class RunStarted:
    """What a run has done so far: its ``run.json`` record once started, and the outputs
    written (role -> file name), for the failure record."""

    def __init__(self) -> None:
        self.record: dict[str, Any] | None = None
        self.made: dict[str, str] = {}


class StageFailedError(RuntimeError):
    """A stage failed after earlier stages' outputs were saved; they were published."""


def _publish_failure(
    stage: StagedRun, state: RunStarted, input_path: Path, exc: Exception, config: AnalyzeConfig
) -> Exception:
    """Publish what a failed run finished (or, for a folder's first run, its ``run.json``
    alone); the previous results stay when nothing was finished.  Returns the error to
    raise: with the kept outputs named when there are any."""
    if state.record is None:
        return exc
    record = failed_record(state.record, str(input_path), exc, config)
    record["outputs"] = dict(state.made)
    write_run(stage.path, record)
    if state.made or not stage.folder.exists():
        stage.publish()
    if not state.made:
        return exc
    kept = ", ".join(sorted(state.made.values()))
    return StageFailedError(f"{exc} (the outputs finished before it are kept in "
                            f"{stage.folder}: {kept})")


def _staged(
    folder: Path, input_path: Path, config: AnalyzeConfig, state: RunStarted | None,
    body: Any,
) -> VideoResult:
    """Run ``body(staging path, state)`` in a staging folder for ``folder``; publish it when
    ``body`` returns, publish the finished outputs when it raises, discard it when it is
    interrupted."""
    state = state if state is not None else RunStarted()
    with StagedRun(folder) as stage:
        try:
            result: VideoResult = body(stage.path, state)
        except Exception as exc:
            error = _publish_failure(stage, state, input_path, exc, config)
            if error is exc:
                raise
            raise error from exc
        stage.publish()
    return result


def _dataset_attrs(video_path: Path, info: VideoInfo, stages: Stages) -> dict[str, Any]:
    pose_info = stages.pose.describe()
    detector = stages.tracker.describe()
    return {
        "fps": info.fps,
        "source_file": str(video_path),
        "frame_width": info.width,
        "frame_height": info.height,
        "pose_model": Path(str(pose_info.get("path", ""))).name,
        "pose_model_sha256": str(pose_info.get("sha256", "")),
        "detector": str(detector.get("weights", "")),
        "tracker": str(detector.get("tracker", "")),
    }


def _stream(
    video_path: Path, info: VideoInfo, stages: Stages | Callable[[], Stages],
    timer: StageTimer, config: AnalyzeConfig, progress: bool, warnings: list[str],
) -> RawResults:
    """The streaming pass with the models (loaded now when ``stages`` is a loader);
    decoding problems are appended to ``warnings``."""
    stages = stages() if callable(stages) else stages
    acc, appearance = track_and_estimate(
        video_path, info, stages, timer, config, progress=progress, warnings=warnings
    )
    attrs = _dataset_attrs(video_path, info, stages)
    poses, boxes = acc.to_poses(**attrs), acc.to_boxes(**attrs)
    looks = appearance.to_dataarray(boxes) if poses.sizes["individual"] else None
    return RawResults(poses, boxes, looks, stages.describe())


def _tracks(
    raw: RawResults, staging: Path, config: AnalyzeConfig, timer: StageTimer,
    made: dict[str, str],
) -> tuple[xr.Dataset, xr.Dataset, dict[str, Any] | None]:
    """The tracks of ``raw`` stitched, filtered, selected and named as configured (the
    online tracker's own output saved first, so that nothing is lost), with the
    tracking report; ``raw``'s own when nothing is configured."""
    if not (raw.poses.sizes["individual"] and wants_track_postprocessing(config)):
        return raw.poses, raw.boxes, None
    made["tracker_poses"] = save_netcdf(raw.poses, staging / TRACKER_POSES_FILE).name
    made["tracker_boxes"] = save_netcdf(raw.boxes, staging / TRACKER_BOXES_FILE).name
    poses, boxes, tracking = timer.timed(
        "stitch_filter", postprocess_tracks, raw.poses, raw.boxes, raw.appearance, config,
    )
    return poses, boxes, tracking


def analyze_video(
    video_path: str | Path,
    folder: Path,
    config: AnalyzeConfig,
    stages: Stages | Callable[[], Stages],
    *,
    progress: bool = True,
    started: RunStarted | None = None,
) -> VideoResult:
    """Run every stage on one video and publish its results ``folder``.  Raises on failure
    (after publishing the outputs finished before it)."""
    video_path = Path(video_path)
    t_start = time.perf_counter()
    info = probe(video_path)
    identity = {"input": str(video_path), **input_identity(video_path, folder)}

    def body(staging: Path, state: RunStarted) -> VideoResult:
        record = state.record = started_record(config, identity)
        write_run(staging, record)
        timer = StageTimer()
        decode_warnings: list[str] = []
        # stage cache (club-batch): the models run only when the cache lacks this video
        raw = cached_raw_results(
            video_path, identity["input_sha256"], config,
            lambda: _stream(video_path, info, stages, timer, config, progress, decode_warnings),
        )
        models, cache = raw.models, raw.cache
        made = state.made
        n_tracker_ids = raw.poses.sizes["individual"]
        poses, boxes, tracking = _tracks(raw, staging, config, timer, made)
        del raw  # the online tracker's copies (saved): not held through the chain
        notes: dict[str, Any] = {}  # run.json entries of the chain: calibration, exports
        finish_from_poses(
            poses, boxes, staging, config, timer, save_raw=True, progress=progress, made=made,
            record=notes,
        )
        warnings = (decode_warnings + run_warnings(poses, config, n_tracker_ids)
                    + notes.pop("warnings", []))
        write_run(staging, completed_record(
            record, timer, t_start, video=info.to_dict(), stages=models,
            outputs=made, poses=poses, tracking=tracking, warnings=warnings,
            removed=stale_outputs(folder, made),
        ) | notes | {"stage_cache": cache})
        return VideoResult(
            video_path, folder, "completed", n_frames=int(poses.sizes["time"]),
            n_tracks=poses.sizes["individual"], n_tracker_ids=n_tracker_ids,
            seconds=time.perf_counter() - t_start, warnings=warnings,
        )

    return _staged(folder, video_path, config, started, body)


def _in_time_range(ds: xr.Dataset, config: AnalyzeConfig) -> xr.Dataset:
    """``ds`` cut to ``[start, end)`` s of the configuration."""
    start, end = config.input.start, config.input.end
    if start is None and end is None:
        return ds
    t = np.asarray(ds["time"].values, dtype=float)
    keep = (t >= (start if start is not None else -np.inf)) & (
        t < (end if end is not None else np.inf)
    )
    if not keep.any():
        raise ValueError(f"no frame in the requested time range [{start}, {end}) s")
    return ds.isel(time=np.flatnonzero(keep))


def source_of_poses(poses_path: Path) -> Path:
    """The source video a saved ``poses.nc`` belongs to (its results folder's owner, else
    the recorded ``source_file``), resolved."""
    from ..interrupts import held_interrupts
    from ..results import owner_of

    owner = owner_of(poses_path.parent)
    if owner is not None:
        return owner
    with held_interrupts(), xr.open_dataset(poses_path) as ds:
        return Path(str(ds.attrs.get("source_file", poses_path))).resolve()


def analyze_poses_file(
    poses_path: str | Path,
    folder: Path,
    config: AnalyzeConfig,
    *,
    progress: bool = True,
    started: RunStarted | None = None,
) -> VideoResult:
    """Re-run everything after the pose stage from a saved ``poses.nc`` (no models).

    ``--start``/``--end`` cut the saved poses; ``--athletes``/``--names`` select and
    name tracks (stitching and filtering were done when the poses were saved)."""
    poses_path = Path(poses_path)
    t_start = time.perf_counter()
    poses = _in_time_range(load_poses(poses_path), config)
    boxes_path = poses_path.with_name(BOXES_FILE)
    boxes = _in_time_range(load_netcdf(boxes_path), config) if boxes_path.is_file() else None
    same_folder = folder.resolve() == poses_path.parent.resolve()
    identity = {"input": str(poses_path), **input_identity(poses_path, folder),
                "source_resolved": str(source_of_poses(poses_path))}

    def body(staging: Path, state: RunStarted) -> VideoResult:
        record = state.record = started_record(config, identity)
        write_run(staging, record)
        made = state.made
        if same_folder:  # the inputs of this run stay: they are its source
            for role in ("poses", "boxes", "tracker_poses", "tracker_boxes"):
                if (folder / OUTPUTS[role]).is_file():
                    link_or_copy(folder / OUTPUTS[role], staging / OUTPUTS[role])
                    made[role] = OUTPUTS[role]
        tracking = None
        selected, kept_boxes = poses, boxes
        if boxes is not None and (config.tracks.athletes or config.tracks.names):
            selected, kept_boxes, tracking = postprocess_tracks(
                poses, boxes, None, config, stitch=False, filter_tracks=False
            )
        # never overwrite the saved poses it was read from (a selection would lose tracks)
        timer = StageTimer()
        notes: dict[str, Any] = {}  # run.json entries of the chain: calibration, exports
        finish_from_poses(
            selected, kept_boxes, staging, config, timer, save_raw=not same_folder,
            progress=progress, made=made, record=notes,
        )
        warnings = notes.pop("warnings", [])
        write_run(staging, completed_record(
            record, timer, t_start, video=None, stages=None, outputs=made, poses=selected,
            tracking=tracking, warnings=warnings, removed=stale_outputs(folder, made),
        ) | notes)
        return VideoResult(
            poses_path, folder, "completed", n_frames=selected.sizes["time"],
            n_tracks=selected.sizes["individual"], seconds=time.perf_counter() - t_start,
            warnings=warnings,
        )

    return _staged(folder, poses_path, config, started, body)


__all__ = [
    "RunStarted",
    "StageFailedError",
    "VideoResult",
    "analyze_poses_file",
    "analyze_video",
    "source_of_poses",
]
