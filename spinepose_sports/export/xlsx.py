"""Excel workbook for coaches: one sheet per table, the units in the column headers.

Sheets: ``info`` (video, frame rate, calibration), ``summary`` (``summary.csv``),
``angles`` (one row per frame and track, one column per angle: ``name [deg]``),
``repetitions`` (``repetitions.csv``), and when calibrated ``speeds`` (pelvis position,
speed, acceleration, vertical displacement, foot height, spine length per frame),
``jumps`` and ``segments`` (median link lengths, cm).  A header reads ``name [unit]``;
summary statistics whose unit depends on the row say ``[see units]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..data import track_id_of
from ._files import atomic_path
from .columns import angle_columns

SUMMARY_ROW_UNIT_COLUMNS = (
    "mean",
    "std",
    "min",
    "max",
    "rom",
    "mean_rep_rom",
    "mean_repetition_rom",
    "mean_repetition_peak",
)
SPEED_VARIABLES = (
    ("pelvis_position", "x"),
    ("pelvis_position", "y"),
    ("pelvis_velocity", "x"),
    ("pelvis_velocity", "y"),
    ("pelvis_speed", None),
    ("pelvis_acceleration_magnitude", None),
    ("vertical_displacement", None),
    ("foot_height", None),
    ("spine_length_cm", None),
)


def _openpyxl() -> Any:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ImportError("Excel export needs openpyxl: pip install openpyxl") from exc
    return openpyxl


def header(name: str, unit: str | None) -> str:
    """``"pelvis_speed [m/s]"``; the bare name when there is no unit."""
    return f"{name} [{unit}]" if unit else name


def _cell(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _add_sheet(wb: Any, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    ws = wb.create_sheet(title)
    ws.append(list(headers))
    for row in rows:
        ws.append([_cell(v) for v in row])


def _unit_of_column(col: str) -> str | None:
    if col.endswith("_s"):
        return "s"
    return None


def _table_sheet(wb: Any, title: str, df: pd.DataFrame, units: dict[str, str]) -> None:
    heads = [header(c, units.get(c)) for c in df.columns]
    _add_sheet(wb, title, heads, df.itertuples(index=False, name=None))


def summary_sheet(wb: Any, summary: pd.DataFrame | None) -> None:
    df = summary if summary is not None else pd.DataFrame()
    units = {c: "see units" for c in SUMMARY_ROW_UNIT_COLUMNS}
    units.update({c: "s" for c in df.columns if c.endswith("_s")})
    _table_sheet(wb, "summary", df, units)


def repetitions_sheet(wb: Any, reps: pd.DataFrame | None, kin: xr.Dataset | None) -> None:
    df = reps if reps is not None else pd.DataFrame()
    units: dict[str, str] = {}
    for c in df.columns:
        if kin is not None and f"rep_{c}" in kin and kin[f"rep_{c}"].attrs.get("units"):
            units[c] = str(kin[f"rep_{c}"].attrs["units"])
        elif (u := _unit_of_column(c)) is not None:
            units[c] = u
    units.pop("number", None)
    _table_sheet(wb, "repetitions", df, units)


def angles_sheet(wb: Any, kin: xr.Dataset, individuals: Sequence[str]) -> None:
    time, frame = kin["time"].values, kin["frame"].values if "frame" in kin.coords else None
    heads: list[str] | None = None
    rows: list[list[Any]] = []
    for ind in individuals:
        cols = angle_columns(kin, ind)
        heads = ["track", "frame", "time [s]", *(header(n, "deg") for n in cols.names)]
        tid = track_id_of(ind)
        for t in range(time.size):
            f = int(frame[t]) if frame is not None else t
            rows.append([tid, f, float(time[t]), *cols.values[t].tolist()])
    _add_sheet(wb, "angles", heads or ["track", "frame", "time [s]"], rows)


def speeds_sheets(wb: Any, metric: xr.Dataset, jumps: pd.DataFrame | None) -> None:
    heads = ["track", "frame", "time [s]"]
    for var, comp in SPEED_VARIABLES:
        name = f"{var}_{comp}" if comp else var
        heads.append(header(name, str(metric[var].attrs.get("units", ""))))
    time = metric["time"].values
    frame = metric["frame"].values if "frame" in metric.coords else np.arange(time.size)
    rows = []
    for ind in metric["individual"].values:
        series = []
        for var, comp in SPEED_VARIABLES:
            da = metric[var].sel(individual=ind)
            series.append(da.sel(space=comp).values if comp else da.values)
        block = np.stack(series, axis=1)
        for t in range(time.size):
            rows.append([track_id_of(str(ind)), int(frame[t]), float(time[t]), *block[t]])
    _add_sheet(wb, "speeds", heads, rows)
    if jumps is not None:
        units = {c: "s" for c in jumps.columns if c.endswith("_s")}
        units.update({c: "m" for c in jumps.columns if c.endswith("_m")})
        _table_sheet(wb, "jumps", jumps, units)
    seg = metric["segment_length"].transpose("individual", "link")
    _add_sheet(
        wb,
        "segments",
        ["track", *(header(str(k), "cm") for k in metric["link"].values)],
        ([track_id_of(str(i)), *seg.sel(individual=i).values] for i in metric["individual"].values),
    )


def info_sheet(wb: Any, attrs: dict[str, Any], calibration: dict[str, Any] | None) -> None:
    rows: list[tuple[str, Any]] = [
        ("source_file", attrs.get("source_file", "")),
        ("fps [1/s]", attrs.get("fps", "")),
        ("frame_width [px]", attrs.get("frame_width", "")),
        ("frame_height [px]", attrs.get("frame_height", "")),
        ("pose_model", attrs.get("pose_model", "")),
        ("calibration", json.dumps(calibration) if calibration else "none (angles only)"),
    ]
    _add_sheet(wb, "info", ["key", "value"], rows)


def write_xlsx(
    path: str | Path,
    *,
    attrs: dict[str, Any],
    kin: xr.Dataset | None,
    summary: pd.DataFrame | None,
    repetitions: pd.DataFrame | None,
    individuals: Sequence[str],
    metric: xr.Dataset | None = None,
    jumps: pd.DataFrame | None = None,
) -> Path:
    """Write the workbook atomically (see the module doc); returns its path."""
    wb = _openpyxl().Workbook(write_only=True)
    calibration = json.loads(metric.attrs["calibration"]) if metric is not None else None
    info_sheet(wb, attrs, calibration)
    summary_sheet(wb, summary)
    if kin is not None:
        angles_sheet(wb, kin, individuals)
    repetitions_sheet(wb, repetitions, kin)
    if metric is not None:
        have = {str(i) for i in metric["individual"].values}
        calibrated = [i for i in individuals if i in have]
        speeds_sheets(wb, metric.sel(individual=calibrated), jumps)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)
