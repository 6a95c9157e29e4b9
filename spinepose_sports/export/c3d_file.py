"""C3D files (Visual3D, Mokka, OpenSim, Vicon tools) through the ``c3d`` library.

One file per athlete.  Points: the 37 keypoints in mm (``POINT:UNITS = "mm"``), lab frame
Z up: X along the floor (image right), Y = 0 (depth), Z up from the floor; an unseen point
has residual -1 (the C3D "invalid" mark).  Angles, when kinematics are given, follow the
Vicon convention: one extra point per angle column (``X`` = the angle in deg, Y = Z = 0),
listed in ``POINT:ANGLES`` with ``POINT:ANGLE_UNITS = "deg"``.  ``POINT:RATE`` is the
video's frame rate; the first frame is 1.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._files import atomic_path
from .columns import angle_columns

MM_PER_M = 1000.0


def _c3d() -> Any:
    try:
        import c3d
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ImportError("C3D export needs the c3d package: pip install c3d") from exc
    return c3d


def c3d_points(
    metric_poses: xr.Dataset, kin: xr.Dataset | None, individual: str
) -> tuple[list[str], np.ndarray, list[str]]:
    """``(labels, points (T, P, 4) [x, y, z, residual], angle labels)`` for one athlete."""
    pos = metric_poses["position"].sel(individual=individual)
    xy = np.asarray(pos.transpose("time", "keypoint", "space").values, np.float64) * MM_PER_M
    n_t, n_k = xy.shape[:2]
    pts = np.zeros((n_t, n_k, 4))
    seen = np.isfinite(xy).all(axis=-1)
    pts[..., 0] = np.where(seen, xy[..., 0], 0.0)
    pts[..., 2] = np.where(seen, xy[..., 1], 0.0)
    pts[..., 3] = np.where(seen, 0.0, -1.0)
    labels = [str(k) for k in metric_poses["keypoint"].values]
    angle_labels: list[str] = []
    if kin is not None:
        cols = angle_columns(kin, individual)
        ang = np.zeros((n_t, len(cols.names), 4))
        ok = np.isfinite(cols.values)
        ang[..., 0] = np.where(ok, cols.values, 0.0)
        ang[..., 3] = np.where(ok, 0.0, -1.0)
        pts = np.concatenate([pts, ang], axis=1)
        angle_labels = list(cols.names)
    return labels + angle_labels, pts, angle_labels


def write_c3d(
    metric_poses: xr.Dataset, kin: xr.Dataset | None, individual: str, path: str | Path
) -> Path:
    """Write the C3D file of ``individual`` atomically; returns its path."""
    c3d = _c3d()
    labels, pts, angle_labels = c3d_points(metric_poses, kin, individual)
    rate = float(metric_poses.attrs.get("fps", 30.0))
    writer = c3d.Writer(point_rate=rate, analog_rate=0.0, point_scale=-1.0, point_units="mm  ")
    writer.set_point_labels(labels)
    group = writer.point_group
    if angle_labels:
        text, size = c3d.Writer.pack_labels(angle_labels)
        group.add_str("ANGLES", "Angle points (X = angle)", text, size, len(angle_labels))
        group.add_str("ANGLE_UNITS", "Angle units", "deg", 3)
    analog = np.zeros((0, 0), np.float32)
    frames = []
    for t in range(pts.shape[0]):
        frame = np.zeros((pts.shape[1], 5), np.float32)
        frame[:, :4] = pts[t]
        frames.append((frame, analog))
    writer.add_frames(frames)
    with atomic_path(path) as tmp, tmp.open("wb") as handle, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No analog data", category=UserWarning)
        writer.write(handle)
    return Path(path)
