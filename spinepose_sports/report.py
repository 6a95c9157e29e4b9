"""Reading a saved results folder for the renderers and the dashboard (no models needed).

A results folder (design §2) holds ``poses.nc`` (raw keypoints), optionally
``poses_smoothed.nc``, ``boxes.nc``, ``kinematics.nc``, ``summary.csv``,
``repetitions.csv``, ``run.json`` and, when calibrated, ``metric.nc`` and ``jumps.csv``.
:func:`load_results` reads what is there;
:func:`find_source_video` finds the video the results came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from .data import load_netcdf, load_poses
from .results import (
    BOXES_FILE,
    DASHBOARD_FILE,
    KINEMATICS_FILE,
    OUTPUTS,
    OVERLAY_FILE,
    POSES_FILE,
    REPETITIONS_FILE,
    RUN_FILE,
    SMOOTHED_POSES_FILE,
    SUMMARY_FILE,
    read_run,
)


class ResultsFolderError(FileNotFoundError):
    """A results folder lacks what is needed; the message names the folder and the file."""


class SourceVideoError(FileNotFoundError):
    """The source video of a results folder cannot be found (moved or deleted)."""


@dataclass
class Results:
    """What a results folder holds.

    poses: the smoothed poses when present (and asked for), else the raw ones;
    raw_poses: ``poses.nc``; kinematics: ``kinematics.nc`` or None; summary, repetitions:
    the CSV tables or None; run: ``run.json`` as a dict (empty when absent); metric,
    jumps: ``metric.nc`` and ``jumps.csv`` (real-world units) or None when not calibrated.
    """

    folder: Path
    poses: xr.Dataset
    raw_poses: xr.Dataset
    boxes: xr.Dataset | None = None
    kinematics: xr.Dataset | None = None
    summary: pd.DataFrame | None = None
    repetitions: pd.DataFrame | None = None
    run: dict[str, Any] = field(default_factory=dict)
    smoothed: bool = False
    metric: xr.Dataset | None = None
    jumps: pd.DataFrame | None = None

    @property
    def title(self) -> str:
        """A short name for the video: its file stem."""
        return Path(str(self.poses.attrs.get("source_file", self.folder.name))).stem


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def load_results(
    results_dir: str | Path,
    *,
    smoothed: bool = True,
    kinematics: bool = True,
    held: Mapping[str, xr.Dataset] | None = None,
) -> Results:
    """Read a results folder.

    smoothed: use ``poses_smoothed.nc`` as ``poses`` when it exists.  kinematics: read
    ``kinematics.nc`` and the tables when they exist.  held: datasets of the folder's
    files already in memory, by role (``poses``, ``poses_smoothed``, ``boxes``,
    ``kinematics``: the pipeline's chain, which has just written them), used instead of
    reading those files again.

    Raises:
        ResultsFolderError: the folder or its ``poses.nc`` does not exist.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise ResultsFolderError(f"{folder}: no such results folder")
    poses_path = folder / POSES_FILE
    if not poses_path.is_file():
        raise ResultsFolderError(
            f"{folder}: no {POSES_FILE} here; is it a results folder of `spinepose-sports analyze`?"
        )
    held = held or {}

    def read(role: str, loader: Any) -> Any:
        return held[role] if role in held else loader(folder / OUTPUTS[role])

    raw = read("poses", load_poses)
    use_smoothed = smoothed and (folder / SMOOTHED_POSES_FILE).is_file()
    out = Results(
        folder=folder,
        poses=read("poses_smoothed", load_poses) if use_smoothed else raw,
        raw_poses=raw,
        smoothed=use_smoothed,
    )
    if (folder / BOXES_FILE).is_file():
        out.boxes = read("boxes", load_netcdf)
    if kinematics and (folder / KINEMATICS_FILE).is_file():
        from .kinematics import load_kinematics

        out.kinematics = read("kinematics", load_kinematics)
        out.summary = _read_csv(folder / SUMMARY_FILE)
        out.repetitions = _read_csv(folder / REPETITIONS_FILE)
    if (folder / OUTPUTS["metric"]).is_file():
        out.metric = load_netcdf(folder / OUTPUTS["metric"])
        out.jumps = _read_csv(folder / OUTPUTS["jumps"])
    out.run = read_run(folder) or {}
    return out


def find_source_video(results: Results, video_path: str | Path | None = None) -> Path:
    """The source video of ``results``: ``video_path`` if given, else the recorded one.

    The recorded ``source_file`` is tried as it is (relative paths from the current
    folder), then beside the results folder and inside it.

    Raises:
        SourceVideoError: the given or recorded video does not exist.
    """
    if video_path is not None:
        p = Path(video_path)
        if not p.is_file():
            raise SourceVideoError(f"{p}: no such video file")
        return p
    recorded = str(results.poses.attrs.get("source_file", ""))
    if recorded:
        rec = Path(recorded)
        for candidate in (rec, results.folder.parent / rec.name, results.folder / rec.name):
            if candidate.is_file():
                return candidate
    raise SourceVideoError(
        f"{results.folder}: the source video {recorded or '(not recorded)'} is not found "
        "(moved or deleted?); give its path (--video PATH, or video_path=)"
    )


__all__ = [
    "BOXES_FILE",
    "DASHBOARD_FILE",
    "OVERLAY_FILE",
    "POSES_FILE",
    "RUN_FILE",
    "SMOOTHED_POSES_FILE",
    "Results",
    "ResultsFolderError",
    "SourceVideoError",
    "find_source_video",
    "load_results",
]
