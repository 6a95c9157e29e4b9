"""Angle time series of a kinematics dataset as flat named columns (MOT, C3D, Excel).

Every variable with ``units == "deg"`` and dims ``(time, individual)`` or
``(time, <label dim>, individual)`` becomes columns: ``trunk_flexion`` for a scalar,
``<variable>_<label>`` for a labelled one (``regional_angle_lumbar``,
``segment_angle_hip-spine_01``, ``joint_angle_right_knee``).  Velocities (deg/s) and
other units are left out.  Variables are taken in the dataset's order, labels in their
coordinate's order, so the columns follow the kinematics dataset whatever it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class AngleColumns:
    """names: ``M`` column names; variables, labels: where each comes from (label ``""``
    for a scalar); values: ``(T, M)`` deg for one individual."""

    names: list[str]
    variables: list[str]
    labels: list[str]
    values: np.ndarray


def _label_text(value: object) -> str:
    return f"{float(value):.3f}" if isinstance(value, float | np.floating) else str(value)


def angle_columns(kin: xr.Dataset, individual: str, units: str = "deg") -> AngleColumns:
    """The angle columns (see the module doc) of ``individual`` (``"track_3"``)."""
    names: list[str] = []
    variables: list[str] = []
    labels: list[str] = []
    blocks: list[np.ndarray] = []
    n_time = kin.sizes["time"]
    for name, da in kin.data_vars.items():
        if da.attrs.get("units") != units or "time" not in da.dims or "individual" not in da.dims:
            continue
        other = [d for d in da.dims if d not in ("time", "individual")]
        one = da.sel(individual=individual)
        if not other:
            names.append(str(name))
            variables.append(str(name))
            labels.append("")
            blocks.append(np.asarray(one.transpose("time").values, np.float64)[:, None])
        elif len(other) == 1:
            dim = other[0]
            for value in kin[dim].values:
                label = _label_text(value)
                names.append(f"{name}_{label}")
                variables.append(str(name))
                labels.append(label)
            blocks.append(np.asarray(one.transpose("time", dim).values, np.float64))
    values = np.concatenate(blocks, axis=1) if blocks else np.zeros((n_time, 0))
    return AngleColumns(names, variables, labels, values)
