"""The post-processing chain: everything after the pose stage.

tracks (stitch, filter, select, name) ─► save ─► smooth ─► kinematics ─► metric (when
calibrated, :mod:`.units`) ─► dashboard ─► exports ─► overlay.  Each step writes its
outputs into the results folder through :mod:`spinepose_sports.results` (atomically) and
returns the file names it made.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..config import AnalyzeConfig
from ..data import save_keypoints_csv, save_netcdf
from ..results import OUTPUTS
from .stages import StageTimer
from .stream import progress_bar
from .units import calibrate, calibration_of, save_metric, write_exports


def quality_params(config: AnalyzeConfig) -> Any:
    """The track quality thresholds of ``config`` (:class:`~..tracking.QualityParams`);
    a threshold of 0 turns its test off."""
    from ..tracking import QualityParams

    def _on(value: float) -> float | None:
        return float(value) if value > 0 else None

    tracks = config.tracks
    return QualityParams(
        min_seen_s=_on(tracks.min_track),
        min_height=_on(tracks.min_track_height),
        min_motion=_on(tracks.min_track_motion),
        min_confidence=_on(tracks.min_track_confidence),
    )


def postprocess_tracks(
    poses: xr.Dataset,
    boxes: xr.Dataset,
    appearance: xr.DataArray | None,
    config: AnalyzeConfig,
    *,
    stitch: bool | None = None,
    filter_tracks: bool | None = None,
) -> tuple[xr.Dataset, xr.Dataset, dict[str, Any]]:
    """Stitch fragments, filter poor tracks, select and name athletes (``tracking``).

    stitch, filter_tracks: override the configuration's (off for saved results, where
    both were done already)."""
    from ..tracking import StitchParams, parse_names
    from ..tracking import postprocess_tracks as run_tracks

    tracks = config.tracks
    do_stitch = tracks.stitch if stitch is None else stitch
    do_filter = tracks.filter_tracks if filter_tracks is None else filter_tracks
    new_poses, new_boxes, report = run_tracks(
        poses,
        boxes,
        appearance,
        stitch=StitchParams(
            max_gap_s=tracks.max_gap, min_keypoint_score=config.pose.min_keypoint_confidence
        ) if do_stitch else None,
        quality=quality_params(config) if do_filter else None,
        select=tracks.athletes,
        names=parse_names(tracks.names) if tracks.names else None,
    )
    assert new_poses is not None
    return new_poses, new_boxes, report


def wants_track_postprocessing(config: AnalyzeConfig) -> bool:
    t = config.tracks
    return bool(t.stitch or t.filter_tracks or t.athletes or t.names)


def finish_from_poses(
    poses: xr.Dataset,
    boxes: xr.Dataset | None,
    folder: Path,
    config: AnalyzeConfig,
    timer: StageTimer,
    *,
    save_raw: bool,
    progress: bool = True,
    made: dict[str, str] | None = None,
    record: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Save the poses, smooth, compute the kinematics and (when calibrated) the metric
    data, write the dashboard, the exports and the overlay.

    ``keypoints.csv``, the kinematics, the metric data, the exports and the overlay use
    the smoothed poses (the raw ones with ``smoothing = "none"``).  Returns the written
    files: role -> file name.  ``made``: a dict filled in as each file is written (so
    that, when a later step fails, the caller knows which finished outputs to keep).
    ``record``, when given, receives this chain's entries of ``run.json``:
    ``calibration`` (when calibrated), ``exports`` (when exported) and ``warnings``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    made = {} if made is None else made
    saved: dict[str, xr.Dataset] = {}  # role -> the dataset its file was written from

    def save(role: str, ds: xr.Dataset) -> None:
        t0 = time.perf_counter()
        made[role] = save_netcdf(ds, folder / OUTPUTS[role]).name
        saved[role] = ds
        timer.add("save", time.perf_counter() - t0)

    if save_raw:
        save("poses", poses)
        if boxes is not None:
            save("boxes", boxes)
    analysed = poses
    if config.smoothing.smoothing != "none":
        from ..smoothing import smooth

        analysed = timer.timed(
            "smooth", smooth, poses, method=config.smoothing.smoothing,
            min_confidence=config.pose.min_keypoint_confidence,
        )
        save("poses_smoothed", analysed)
    t0 = time.perf_counter()
    made["keypoints_csv"] = save_keypoints_csv(analysed, folder / OUTPUTS["keypoints_csv"]).name
    timer.add("save", time.perf_counter() - t0)
    kin = None
    notes: dict[str, Any] = {"warnings": []} if record is None else record
    notes.setdefault("warnings", [])
    if config.kinematics.kinematics:
        kin = saved["kinematics"] = _kinematics(analysed, folder, config, timer, made)
    metric = _metric(analysed, folder, config, timer, made, notes)
    if config.kinematics.kinematics and config.outputs.dashboard:
        from ..plots import write_dashboard

        # the datasets just saved, not read again (a second copy of each)
        made["dashboard"] = timer.timed("dashboard", write_dashboard, folder,
                                        held=saved).name
    _exports(folder, config, analysed, metric, timer, notes)
    if config.outputs.overlay:
        made["overlay"] = _render(analysed, boxes, kin, folder, config, timer, progress).name
    return made


def _kinematics(
    poses: xr.Dataset, folder: Path, config: AnalyzeConfig, timer: StageTimer,
    made: dict[str, str],
) -> xr.Dataset:
    from ..kinematics import compute_kinematics, save_kinematics

    kin = timer.timed(
        "kinematics", compute_kinematics, poses, view=config.kinematics.view,
        facing=config.kinematics.facing, min_confidence=config.pose.min_keypoint_confidence,
    )
    kin = as_float32(kin)
    t0 = time.perf_counter()
    written = save_kinematics(kin, folder)
    timer.add("save", time.perf_counter() - t0)
    made.update({role: Path(path).name for role, path in written.items()})
    return kin


def as_float32(kin: xr.Dataset) -> xr.Dataset:
    """``kin`` with its float64 variables held as float32: computed in float64, kept in
    float32 (7 significant digits, far below the angles' uncertainty), which halves the
    memory and the files of long videos.  Coordinates (time) stay float64."""
    wide = [name for name, var in kin.data_vars.items() if var.dtype == np.float64]
    return kin.assign({name: kin[name].astype(np.float32) for name in wide}) if wide else kin


def _metric(
    poses: xr.Dataset, folder: Path, config: AnalyzeConfig, timer: StageTimer,
    made: dict[str, str], notes: dict[str, Any],
) -> xr.Dataset | None:
    """The metric data when ``[units]`` gives a calibration (saved, recorded), else None."""
    cal = calibration_of(config.units)
    if cal is None:
        return None
    done = timer.timed("metric", calibrate, poses, cal, config.pose.min_keypoint_confidence)
    notes["calibration"] = done.record
    notes["warnings"] += done.warnings
    if done.metric is not None:
        t0 = time.perf_counter()
        save_metric(done.metric, folder, made)
        timer.add("save", time.perf_counter() - t0)
    return done.metric


def _exports(
    folder: Path, config: AnalyzeConfig, poses: xr.Dataset, metric: xr.Dataset | None,
    timer: StageTimer, notes: dict[str, Any],
) -> None:
    """Replace the folder's exports by the configured ones (none: the old ones go)."""
    stage = "export" if config.units.export else "save"
    entries, warnings = timer.timed(stage, write_exports, folder, config, poses, metric)
    notes["warnings"] += warnings
    notes.update(entries)


def _render(
    poses: xr.Dataset,
    boxes: xr.Dataset | None,
    kin: xr.Dataset | None,
    folder: Path,
    config: AnalyzeConfig,
    timer: StageTimer,
    progress: bool,
) -> Path:
    from ..render import RenderOptions, render_overlay
    from ..tracking import names_of

    source = Path(str(poses.attrs["source_file"]))
    options = RenderOptions(
        min_score=config.pose.min_keypoint_confidence,
        names=names_of(poses) or None,
        preset=config.outputs.overlay_preset,
    )
    with progress_bar(int(poses.sizes["time"]), f"overlay {source.name}", progress) as bar:
        return timer.timed(
            "render_overlay", render_overlay, source, poses, folder / OUTPUTS["overlay"],
            boxes=boxes, kinematics=kin, options=options, on_frame=lambda _i: bar.update(1),
        )


__all__ = ["finish_from_poses", "postprocess_tracks", "quality_params"]
