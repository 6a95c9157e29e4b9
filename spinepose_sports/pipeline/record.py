"""``run.json``: what a run did, with which settings, versions and models, and how long
each stage took.  The file itself is written by :mod:`spinepose_sports.results`."""

from __future__ import annotations

import platform
import time
import traceback
from datetime import UTC, datetime
from typing import Any

import xarray as xr

from .. import __version__
from ..config import AnalyzeConfig
from .stages import StageTimer


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"spinepose-sports": __version__, "python": platform.python_version()}
    for dist in ("numpy", "xarray", "opencv-python", "av", "onnxruntime", "ultralytics", "torch"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def started_record(config: AnalyzeConfig, identity: dict[str, Any]) -> dict[str, Any]:
    """The record written when a run starts (``status: running``): the folder then
    belongs to this input, and an interrupted run is never taken for a completed one."""
    return {
        "status": "running",
        **identity,
        "results_key": config.results_key(),
        "started_at": now(),
        "config": config.to_tables(),
    }


def completed_record(
    started: dict[str, Any],
    timer: StageTimer,
    t_start: float,
    *,
    video: dict[str, Any] | None,
    stages: dict[str, Any] | None,
    outputs: dict[str, str],
    poses: xr.Dataset,
    tracking: dict[str, Any] | None,
    warnings: list[str],
    removed: list[str],
) -> dict[str, Any]:
    """The record of a completed run: ``started`` plus what was done and made."""
    total_s = time.perf_counter() - t_start
    n_frames = int(poses.sizes["time"])
    return {
        **started,
        "status": "completed",
        "finished_at": now(),
        "versions": package_versions(),
        "platform": platform.platform(),
        "video": video,
        "models": stages,
        "n_frames": n_frames,
        "tracks": [str(i) for i in poses["individual"].values],
        "timing_s": {k: round(v, 4) for k, v in timer.seconds.items()} | {"total": total_s},
        "timing_ms_per_frame": {
            k: round(1000 * v / max(n_frames, 1), 3) for k, v in timer.seconds.items()
        },
        "outputs": outputs,
        "removed_stale_outputs": removed,
        "tracking": tracking,
        "warnings": warnings,
    }


def failed_record(
    started: dict[str, Any] | None, input_path: str, exc: BaseException, config: AnalyzeConfig
) -> dict[str, Any]:
    """The record of a failed run, with the error and its traceback."""
    return {
        **(started or {"input": input_path, "config": config.to_tables()}),
        "status": "failed",
        "finished_at": now(),
        "error": str(exc) or type(exc).__name__,
        "error_type": type(exc).__name__,
        "traceback": traceback.format_exc(),
    }


def run_warnings(
    poses: xr.Dataset, config: AnalyzeConfig, n_tracker_ids: int | None = None
) -> list[str]:
    """Things a user should know about a completed run.

    ``n_tracker_ids``: tracks the tracker found before stitching, filtering and
    selection; when it is positive and no track is left, those steps dropped them all, and
    the warning says which setting did (the clip being shorter than ``--min-track``
    first), not the detector."""
    if poses.sizes["individual"] > 0:
        return []
    if n_tracker_ids:
        return [_all_dropped(poses, config, n_tracker_ids)]
    classes = ",".join(map(str, config.detector.person_classes))
    return [
        f"no person was tracked: check --person-classes (now {classes}) and --det-conf "
        f"(now {config.detector.det_conf}); the outputs hold no track"
    ]


def _all_dropped(poses: xr.Dataset, config: AnalyzeConfig, n_found: int) -> str:
    tracks = config.tracks
    times = poses["time"].values
    fps = float(poses.attrs.get("fps") or 0.0)
    clip_s = (len(times) / fps) if fps > 0 else float(times[-1] - times[0]) if len(times) else 0.0
    found = f"the tracker found {n_found} track(s) but none is left"
    if tracks.athletes:
        return f"{found} after --athletes {tracks.athletes}; the outputs hold no track"
    if tracks.filter_tracks and 0 < clip_s < tracks.min_track:
        return (
            f"{found}: the clip is {clip_s:.2f} s long, shorter than the track filter's "
            f"minimum track duration (--min-track {tracks.min_track:g} s), so every track "
            "was dropped; lower --min-track (e.g. --min-track 0) or pass --no-filter-tracks"
        )
    return (
        f"{found}: the track filter dropped every one (reasons in run.json 'tracking'); "
        "loosen --min-track, --min-track-height, --min-track-motion or "
        "--min-track-confidence, or pass --no-filter-tracks"
    )


__all__ = ["completed_record", "failed_record", "package_versions", "run_warnings"]
