"""Real-world quantities from calibrated poses: positions (m), speeds (m/s), jumps, lengths.

Pure xarray in, xarray out, no I/O.  Frame of the metric positions: ``x`` along the floor
(to the image's right), ``y`` up from the floor line (m); each athlete's ``x`` origin is
their pelvis (``hip`` point) at its first visible frame.

Entry point::

    metric = compute_metric(poses, Calibration.from_height(1.78))
    metric["pelvis_speed"]          # (time, individual) m/s
    jumps_table(metric)             # one row per flight: take-off, landing, height
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..data import append_log, validate_poses
from ..kinematics.angles import time_derivative
from ..skeleton import KEYPOINT_INDEX, LINKS, SPINE_CHAIN_INDICES
from .calibration import Calibration
from .scale import (
    DEFAULT_MIN_CONFIDENCE,
    FOOT_POINTS,
    ResolvedCalibration,
    floor_frame,
    resolve,
)

METRIC_DS_TYPE = "metric"
GRAVITY_M_S2 = 9.80665
#: A foot point higher than this above the floor is off the ground (m).
DEFAULT_CLEARANCE_M = 0.05
#: Shorter flights are noise, not jumps (s).
DEFAULT_MIN_FLIGHT_S = 0.1
JUMP_COLUMNS: tuple[str, ...] = (
    "track",
    "number",
    "takeoff_s",
    "landing_s",
    "flight_time_s",
    "jump_height_flight_m",
    "pelvis_rise_m",
)


def link_label(a: str, b: str) -> str:
    return f"{a}-{b}"


def to_metres(poses: xr.Dataset, resolved: ResolvedCalibration) -> xr.Dataset:
    """Poses in metres: ``position (time, space, keypoint, individual)`` m, y up.

    ``space`` stays ``["x", "y"]`` (x along the floor, y up from it); ``confidence`` is
    copied; coord ``m_per_px (individual)`` holds each athlete's scale.
    """
    validate_poses(poses)
    xy = np.asarray(
        poses["position"].transpose("time", "individual", "keypoint", "space").values, np.float64
    )
    individuals = [str(i) for i in poses["individual"].values]
    floor = np.stack(  # (T, N, K, 2) px, floor-aligned
        [floor_frame(xy[:, j], resolved.floor[i]) for j, i in enumerate(individuals)], axis=1
    )
    scale = np.array([resolved.m_per_px[i] for i in individuals])
    hip_x = floor[:, :, KEYPOINT_INDEX["hip"], 0]
    origin = np.zeros(len(individuals))
    for j in range(len(individuals)):
        seen = np.flatnonzero(np.isfinite(hip_x[:, j]))
        origin[j] = hip_x[seen[0], j] if seen.size else np.nanmedian(floor[:, j, :, 0])
    metres = np.empty_like(floor)
    metres[..., 0] = (floor[..., 0] - origin[None, :, None]) * scale[None, :, None]
    metres[..., 1] = floor[..., 1] * scale[None, :, None]
    out = poses.copy()
    out["position"] = (
        ("time", "space", "keypoint", "individual"),
        np.transpose(metres, (0, 3, 2, 1)),
    )
    out["position"].attrs.update(
        units="m", description="x along the floor (image right), y up from the floor line"
    )
    out = out.assign_coords(m_per_px=("individual", scale))
    out["m_per_px"].attrs["units"] = "m/px"
    out.attrs["calibration"] = json.dumps(resolved.to_dict())
    out.attrs["x_origin_px"] = json.dumps(dict(zip(individuals, origin.tolist(), strict=True)))
    return append_log(out, "to_metres", **resolved.to_dict())


def _space(ds: xr.Dataset, name: str, values: np.ndarray, units: str, desc: str) -> None:
    ds[name] = (("time", "space", "individual"), values)
    ds[name].attrs.update(units=units, description=desc)


def _scalar(ds: xr.Dataset, name: str, values: np.ndarray, units: str, desc: str) -> None:
    ds[name] = (("time", "individual"), values)
    ds[name].attrs.update(units=units, description=desc)


def pelvis_motion(metric_poses: xr.Dataset) -> xr.Dataset:
    """Pelvis (``hip`` point) position, velocity, speed, acceleration, vertical displacement.

    Returns a Dataset over ``(time, [space,] individual)``: ``pelvis_position`` m,
    ``pelvis_velocity`` m/s, ``pelvis_speed`` m/s (magnitude), ``pelvis_acceleration``
    m/s^2, ``pelvis_acceleration_magnitude`` m/s^2, ``pelvis_height`` m (above the floor)
    and ``vertical_displacement`` m (pelvis height minus its median over the track).
    """
    pos = metric_poses["position"].sel(keypoint="hip").transpose("time", "space", "individual")
    p = np.asarray(pos.values, np.float64)
    t = metric_poses["time"].values
    v = time_derivative(p, t)
    a = time_derivative(v, t)
    ds = xr.Dataset(coords={k: metric_poses.coords[k] for k in ("time", "space", "individual")})
    if "frame" in metric_poses.coords:
        ds = ds.assign_coords(frame=metric_poses["frame"])
    _space(ds, "pelvis_position", p, "m", "pelvis (hip point): x along the floor, y up")
    _space(ds, "pelvis_velocity", v, "m/s", "time derivative of pelvis_position")
    _space(ds, "pelvis_acceleration", a, "m/s^2", "second time derivative of pelvis_position")
    _scalar(ds, "pelvis_speed", np.linalg.norm(v, axis=1), "m/s", "magnitude of pelvis_velocity")
    _scalar(
        ds,
        "pelvis_acceleration_magnitude",
        np.linalg.norm(a, axis=1),
        "m/s^2",
        "magnitude of pelvis_acceleration",
    )
    height = p[:, 1, :]
    with np.errstate(invalid="ignore"):
        ref = np.array([np.nanmedian(c) if np.isfinite(c).any() else np.nan for c in height.T])
    _scalar(ds, "pelvis_height", height, "m", "pelvis height above the floor line")
    _scalar(
        ds,
        "vertical_displacement",
        height - ref[None, :],
        "m",
        "pelvis height minus its median over the track (standing reference)",
    )
    return ds


def foot_height(metric_poses: xr.Dataset) -> xr.DataArray:
    """Height of the lowest foot point above the floor, ``(time, individual)`` m."""
    y = metric_poses["position"].sel(space="y", keypoint=list(FOOT_POINTS))
    conf = metric_poses["confidence"].sel(keypoint=list(FOOT_POINTS))
    y = y.where(conf >= DEFAULT_MIN_CONFIDENCE)
    low = y.min("keypoint", skipna=True).transpose("time", "individual")
    low.attrs.update(units="m", description="lowest foot point above the floor line")
    return low.rename("foot_height")


def _crossing(t: np.ndarray, h: np.ndarray, i0: int, i1: int, level: float) -> float:
    """Time where ``h`` crosses ``level`` between samples ``i0`` and ``i1`` (linear)."""
    if not (np.isfinite(h[i0]) and np.isfinite(h[i1])) or h[i0] == h[i1]:
        return float(t[i1] if h[i1] > level else t[i0])
    return float(t[i0] + (level - h[i0]) * (t[i1] - t[i0]) / (h[i1] - h[i0]))


def _flights(t: np.ndarray, h: np.ndarray, clearance: float, min_s: float) -> list[tuple]:
    """(first airborne index, last airborne index, take-off s, landing s) of each flight."""
    air = np.nan_to_num(h, nan=-np.inf) > clearance
    edges = np.flatnonzero(np.diff(np.r_[0, air.astype(np.int8), 0]))
    out = []
    for s, e in zip(edges[::2], edges[1::2] - 1, strict=True):
        if s == 0 or e == len(h) - 1:
            continue  # flight cut by the clip: take-off or landing unseen
        t0 = _crossing(t, h, s - 1, s, clearance)
        t1 = _crossing(t, h, e, e + 1, clearance)
        if t1 - t0 >= min_s:
            out.append((int(s), int(e), t0, t1))
    return out


def jumps_table(
    metric: xr.Dataset,
    clearance_m: float = DEFAULT_CLEARANCE_M,
    min_flight_s: float = DEFAULT_MIN_FLIGHT_S,
) -> pd.DataFrame:
    """One row per flight (both feet above ``clearance_m``): columns :data:`JUMP_COLUMNS`.

    ``flight_time_s``: between the crossings of ``clearance_m``, corrected to floor level
    for a ballistic flight (``T = T_c / sqrt(1 - c / h_max)``, ``h_max`` the highest foot
    height); ``takeoff_s`` / ``landing_s``: the floor-level times (centred on the
    crossings); ``jump_height_flight_m = g T^2 / 8``; ``pelvis_rise_m``: highest pelvis
    height in the flight minus the pelvis height at take-off.
    """
    t = metric["time"].values
    rows: list[dict[str, Any]] = []
    for ind in metric["individual"].values:
        h = metric["foot_height"].sel(individual=ind).values
        pelvis = metric["pelvis_height"].sel(individual=ind).values
        for k, (s, e, t0, t1) in enumerate(_flights(t, h, clearance_m, min_flight_s), 1):
            h_max = float(np.nanmax(h[s : e + 1]))
            flight = (t1 - t0) / math.sqrt(max(1e-6, 1 - clearance_m / h_max))
            takeoff, landing = (t0 + t1 - flight) / 2, (t0 + t1 + flight) / 2
            rise = float(np.nanmax(pelvis[s : e + 1]) - np.interp(takeoff, t, pelvis))
            rows.append(
                {
                    "track": int(str(ind).rsplit("_", 1)[1]),
                    "number": k,
                    "takeoff_s": takeoff,
                    "landing_s": landing,
                    "flight_time_s": flight,
                    "jump_height_flight_m": GRAVITY_M_S2 * flight**2 / 8,
                    "pelvis_rise_m": rise,
                }
            )
    return pd.DataFrame(rows, columns=list(JUMP_COLUMNS))


#: Columns of :func:`speeds_table`: (column, variable, space component or None).
SPEED_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("pelvis_x_m", "pelvis_position", "x"),
    ("pelvis_y_m", "pelvis_position", "y"),
    ("pelvis_vx_m_s", "pelvis_velocity", "x"),
    ("pelvis_vy_m_s", "pelvis_velocity", "y"),
    ("pelvis_speed_m_s", "pelvis_speed", None),
    ("pelvis_acceleration_m_s2", "pelvis_acceleration_magnitude", None),
    ("vertical_displacement_m", "vertical_displacement", None),
    ("foot_height_m", "foot_height", None),
    ("spine_length_cm", "spine_length_cm", None),
)


def speeds_table(metric: xr.Dataset) -> pd.DataFrame:
    """One row per (frame, track): ``time_s, frame, track`` and :data:`SPEED_COLUMNS`
    (units in the names); rows where the pelvis is unseen are left out."""
    time = metric["time"].values
    frame = metric["frame"].values if "frame" in metric.coords else np.arange(time.size)
    parts = []
    for ind in metric["individual"].values:
        data: dict[str, Any] = {
            "time_s": time,
            "frame": frame,
            "track": int(str(ind).rsplit("_", 1)[1]),
        }
        for col, var, comp in SPEED_COLUMNS:
            da = metric[var].sel(individual=ind)
            data[col] = (da.sel(space=comp) if comp else da).values
        df = pd.DataFrame(data)
        parts.append(df[np.isfinite(df["pelvis_x_m"].to_numpy(np.float64))])
    columns = ["time_s", "frame", "track", *(c for c, _, _ in SPEED_COLUMNS)]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["frame", "track"], kind="stable").reset_index(drop=True)[columns]


def segment_lengths(metric_poses: xr.Dataset) -> xr.Dataset:
    """Median length of every skeleton link and the spine chain, per individual, in cm.

    Returns ``segment_length (link, individual)`` cm (labels ``a-b`` of
    :data:`~spinepose_sports.skeleton.LINKS`) and ``spine_length (time, individual)`` cm
    (the chain hip -> head, frame by frame).
    """
    p = metric_poses["position"].where(metric_poses["confidence"] >= DEFAULT_MIN_CONFIDENCE)
    xy = p.transpose("time", "individual", "keypoint", "space").values * 100.0
    labels, medians = [], []
    for a, b in LINKS:
        d = np.linalg.norm(xy[:, :, KEYPOINT_INDEX[a]] - xy[:, :, KEYPOINT_INDEX[b]], axis=-1)
        with np.errstate(invalid="ignore"):
            medians.append([np.nanmedian(c) if np.isfinite(c).any() else np.nan for c in d.T])
        labels.append(link_label(a, b))
    chain = xy[:, :, list(SPINE_CHAIN_INDICES)]
    spine = np.linalg.norm(np.diff(chain, axis=2), axis=-1).sum(axis=2)  # NaN if a gap
    ds = xr.Dataset(
        {
            "segment_length": (("link", "individual"), np.asarray(medians)),
            "spine_length_cm": (("time", "individual"), spine),
        },
        coords={
            "link": labels,
            "individual": metric_poses["individual"].values,
            "time": metric_poses["time"].values,
        },
    )
    ds["segment_length"].attrs.update(units="cm", description="median link length")
    ds["spine_length_cm"].attrs.update(units="cm", description="spine chain length hip -> head")
    return ds


def compute_metric(
    poses: xr.Dataset,
    calibration: Calibration | ResolvedCalibration,
    *,
    clearance_m: float = DEFAULT_CLEARANCE_M,
) -> xr.Dataset:
    """Everything in real-world units for one video (see the module doc).

    Returns the metric poses (``position`` m, ``confidence``) with, added:
    :func:`pelvis_motion`'s variables, ``foot_height``, ``airborne (time, individual)``
    (both feet above ``clearance_m``), ``segment_length (link, individual)`` cm and
    ``spine_length_cm (time, individual)``; attrs ``ds_type = "metric"`` and
    ``calibration`` (JSON of :meth:`ResolvedCalibration.to_dict`).
    """
    resolved = (
        calibration if isinstance(calibration, ResolvedCalibration) else resolve(poses, calibration)
    )
    metric = to_metres(poses, resolved)
    metric = metric.merge(pelvis_motion(metric))
    metric["foot_height"] = foot_height(metric)
    metric["airborne"] = metric["foot_height"] > clearance_m
    metric["airborne"].attrs["description"] = f"both feet above {clearance_m} m"
    metric = metric.merge(segment_lengths(metric))
    metric.attrs["ds_type"] = METRIC_DS_TYPE
    metric.attrs["clearance_m"] = clearance_m
    return metric
