"""TRC marker trajectories (OpenSim, Mokka): one file per athlete, metres, Y up.

Layout (tab-separated, the Motion Analysis TRC format that OpenSim reads)::

    PathFileType  4  (X/Y/Z)  <file name>
    DataRate CameraRate NumFrames NumMarkers Units OrigDataRate OrigDataStartFrame OrigNumFrames
    <fps>    <fps>      <T>       37         m     <fps>        1                  <T>
    Frame#  Time  nose  <tab>  <tab>  left_eye ...          (each name over its 3 columns)
                  X1    Y1     Z1     X2  ...
    <blank line>
    1       0.000000  x  y  z  ...                         (one row per video frame)

X: along the floor (image right), Y: up from the floor, Z: 0 (depth is not measured
from one camera); a marker not seen in a frame is ``NaN NaN NaN``.  Markers: the 37
SpineTrack keypoint names in model order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ._files import fmt, write_text

TRC_DIGITS = 6


def trc_text(metric_poses: xr.Dataset, individual: str, file_name: str) -> str:
    """The TRC file of ``individual`` from metric poses (``position`` in m)."""
    pos = metric_poses["position"].sel(individual=individual)
    xy = np.asarray(pos.transpose("time", "keypoint", "space").values, np.float64)  # (T, K, 2)
    names = [str(k) for k in metric_poses["keypoint"].values]
    time = metric_poses["time"].values
    rate = float(metric_poses.attrs.get("fps", 0.0)) or (
        1.0 / float(np.median(np.diff(time))) if time.size > 1 else 1.0
    )
    n_t, n_k = xy.shape[0], len(names)
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{file_name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate"
        "\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:.6g}\t{rate:.6g}\t{n_t}\t{n_k}\tm\t{rate:.6g}\t1\t{n_t}",
        "Frame#\tTime\t" + "\t".join(f"{n}\t\t" for n in names).rstrip("\t"),
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, n_k + 1)),
        "",
    ]
    for t in range(n_t):
        cells = [str(t + 1), f"{time[t]:.6f}"]
        for k in range(n_k):
            x, y = xy[t, k]
            seen = np.isfinite(x) and np.isfinite(y)
            z = 0.0 if seen else float("nan")
            cells += [fmt(x, TRC_DIGITS), fmt(y, TRC_DIGITS), fmt(z, TRC_DIGITS)]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def write_trc(metric_poses: xr.Dataset, individual: str, path: str | Path) -> Path:
    """Write the TRC file of ``individual`` atomically; returns its path."""
    path = Path(path)
    return write_text(path, trc_text(metric_poses, individual, path.name))
