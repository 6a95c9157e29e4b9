"""The smoother contract and the helpers every strategy shares.

Array conventions inside this package (letters as in the docstrings):

* ``T`` frames, ``C = 2`` coordinates (x, y), ``K = 37`` keypoints, ``N`` tracks and
  ``M = K * N`` independent *series* (one keypoint of one track).
* A strategy receives ``position (T, 2, K, N)`` px, ``confidence (T, K, N)`` and
  ``time_s (T,)`` seconds, and returns new ``(position, confidence)`` of the same shapes.
* Internally the keypoint and track axes are flattened: ``(T, C, M)`` and ``(T, M)``.

A point is *observed* when both coordinates and its confidence are finite and the
confidence is at least ``min_confidence``; everything else is treated as missing.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, runtime_checkable

import numpy as np

#: Confidences below this are floored before they scale a measurement noise.
CONFIDENCE_FLOOR = 1e-3


@runtime_checkable
class Smoother(Protocol):
    """A temporal smoothing strategy.

    ``name`` identifies it in the transform log; ``params()`` returns its parameters
    (JSON-able, physical units); calling it maps ``position (T, 2, K, N)`` px,
    ``confidence (T, K, N)`` and ``time_s (T,)`` s to new ``(position, confidence)``
    arrays of the same shapes.  It must not modify its inputs.
    """

    @property
    def name(self) -> str: ...

    def params(self) -> dict[str, Any]: ...

    def __call__(
        self, position: np.ndarray, confidence: np.ndarray, time_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]: ...


def flatten(position: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(T, 2, K, N)``, ``(T, K, N)`` -> float64 ``(T, 2, M)``, ``(T, M)`` with ``M = K*N``."""
    t, c, k, n = position.shape
    z = np.asarray(position, dtype=np.float64).reshape(t, c, k * n)
    conf = np.asarray(confidence, dtype=np.float64).reshape(t, k * n)
    return z, conf


def prepare(
    position: np.ndarray, confidence: np.ndarray, time_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a smoother's inputs and flatten them: ``(z (T, 2, M), conf (T, M), time_s)``,
    float64, with ``M = K*N`` series (see :func:`flatten`)."""
    time_s = np.asarray(time_s, dtype=np.float64)
    check_inputs(position, confidence, time_s)
    z, conf = flatten(position, confidence)
    return z, conf, time_s


def unflatten(
    z: np.ndarray, conf: np.ndarray, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`flatten`: back to ``(T, 2, K, N)`` and ``(T, K, N)``."""
    t, c, k, n = shape
    return z.reshape(t, c, k, n), conf.reshape(t, k, n)


def observed_mask(z: np.ndarray, conf: np.ndarray, min_confidence: float) -> np.ndarray:
    """``(T, M)`` bool: both coordinates and the confidence finite, confidence >= threshold."""
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(conf) & (conf >= min_confidence)
    return ok & np.isfinite(z).all(axis=1)


def nominal_period(time_s: np.ndarray) -> float:
    """Median frame interval in seconds (0 for fewer than two frames)."""
    if time_s.size < 2:
        return 0.0
    return float(np.median(np.diff(time_s)))


def neighbours(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each frame, the index of the last ``True`` at or before it and the first at or after.

    mask: ``(T, M)`` bool.  Returns ``prev, next`` int ``(T, M)``; ``-1`` where there is no
    earlier observation, ``T`` where there is no later one.
    """
    n_time = mask.shape[0]
    idx = np.arange(n_time)[:, None]
    prev = np.maximum.accumulate(np.where(mask, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(mask, idx, n_time)[::-1], axis=0)[::-1]
    return prev, nxt


def coverage(
    mask: np.ndarray, time_s: np.ndarray, max_gap_s: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames an offline smoother may fill: inside a series' observed span, gaps bridged.

    A gap is the run of frames without an observation between two observations; its
    duration is ``t_next - t_prev - period`` (the time the missing frames span, ``period``
    the median frame interval).  Frames of gaps up to ``max_gap_s`` are covered (``None``:
    any gap); frames before the first or after the last observation never are.

    Returns ``covered (T, M)`` bool and the ``prev, next`` indices of :func:`neighbours`.
    """
    prev, nxt = neighbours(mask)
    n_time = mask.shape[0]
    inside = (prev >= 0) & (nxt < n_time)
    if max_gap_s is None:
        return inside, prev, nxt
    t_prev = time_s[np.clip(prev, 0, n_time - 1)]
    t_next = time_s[np.clip(nxt, 0, n_time - 1)]
    gap = t_next - t_prev - nominal_period(time_s)
    return inside & (gap <= max_gap_s + 1e-9), prev, nxt


def segment_coverage(accepted: np.ndarray, reset: np.ndarray) -> tuple[np.ndarray, ...]:
    """Frames a filter with restarts covers: between accepted points of one segment.

    accepted, reset: ``(T, M)`` bool (a restart is always accepted).  A frame is covered
    when it lies between two accepted measurements and the later one is not a restart.
    Returns ``covered (T, M)`` and the ``prev, next`` indices of :func:`neighbours`.
    """
    prev, nxt = neighbours(accepted)
    n_time = accepted.shape[0]
    inside = (prev >= 0) & (nxt < n_time)
    cols = np.arange(accepted.shape[1])[None, :]
    joined = accepted | ~reset[np.clip(nxt, 0, n_time - 1), cols]
    return inside & joined, prev, nxt


def bounding_confidence(conf: np.ndarray, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """``(T, M)``: the lower confidence of the observations at ``prev`` and ``next``.

    NaN where either does not exist.
    """
    n_time = conf.shape[0]
    cols = np.arange(conf.shape[1])[None, :]
    c_prev = np.where(prev >= 0, conf[np.clip(prev, 0, n_time - 1), cols], np.nan)
    c_next = np.where(nxt < n_time, conf[np.clip(nxt, 0, n_time - 1), cols], np.nan)
    return np.minimum(c_prev, c_next)


def check_inputs(position: np.ndarray, confidence: np.ndarray, time_s: np.ndarray) -> None:
    """Raise ``ValueError`` naming the field whose shape does not fit the contract."""
    if position.ndim != 4 or position.shape[1] != 2:
        raise ValueError(f"position: expected shape (T, 2, K, N), received {position.shape}")
    t, _, k, n = position.shape
    if confidence.shape != (t, k, n):
        raise ValueError(f"confidence: expected shape {(t, k, n)}, received {confidence.shape}")
    if time_s.shape != (t,):
        raise ValueError(f"time: expected shape {(t,)}, received {time_s.shape}")
    if t > 1 and not np.all(np.diff(time_s) > 0):
        raise ValueError("time: expected strictly increasing seconds")


def check_positive(**values: float | None) -> None:
    """Raise ``ValueError`` for a parameter that is not a positive finite number."""
    for name, value in values.items():
        if value is None:
            continue
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name}: expected a positive number, received {value!r}")


def dataclass_params(strategy: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A dataclass strategy's fields as its parameters (``name`` and ``exclude`` left out)."""
    skip = {"name", *exclude}
    return {
        f.name: getattr(strategy, f.name)
        for f in dataclasses.fields(strategy)
        if f.name not in skip
    }
