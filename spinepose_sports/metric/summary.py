"""The key figures of a calibrated video, one row per (track, quantity, label).

Pure: a metric dataset (:func:`~spinepose_sports.metric.compute_metric`) and its jumps
table in, a :class:`pandas.DataFrame` out.  The rows have the columns of the kinematics
summary (``summary.csv``: ``quantity, label, units, n_valid, mean, std, min, max, rom,
time_of_min_s, time_of_max_s``), so the pipeline appends them to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

#: Per-frame quantities summarised: (quantity, label, variable, space component, units).
FRAME_QUANTITIES: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("pelvis_speed", "pelvis", "pelvis_speed", None, "m/s"),
    ("pelvis_acceleration", "pelvis", "pelvis_acceleration_magnitude", None, "m/s^2"),
    ("vertical_displacement", "pelvis", "vertical_displacement", None, "m"),
    ("pelvis_position", "x", "pelvis_position", "x", "m"),
    ("spine_length", "spine", "spine_length_cm", None, "cm"),
)
#: Per-jump quantities summarised over a track's jumps: (quantity, jumps column, units).
JUMP_QUANTITIES: tuple[tuple[str, str, str], ...] = (
    ("jump_height_flight", "jump_height_flight_m", "m"),
    ("pelvis_rise", "pelvis_rise_m", "m"),
    ("flight_time", "flight_time_s", "s"),
)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "track", "quantity", "label", "units", "n_valid", "mean", "std", "min", "max", "rom",
    "time_of_min_s", "time_of_max_s",
)
#: Every quantity name of :func:`metric_summary`.
METRIC_QUANTITIES: tuple[str, ...] = tuple(
    [q for q, *_ in FRAME_QUANTITIES] + [q for q, *_ in JUMP_QUANTITIES]
)


def _stats(values: np.ndarray, times: np.ndarray) -> dict[str, Any]:
    """n_valid, mean, std, min, max, rom (max - min) and the times of min and max of the
    finite ``values (M,)`` observed at ``times (M,)`` s; NaN statistics when none."""
    ok = np.isfinite(values)
    if not ok.any():
        nan = float("nan")
        return {"n_valid": 0, "mean": nan, "std": nan, "min": nan, "max": nan, "rom": nan,
                "time_of_min_s": nan, "time_of_max_s": nan}
    v, t = values[ok], times[ok]
    lo, hi = int(np.argmin(v)), int(np.argmax(v))
    return {
        "n_valid": int(ok.sum()),
        "mean": float(v.mean()),
        "std": float(v.std()),
        "min": float(v[lo]),
        "max": float(v[hi]),
        "rom": float(v[hi] - v[lo]),
        "time_of_min_s": float(t[lo]),
        "time_of_max_s": float(t[hi]),
    }


def metric_summary(metric: xr.Dataset, jumps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Key figures per track: columns :data:`SUMMARY_COLUMNS`.

    Per frame (``n_valid`` frames, times in s): ``pelvis_speed`` (m/s; ``max`` = peak
    speed), ``pelvis_acceleration`` (magnitude, m/s^2), ``vertical_displacement`` (m;
    ``rom`` = vertical range of the pelvis), ``pelvis_position`` label ``x`` (m; ``rom``
    = distance covered along the floor) and ``spine_length`` (cm).  Per jump of
    ``jumps`` (:func:`~spinepose_sports.metric.jumps_table`; ``n_valid`` = number of
    jumps, times = take-offs): ``jump_height_flight`` (m), ``pelvis_rise`` (m) and
    ``flight_time`` (s); a track without jumps has rows with ``n_valid = 0``.
    """
    time = np.asarray(metric["time"].values, dtype=np.float64)
    rows: list[dict[str, Any]] = []
    for ind in (str(i) for i in metric["individual"].values):
        track = int(ind.rsplit("_", 1)[1])
        for quantity, label, var, comp, units in FRAME_QUANTITIES:
            da = metric[var].sel(individual=ind)
            values = np.asarray((da.sel(space=comp) if comp else da).values, np.float64)
            rows.append({"track": track, "quantity": quantity, "label": label, "units": units,
                         **_stats(values, time)})
        mine = jumps[jumps["track"] == track] if jumps is not None and len(jumps) else None
        takeoffs = (
            mine["takeoff_s"].to_numpy(np.float64) if mine is not None else np.zeros(0)
        )
        for quantity, column, units in JUMP_QUANTITIES:
            values = mine[column].to_numpy(np.float64) if mine is not None else np.zeros(0)
            rows.append({"track": track, "quantity": quantity, "label": "jumps",
                         "units": units, **_stats(values, takeoffs)})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


__all__ = ["METRIC_QUANTITIES", "SUMMARY_COLUMNS", "metric_summary"]
