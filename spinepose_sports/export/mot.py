"""MOT angle time series (OpenSim storage format): one file per athlete, degrees.

Layout (tab-separated; OpenSim's ``Storage`` / ``STOFileAdapter`` header)::

    <name>
    version=1
    nRows=<T>
    nColumns=<1 + M>
    inDegrees=yes
    endheader
    time  trunk_flexion  pelvis_tilt  segment_angle_hip-spine_01 ...
    0.000000  12.345678 ...

Columns: ``time`` (s) and the angle columns of
:func:`~spinepose_sports.export.columns.angle_columns` (deg); ``NaN`` where an angle is
undefined (point unseen, ambiguous facing).
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from ._files import fmt, write_text
from .columns import angle_columns

MOT_DIGITS = 6


def mot_text(kin: xr.Dataset, individual: str, name: str) -> str:
    """The MOT file of ``individual`` from a kinematics dataset."""
    cols = angle_columns(kin, individual)
    time = kin["time"].values
    header = [
        name,
        "version=1",
        f"nRows={time.size}",
        f"nColumns={1 + len(cols.names)}",
        "inDegrees=yes",
        "endheader",
        "\t".join(["time", *cols.names]),
    ]
    rows = [
        "\t".join([f"{time[t]:.6f}", *(fmt(v, MOT_DIGITS) for v in cols.values[t])])
        for t in range(time.size)
    ]
    return "\n".join(header + rows) + "\n"


def write_mot(kin: xr.Dataset, individual: str, path: str | Path) -> Path:
    """Write the MOT file of ``individual`` atomically; returns its path."""
    path = Path(path)
    return write_text(path, mot_text(kin, individual, path.stem))
