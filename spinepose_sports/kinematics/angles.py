"""Numeric building blocks shared by the kinematics modules (pure numpy, no xarray).

Conventions: angles in degrees; time along axis 0 of every time series; NaN marks a
missing value and is never replaced by zero.  Points are in a **y-up** frame (image y
negated), so ``atan2`` gives anticlockwise-positive angles as Sports2D does.
"""

from __future__ import annotations

import numpy as np

#: Vectors shorter than this (px) have no direction: their angles are NaN, never 0.
MIN_VECTOR_LENGTH_PX = 1e-6


def to_y_up(xy: np.ndarray) -> np.ndarray:
    """Image points ``(..., 2)`` px (y down) -> the same points with y negated (y up)."""
    out = np.array(xy, dtype=np.float64, copy=True)
    out[..., 1] *= -1.0
    return out


def wrap(angle: np.ndarray | float, period: float = 360.0) -> np.ndarray:
    """Wrap angles (deg) into ``(-period/2, period/2]``; NaN stays NaN."""
    a = np.asarray(angle, dtype=np.float64)
    half = period / 2.0
    return half - np.mod(half - a, period)


def direction_deg(vec: np.ndarray) -> np.ndarray:
    """Direction of vectors ``(..., 2)`` (y up) from the +x axis, anticlockwise, deg.

    Returns ``(...)`` in ``(-180, 180]``; NaN where a component is NaN or the vector is
    shorter than :data:`MIN_VECTOR_LENGTH_PX`.
    """
    v = np.asarray(vec, dtype=np.float64)
    out = np.degrees(np.arctan2(v[..., 1], v[..., 0]))
    return _mask_short(out, v)


def tilt_from_vertical_deg(vec: np.ndarray, sign: np.ndarray | float) -> np.ndarray:
    """Angle of vectors ``(..., 2)`` (y up) from the upward vertical, deg in ``(-180, 180]``.

    Positive when the vector leans toward image ``x * sign`` (``sign`` +1: image right,
    -1: image left; broadcast against ``vec[..., 0]``).  NaN for missing or zero vectors.
    """
    v = np.asarray(vec, dtype=np.float64)
    out = np.degrees(np.arctan2(np.asarray(sign, dtype=np.float64) * v[..., 0], v[..., 1]))
    return _mask_short(out, v)


def rotation_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed anticlockwise rotation (deg, ``(-180, 180]``) that takes vector a to vector b.

    ``a`` and ``b``: ``(..., 2)`` in a y-up frame.  NaN where either is missing or too short.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    dot = a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]
    out = np.degrees(np.arctan2(cross, dot))
    out = _mask_short(out, a)
    return _mask_short(out, b)


def _mask_short(angle: np.ndarray, vec: np.ndarray) -> np.ndarray:
    length = np.hypot(vec[..., 0], vec[..., 1])
    bad = ~(length >= MIN_VECTOR_LENGTH_PX)  # also catches NaN
    if np.any(bad):
        angle = np.where(bad, np.nan, angle)
    # atan2 may return -180 exactly; move it to +180 so the range is (-180, 180].
    return np.where(angle == -180.0, 180.0, angle)


def unwrap_time(angle: np.ndarray, period: float = 360.0) -> np.ndarray:
    """Unwrap angle time series along axis 0 (time), skipping NaNs.

    angle: ``(T, ...)`` deg.  The first valid value of each series is wrapped into
    ``(-period/2, period/2]``; every later valid value is moved by a multiple of ``period``
    so that it differs from the previous *valid* value by at most ``period/2`` (so no
    jumps across NaN gaps either).  NaNs stay NaN.
    """
    a = np.asarray(angle, dtype=np.float64)
    if a.shape[0] == 0:
        return a.copy()
    flat = a.reshape(a.shape[0], -1)
    valid = np.isfinite(flat)
    n_t = flat.shape[0]
    index = np.where(valid, np.arange(n_t)[:, None], -1)
    last_valid = np.maximum.accumulate(index, axis=0)
    prev = np.full_like(last_valid, -1)
    prev[1:] = last_valid[:-1]
    has_prev = valid & (prev >= 0)
    cols = np.broadcast_to(np.arange(flat.shape[1]), flat.shape)
    prev_val = flat[np.maximum(prev, 0), cols]
    step = np.where(has_prev, flat - prev_val, 0.0)
    correction = np.where(has_prev, wrap(step, period) - step, 0.0)
    first = valid & ~has_prev
    correction = np.where(first, wrap(flat, period) - flat, correction)
    out = flat + np.cumsum(np.nan_to_num(correction), axis=0)
    out = np.where(valid, out, np.nan)
    return out.reshape(a.shape)


def time_derivative(values: np.ndarray, time_s: np.ndarray) -> np.ndarray:
    """First derivative along axis 0 with respect to ``time_s`` (T,), NaN-aware.

    values: ``(T, ...)``.  Interior samples with both neighbours valid use the
    second-order central difference for uneven spacing (exact for quadratics); samples
    with one valid neighbour use the one-sided difference; isolated samples are NaN.
    Units: values' units per second.
    """
    f = np.asarray(values, dtype=np.float64)
    t = np.asarray(time_s, dtype=np.float64)
    out = np.full(f.shape, np.nan)
    if f.shape[0] < 2:
        return out
    shape = (-1,) + (1,) * (f.ndim - 1)
    h = np.diff(t).reshape(shape)
    fwd = (f[1:] - f[:-1]) / h  # (T-1, ...) difference between t and t+1
    # one-sided estimates
    out[:-1] = fwd
    out[-1] = fwd[-1]
    back_only = np.full(f.shape, np.nan)
    back_only[1:] = fwd
    out = np.where(np.isfinite(out), out, back_only)
    if f.shape[0] >= 3:
        hl, hr = h[:-1], h[1:]
        f0, fm, fp = f[1:-1], f[:-2], f[2:]
        central = (hl**2 * fp - hr**2 * fm + (hr**2 - hl**2) * f0) / (hl * hr * (hl + hr))
        out[1:-1] = np.where(np.isfinite(central), central, out[1:-1])
    return np.where(np.isfinite(f), out, np.nan)
