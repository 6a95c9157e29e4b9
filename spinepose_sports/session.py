"""A session: many videos with their settings, run together, summed up in two files.

:func:`run_session` runs every video (one after the other, on local worker processes or
on a Dask cluster: :mod:`spinepose_sports.pipeline.parallel`) and then writes, into the
output folder,

* ``batch_summary.csv`` (:func:`batch_summary`): one row per video and athlete;
* ``index.html`` (:mod:`spinepose_sports.session_index`): every overlay and dashboard
  with a thumbnail and the key figures, sortable, working offline.

Both cover the videos of this run, completed now or before (skipped), and the failed
ones with their error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import AnalyzeConfig
from .pipeline.job import VideoResult
from .pipeline.parallel import Job, plan_jobs, run_jobs
from .pipeline.stages import Stages
from .results import (
    POSES_FILE,
    SUMMARY_FILE,
    atomic_path,
    read_run,
)

SUMMARY_NAME = "batch_summary.csv"
INDEX_NAME = "index.html"
#: The regions of the summary: (column prefix, kinematics quantity, label).
REGION_SERIES: tuple[tuple[str, str, str], ...] = (
    ("lumbar", "regional_angle", "lumbar"),
    ("thoracic", "regional_angle", "thoracic"),
    ("cervical", "regional_angle", "cervical"),
    ("trunk", "trunk_flexion", "trunk"),
    ("pelvis", "pelvis_tilt", "pelvis"),
)
#: Columns of ``batch_summary.csv``.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "video", "folder", "status", "athlete", "name", "duration_s", "frames", "frames_tracked",
    "tracked_s", *(f"{r}_{s}_deg" for r, _, _ in REGION_SERIES for s in ("rom", "peak")),
    "repetitions", "view", "valid_frames", "quality", "error",
)


@dataclass
class SessionOutcome:
    """What a session made: one result per video, and the session files (None when
    switched off)."""

    results: list[VideoResult]
    jobs: list[Job]
    summary: Path | None
    index: Path | None


def run_session(
    items: Sequence[tuple[Path, AnalyzeConfig]],
    config: AnalyzeConfig,
    *,
    progress: bool = True,
    load: Callable[[AnalyzeConfig], Stages] | None = None,
) -> SessionOutcome:
    """Run ``(video, settings)`` items with the session settings of ``config``
    (``[batch]``: workers or scheduler, session outputs; ``output``) and write the
    session files.  ``load`` replaces the model loader (serial runs; tests)."""
    from .results import check_writable, clean_stale_staging

    output = Path(config.outputs.output)
    check_writable(output)  # before any model loads
    clean_stale_staging(output)
    jobs = plan_jobs(items, output)
    results = run_jobs(
        jobs, workers=config.batch.workers, scheduler=config.batch.scheduler,
        progress=progress, load=load,
    )
    summary = index = None
    table = batch_summary(jobs, results, output)
    if config.batch.batch_summary:
        summary = output / SUMMARY_NAME
        with atomic_path(summary) as tmp:
            table.to_csv(tmp, index=False)
    if config.batch.index_html:
        from .session_index import write_index

        index = write_index(output / INDEX_NAME, table, summary)
    return SessionOutcome(results, jobs, summary, index)


# --------------------------------------------------------------------------------------
# batch_summary.csv
# --------------------------------------------------------------------------------------


def batch_summary(jobs: Sequence[Job], results: Sequence[VideoResult], output: Path
                  ) -> pd.DataFrame:
    """One row per video and athlete (:data:`SUMMARY_COLUMNS`): the video's analysed
    duration (s) and frames; the athlete's frames with a pose (``frames_tracked``,
    ``tracked_s``); range of motion (max − min) and peak (the value of largest
    magnitude, signed) of each region's angle over the valid frames, deg; repetitions;
    the view; ``valid_frames`` and ``quality`` (their share of the tracked frames).
    A video without athletes has one row with an empty athlete; a failed one its error."""
    rows: list[dict[str, Any]] = []
    for job, result in zip(jobs, results, strict=True):
        base = {"video": str(job.path), "folder": _relative(job.folder, output),
                "status": result.status}
        if result.status == "failed":
            rows.append(base | {"error": result.error or ""})
            continue
        rows.extend(base | row for row in _video_rows(job.folder))
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    for col in ("athlete", "frames", "frames_tracked", "repetitions", "valid_frames"):
        table[col] = table[col].astype("Int64")
    return table


def _relative(folder: Path, output: Path) -> str:
    try:
        return str(Path(folder).absolute().relative_to(Path(output).absolute()))
    except ValueError:
        return str(folder)


def _video_rows(folder: Path) -> list[dict[str, Any]]:
    from .data import load_netcdf, track_id_of
    from .tracking import names_of

    record = read_run(folder) or {}
    try:
        poses = load_netcdf(folder / POSES_FILE)
    except (OSError, ValueError):
        return [{"error": f"{POSES_FILE} is missing"}]
    fps = float(poses.attrs.get("fps", 0) or 0)
    n_frames = int(poses.sizes["time"])
    video = {"duration_s": n_frames / fps if fps else np.nan, "frames": n_frames}
    summary = _read_summary(folder)
    names = names_of(poses)
    seen = poses["position"].notnull().any(dim=("space", "keypoint"))
    rows = []
    for ind in (str(i) for i in poses["individual"].values):
        track = track_id_of(ind)
        tracked = int(seen.sel(individual=ind).sum())
        row = video | {"athlete": track, "name": names.get(track, ""),
                       "frames_tracked": tracked, "tracked_s": tracked / fps if fps else np.nan}
        row |= _kinematic_figures(summary, track, tracked)
        rows.append(row)
    if not rows:
        rows.append(video | {"frames_tracked": 0, "error": "; ".join(record.get("warnings", []))})
    return rows


def _read_summary(folder: Path) -> pd.DataFrame | None:
    path = folder / SUMMARY_FILE
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError):
        return None


def _kinematic_figures(summary: pd.DataFrame | None, track: int, tracked: int
                       ) -> dict[str, Any]:
    if summary is None or summary.empty:
        return {}
    mine = summary[summary["track"] == track]
    if mine.empty:
        return {}
    first = mine.iloc[0]
    valid = int(first.get("valid_frames", 0))
    out: dict[str, Any] = {
        "repetitions": int(first.get("repetitions", 0)),
        "view": str(first.get("view", "")) if pd.notna(first.get("view")) else "",
        "valid_frames": valid,
        "quality": round(valid / tracked, 4) if tracked else np.nan,
    }
    for prefix, quantity, label in REGION_SERIES:
        row = mine[(mine["quantity"] == quantity) & (mine["label"].astype(str) == label)]
        if row.empty:
            continue
        lo, hi = float(row["min"].iloc[0]), float(row["max"].iloc[0])
        out[f"{prefix}_rom_deg"] = float(row["rom"].iloc[0])
        out[f"{prefix}_peak_deg"] = hi if abs(hi) >= abs(lo) else lo
    return out


__all__ = ["INDEX_NAME", "SUMMARY_COLUMNS", "SUMMARY_NAME", "SessionOutcome", "batch_summary",
           "run_session"]
