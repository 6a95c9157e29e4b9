"""DataArray wrappers of the time-series tools: unwrap, velocity, acceleration."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from .angles import time_derivative, unwrap_time


def _along_time(da: xr.DataArray, fn: Callable[[np.ndarray], np.ndarray]) -> xr.DataArray:
    axis = da.dims.index("time")
    values = np.moveaxis(fn(np.moveaxis(np.asarray(da.values, np.float64), axis, 0)), 0, axis)
    return da.copy(data=values)


def unwrap_angles(da: xr.DataArray, period: float = 360.0) -> xr.DataArray:
    """Unwrap an angle DataArray (deg) along ``time``, skipping NaNs.

    The first valid value of each series lands in ``(-period/2, period/2]``; later values
    follow without jumps of a period, across NaN gaps too (:func:`.angles.unwrap_time`).
    """
    return _along_time(da, lambda v: unwrap_time(v, period))


def angular_velocity(da: xr.DataArray) -> xr.DataArray:
    """Time derivative along ``time`` using the real time coordinate (s), NaN-aware.

    Units ``<units>/s`` (deg/s for angles); see :func:`.angles.time_derivative`.
    """
    t = da["time"].values
    out = _along_time(da, lambda v: time_derivative(v, t))
    out.attrs = {"units": f"{da.attrs.get('units', 'deg')}/s"}
    out.name = f"{da.name}_velocity" if da.name is not None else None
    return out


def angular_acceleration(da: xr.DataArray) -> xr.DataArray:
    """Second time derivative along ``time`` (deg/s^2 for angles), NaN-aware."""
    t = da["time"].values
    out = _along_time(angular_velocity(da), lambda v: time_derivative(v, t))
    out.attrs = {"units": f"{da.attrs.get('units', 'deg')}/s^2"}
    out.name = f"{da.name}_acceleration" if da.name is not None else None
    return out
