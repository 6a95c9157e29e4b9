"""Real-world units and exports in the post-processing chain (the ``[units]`` settings).

calibration (settings) ─► metric data ─► ``metric.nc``, ``speeds.csv``, ``jumps.csv``
and the key figures appended to ``summary.csv`` ─► (after the dashboard) the exports in
``export/``.

Tracks are only known after tracking, so a calibration that does not fit every track
does not fail the run: athletes without a height, whose stature cannot be measured, or
named in ``athlete_heights`` but absent, are left out of the metric data and reported in
``run.json`` (``warnings`` and ``calibration.not_calibrated``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from ..config import AnalyzeConfig
from ..config_units import UnitsSettings
from ..data import save_netcdf
from ..metric import Calibration, CalibrationError
from ..results import OUTPUTS, atomic_path


@dataclass
class Calibrated:
    """The outcome of calibrating one video.

    metric: the metric data of the calibrated athletes (None when none could be);
    record: ``run.json``'s ``calibration`` entry; warnings: one line per athlete left out.
    """

    metric: xr.Dataset | None
    record: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def calibration_of(units: UnitsSettings) -> Calibration | None:
    """The calibration the ``[units]`` settings describe, None when they give none."""
    if units.calibration is not None:
        cal = Calibration.from_file(units.calibration)
        if units.floor_angle is not None:
            cal = Calibration.from_mapping({**cal.to_dict(), "floor_angle_deg": units.floor_angle})
        return cal
    if units.calibration_points is not None and units.calibration_distance is not None:
        x1, y1, x2, y2 = units.calibration_points
        return Calibration.from_points(
            (x1, y1), (x2, y2), units.calibration_distance, floor_angle_deg=units.floor_angle
        )
    if units.athlete_height is not None or units.athlete_heights:
        return Calibration.from_height(
            units.athlete_height, units.athlete_heights, floor_angle_deg=units.floor_angle
        )
    return None


def _applicable(
    poses: xr.Dataset, cal: Calibration, min_confidence: float
) -> tuple[Calibration | None, list[str], dict[str, str]]:
    """``(calibration restricted to the tracks present, athletes it calibrates, {athlete
    left out: why})``."""
    from ..metric import stature_px

    individuals = [str(i) for i in poses["individual"].values]
    left_out: dict[str, str] = {}
    for name in sorted(set(cal.heights_m) - set(individuals)):
        left_out[name] = "named in athlete_heights but not in the results"
    if cal.method != "height":
        return cal, individuals, left_out
    heights = {k: v for k, v in cal.heights_m.items() if k in individuals}
    keep = []
    statures = stature_px(poses, min_confidence) if individuals else None
    for ind in individuals:
        if cal.heights_m.get(ind, cal.height_m) is None:
            left_out[ind] = "no height given (athlete_height or athlete_heights)"
        elif statures is not None and not math.isfinite(float(statures.sel(individual=ind))):
            left_out[ind] = "its height in the image cannot be measured (spine or legs unseen)"
        else:
            keep.append(ind)
    if cal.height_m is None and not heights:
        return None, [], left_out
    restricted = Calibration.from_height(cal.height_m, heights, floor_angle_deg=cal.floor_angle_deg)
    return restricted, keep, left_out


def calibrate(poses: xr.Dataset, cal: Calibration, min_confidence: float) -> Calibrated:
    """The metric data of every athlete ``cal`` can calibrate (see the module doc)."""
    from ..metric import compute_metric, resolve

    usable, keep, left_out = _applicable(poses, cal, min_confidence)
    warnings = [f"calibration: {ind} left out: {why}" for ind, why in left_out.items()]
    record: dict[str, Any] = {"calibration": (usable or cal).to_dict(), "calibrated": keep,
                              "not_calibrated": left_out}
    if usable is None or not keep:
        return Calibrated(None, record, warnings)
    subset = poses.sel(individual=keep)
    try:
        resolved = resolve(subset, usable, min_confidence=min_confidence)
    except CalibrationError as exc:
        warnings.append(f"calibration: not applied: {exc}")
        return Calibrated(None, {**record, "calibrated": []}, warnings)
    metric = compute_metric(subset, resolved)
    return Calibrated(metric, {**resolved.to_dict(), **record}, warnings)


def _write_csv(df: pd.DataFrame, path: Path) -> str:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path.name


def append_summary(path: Path, rows: pd.DataFrame) -> None:
    """Append the metric key figures ``rows`` to ``summary.csv``; each track's columns
    before ``quantity`` (view, facing, repetitions ...) are copied from its rows."""
    try:
        old = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        old = pd.DataFrame()
    if "quantity" in old.columns:
        info = list(old.columns[: old.columns.get_loc("quantity")])
        per_track = old[info].drop_duplicates("track")
        rows = rows.merge(per_track, on="track", how="left")
    if "n_excluded" in old.columns:
        rows = rows.assign(n_excluded=0)
    columns = [*old.columns, *(c for c in rows.columns if c not in old.columns)]
    out = pd.concat([old, rows], ignore_index=True) if len(old) else rows
    _write_csv(out.reindex(columns=columns), path)


def save_metric(metric: xr.Dataset, folder: Path, made: dict[str, str]) -> None:
    """Write ``metric.nc``, ``speeds.csv`` and ``jumps.csv`` into ``folder`` and, when
    this run wrote ``summary.csv``, append the key figures to it; ``made`` gets the roles."""
    from ..metric import jumps_table, metric_summary, speeds_table

    jumps = jumps_table(metric)
    made["metric"] = save_netcdf(metric, folder / OUTPUTS["metric"]).name
    made["speeds"] = _write_csv(speeds_table(metric), folder / OUTPUTS["speeds"])
    made["jumps"] = _write_csv(jumps, folder / OUTPUTS["jumps"])
    if "summary" in made:
        append_summary(folder / OUTPUTS["summary"], metric_summary(metric, jumps))


def write_exports(
    folder: Path, config: AnalyzeConfig, poses: xr.Dataset, metric: xr.Dataset | None
) -> tuple[dict[str, Any], list[str]]:
    """Write the configured exports into ``folder`` (a run's staging folder: the previous
    run's exports are never carried into it, see :data:`~..results.DERIVED_FILES`).

    Returns ``run.json`` entries and warnings: ``exports`` (when any: format -> files
    relative to ``folder``; ``openpose``: its folder and file count); formats that need
    metres are skipped, with a warning, when no athlete is calibrated."""
    from ..export import EXPORT_DIR, NEEDS_CALIBRATION, export_results

    notes: dict[str, Any] = {}
    formats = list(config.units.export)
    individuals = [str(i) for i in poses["individual"].values]
    if not formats or not individuals:
        return notes, []
    warnings = []
    if metric is None:
        skipped = [f for f in formats if f in NEEDS_CALIBRATION]
        formats = [f for f in formats if f not in NEEDS_CALIBRATION]
        if skipped:
            warnings.append(f"export: {', '.join(skipped)} skipped: no athlete is calibrated")
    written = (
        export_results(folder, formats, athletes=individuals, metric=metric) if formats else {}
    )
    record: dict[str, Any] = {}
    for fmt, paths in written.items():
        rel = [str(Path(p).relative_to(folder)) for p in paths]
        record[fmt] = (
            {"folder": f"{EXPORT_DIR}/openpose", "files": len(rel)} if fmt == "openpose" else rel
        )
    return (notes | {"exports": record}) if record else notes, warnings


__all__ = ["Calibrated", "append_summary", "calibrate", "calibration_of", "save_metric",
           "write_exports"]
