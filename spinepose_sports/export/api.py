"""``export_results``: a saved results folder -> files other tools read.

Formats (:data:`FORMATS`):

=========  ==========================================================  ====================
format     files (in ``out_dir``, default ``<results>/export``)        needs
=========  ==========================================================  ====================
trc        ``<stem>_track<id>.trc`` per athlete, markers in m           a calibration
mot        ``<stem>_track<id>.mot`` per athlete, angles in deg          kinematics.nc
c3d        ``<stem>_track<id>.c3d`` per athlete, points mm + angles     a calibration
openpose   ``openpose/<stem>_<frame>_keypoints.json`` per frame, px     poses
xlsx       ``<stem>.xlsx``: summary, angles, repetitions (+ speeds)     kinematics.nc
metric     ``metric.nc`` (positions m, speeds m/s ...), ``speeds.csv``,  a calibration
           ``jumps.csv``
=========  ==========================================================  ====================

The calibration is the one given, else the one recorded in ``run.json`` (key
``calibration``, as :meth:`ResolvedCalibration.to_dict` writes it).  The smoothed poses
are used when the folder has them (``smoothed=False``: the raw ones).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from ..data import save_netcdf
from ..export_formats import (  # the names, in a light module (the config checks them)
    EXPORT_DIR,
    FORMATS,
    NEEDS_CALIBRATION,
    NEEDS_KINEMATICS,
    ExportError,
    parse_formats,
)
from ..metric import Calibration, CalibrationError, compute_metric, jumps_table, speeds_table
from ..report import Results, ResultsFolderError, load_results
from ..results import DERIVED_FILES
from ._files import atomic_path
from .c3d_file import write_c3d
from .mot import write_mot
from .openpose import write_openpose
from .trc import write_trc
from .xlsx import write_xlsx

METRIC_FILE = "metric.nc"
SPEEDS_FILE = "speeds.csv"
JUMPS_FILE = "jumps.csv"


@dataclass
class _Context:
    results: Results
    stem: str
    individuals: list[str]
    out_dir: Path
    metric: xr.Dataset | None = None
    jumps: pd.DataFrame | None = None


def _calibration_of(results: Results, given: Calibration | None) -> Calibration | None:
    if given is not None:
        return given
    record = results.run.get("calibration")
    if not isinstance(record, dict):
        return None
    inner = record.get("calibration", record)
    try:
        return Calibration.from_mapping(inner, f"{results.folder / 'run.json'}")
    except CalibrationError as exc:
        raise ExportError(str(exc)) from exc


def _select(results: Results, athletes: Sequence[int | str] | None) -> list[str]:
    known = [str(i) for i in results.poses["individual"].values]
    if not athletes:
        return known
    chosen = []
    for a in athletes:
        name = a if str(a).startswith("track_") else f"track_{int(str(a).lstrip('#'))}"
        if name not in known:
            raise ExportError(
                f"{results.folder}: unknown athlete {a!r}; tracks: {', '.join(known) or 'none'}"
            )
        chosen.append(str(name))
    return chosen


def _per_athlete(ctx: _Context, suffix: str, calibrated: bool = False) -> list[tuple[str, Path]]:
    """``(individual, file)`` per athlete; ``calibrated``: only those of the metric data."""
    chosen = ctx.individuals
    if calibrated and ctx.metric is not None:
        have = {str(i) for i in ctx.metric["individual"].values}
        chosen = [i for i in chosen if i in have]
    return [(i, ctx.out_dir / f"{ctx.stem}_{i.replace('_', '')}.{suffix}") for i in chosen]


def _kinematics(ctx: _Context, fmt: str) -> xr.Dataset:
    if ctx.results.kinematics is None:
        raise ExportError(
            f"{ctx.results.folder}: no kinematics.nc, needed by the {fmt} export "
            "(run `spinepose-sports analyze` with kinematics)"
        )
    return ctx.results.kinematics


def _metric(ctx: _Context, fmt: str) -> xr.Dataset:
    if ctx.metric is None:
        raise ExportError(
            f"the {fmt} export needs metres: give an athlete height (--athlete-height 1.78), "
            "two points with a distance, or a calibration file (--calibration FILE)"
        )
    return ctx.metric


def _write_metric(ctx: _Context) -> list[Path]:
    metric = _metric(ctx, "metric")
    paths = [save_netcdf(metric, ctx.out_dir / METRIC_FILE)]
    for name, df in ((SPEEDS_FILE, speeds_table(metric)), (JUMPS_FILE, ctx.jumps)):
        with atomic_path(ctx.out_dir / name) as tmp:
            (df if df is not None else pd.DataFrame()).to_csv(tmp, index=False)
        paths.append(ctx.out_dir / name)
    return paths


def _write(fmt: str, ctx: _Context) -> list[Path]:
    if fmt == "trc":
        metric = _metric(ctx, fmt)
        return [write_trc(metric, i, p) for i, p in _per_athlete(ctx, "trc", True)]
    if fmt == "mot":
        kin = _kinematics(ctx, fmt)
        return [write_mot(kin, i, p) for i, p in _per_athlete(ctx, "mot")]
    if fmt == "c3d":
        metric = _metric(ctx, fmt)
        angles = ctx.results.kinematics
        return [write_c3d(metric, angles, i, p) for i, p in _per_athlete(ctx, "c3d", True)]
    if fmt == "openpose":
        poses = ctx.results.poses.sel(individual=ctx.individuals)
        return write_openpose(poses, ctx.out_dir / "openpose", ctx.stem)
    if fmt == "xlsx":
        kin = _kinematics(ctx, fmt)
        path = write_xlsx(
            ctx.out_dir / f"{ctx.stem}.xlsx",
            attrs=dict(ctx.results.poses.attrs),
            kin=kin,
            summary=_only(ctx.results.summary, ctx.individuals),
            repetitions=_only(ctx.results.repetitions, ctx.individuals),
            individuals=ctx.individuals,
            metric=ctx.metric,
            jumps=_only(ctx.jumps, ctx.individuals),
        )
        return [path]
    return _write_metric(ctx)


def _only(df: pd.DataFrame | None, individuals: Sequence[str]) -> pd.DataFrame | None:
    if df is None or "track" not in df.columns:
        return df
    ids = {int(i.rsplit("_", 1)[1]) for i in individuals}
    return df[df["track"].isin(ids)].reset_index(drop=True)


def export_results(
    results_dir: str | Path,
    formats: str | Sequence[str],
    calibration: Calibration | None = None,
    out_dir: str | Path | None = None,
    *,
    athletes: Sequence[int | str] | None = None,
    smoothed: bool = True,
    metric: xr.Dataset | None = None,
) -> dict[str, list[Path]]:
    """Export a results folder of ``spinepose-sports analyze`` (see the module doc).

    formats: names of :data:`FORMATS` (a list or ``"trc,mot"``); calibration: pixels to
    metres (else the one in ``run.json``); out_dir: default ``<results_dir>/export``;
    athletes: track ids to export (default all); smoothed: use ``poses_smoothed.nc``
    when present; metric: the metric data already computed from these poses
    (:func:`~spinepose_sports.metric.compute_metric`, what ``analyze`` passes): used
    instead of a calibration, and the calibrated formats cover its athletes only.
    Returns ``{format: [paths written]}``.  Every file is written to a
    temporary name and renamed, so a failed export leaves no partial file.

    Raises:
        ExportError: unknown format, missing results file, unknown athlete, a format
            that needs a calibration without one.
        CalibrationError: an impossible calibration (e.g. a height of 17.8 m).
    """
    wanted = parse_formats(formats)
    try:
        results = load_results(results_dir, smoothed=smoothed)
    except ResultsFolderError as exc:
        raise ExportError(str(exc)) from exc
    stem = Path(str(results.poses.attrs.get("source_file", results.folder.name))).stem
    ctx = _Context(
        results=results,
        stem=stem or results.folder.name,
        individuals=_select(results, athletes),
        out_dir=Path(out_dir) if out_dir is not None else results.folder / EXPORT_DIR,
    )
    cal = None if metric is not None else _calibration_of(results, calibration)
    if metric is not None:
        have = {str(i) for i in metric["individual"].values}
        ctx.metric = metric.sel(individual=[i for i in ctx.individuals if i in have])
        ctx.jumps = jumps_table(ctx.metric)
    elif cal is not None:
        try:
            metric = compute_metric(results.poses, cal)
        except CalibrationError as exc:
            raise CalibrationError(f"{results.folder}: {exc}") from exc
        ctx.metric = metric.sel(individual=ctx.individuals)
        ctx.jumps = jumps_table(ctx.metric)
    elif NEEDS_CALIBRATION & set(wanted):
        _metric(ctx, sorted(NEEDS_CALIBRATION & set(wanted))[0])
    return {fmt: _write(fmt, ctx) for fmt in wanted}


#: Files of an export folder, by pattern (relative to it): what :func:`remove_exports` removes.
EXPORT_PATTERNS: tuple[str, ...] = DERIVED_FILES[EXPORT_DIR]


def remove_exports(folder: str | Path) -> list[str]:
    """Remove the export files of a results folder (``<folder>/export``, the files of
    :data:`EXPORT_PATTERNS`; other files stay) and the folders left empty.  ``analyze``
    calls it before it writes a run's exports: exports of earlier results go.  Returns
    the removed paths, relative to ``folder``."""
    root = Path(folder) / EXPORT_DIR
    if not root.is_dir():
        return []
    removed = []
    for pattern in EXPORT_PATTERNS:
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                path.unlink()
                removed.append(str(path.relative_to(Path(folder))))
    for empty in (root / "openpose", root):
        if empty.is_dir() and not any(empty.iterdir()):
            empty.rmdir()
    return removed


def calibration_record(metric: xr.Dataset) -> dict[str, Any]:
    """The ``run.json`` record of the calibration used for ``metric`` (inputs, m/px per
    athlete, floor line, assumptions)."""
    return dict(json.loads(metric.attrs["calibration"]))


__all__ = [
    "EXPORT_DIR",
    "FORMATS",
    "NEEDS_CALIBRATION",
    "NEEDS_KINEMATICS",
    "ExportError",
    "calibration_record",
    "export_results",
    "parse_formats",
    "remove_exports",
]
