"""Temporal smoothing of poses: Kalman-RTS (the default) and friends, as strategies.

Entry point::

    smoothed = smooth(poses, method="kalman", **params)

``method`` is a name from :data:`METHODS` or a strategy object (anything that satisfies
:class:`Smoother`); ``params`` are the strategy's parameters (physical units: px, s, Hz).
The result is a new poses dataset of the same schema whose ``position`` and
``confidence`` are the smoothed values; the input is not modified; the method and its
parameters are appended to ``attrs["log"]`` as ``{"operation": "smooth", "parameters":
{"method": ..., ...}}``.

Methods (:data:`METHODS`):

* ``"kalman"``: confidence-weighted constant-velocity Kalman filter + RTS smoother, gaps
  bridged up to ``max_gap_s``, outliers rejected by an innovation gate and re-checked by
  the smoother (:class:`KalmanSmoother`);
* ``"kalman-ca"``: the same with a constant-acceleration model;
* ``"kalman-causal"``: the forward filter only, for live use (no look-ahead);
* ``"spine-prior"``: Kalman-RTS plus a spatio-temporal smoother of the 10-point spine chain
  that also penalises second differences along it, relative to the athlete's median
  posture by default or to a straight line as in the SpinePose paper
  (:class:`SpinePriorSmoother`);
* ``"butterworth"``: zero-lag Butterworth low-pass, Sports2D's default, 6 Hz
  (:class:`ButterworthSmoother`);
* ``"one-euro"``: the causal One-Euro filter (:class:`OneEuroSmoother`);
* ``"none"``: the raw data (:class:`NoSmoother`).

Every method treats points below ``min_confidence`` as missing and never invents a point:
a keypoint never observed stays NaN, frames before a series' first or after its last
observation stay NaN, and gaps longer than ``max_gap_s`` stay NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import xarray as xr

from ..data import append_log, validate_poses
from . import _compiled
from ._base import Smoother
from .classic import ButterworthSmoother, NoSmoother, OneEuroSmoother
from .kalman import KalmanSmoother
from .spine_prior import SpinePriorSmoother

#: Method name -> factory taking the method's parameters as keywords.
METHODS: dict[str, Callable[..., Smoother]] = {
    "kalman": KalmanSmoother,
    "kalman-ca": partial(KalmanSmoother, model="ca"),
    "kalman-causal": partial(KalmanSmoother, causal=True),
    "spine-prior": SpinePriorSmoother,
    "butterworth": ButterworthSmoother,
    "one-euro": OneEuroSmoother,
    "none": NoSmoother,
}

__all__ = [
    "METHODS",
    "ButterworthSmoother",
    "KalmanSmoother",
    "NoSmoother",
    "OneEuroSmoother",
    "Smoother",
    "SpinePriorSmoother",
    "make_smoother",
    "smooth",
]


def make_smoother(method: str | Smoother = "kalman", **params: Any) -> Smoother:
    """The strategy for ``method`` (a name of :data:`METHODS` or a strategy) and ``params``."""
    if isinstance(method, str):
        if method not in METHODS:
            raise ValueError(f"method: expected one of {sorted(METHODS)}, received {method!r}")
        return METHODS[method](**params)
    if not isinstance(method, Smoother):
        raise TypeError(
            f"method: expected a name or a Smoother strategy, received {type(method).__name__}"
        )
    if params:
        raise TypeError(f"params {sorted(params)} given with a strategy object: set them on it")
    return method


# Tracks smoothed together in one call: at most this many track-frames (a few tens of MB
# of filter state; see :func:`_in_chunks`).
CHUNK_TRACK_FRAMES = 4096


def _chunks(
    n_time: int, n_keypoints: int, n_tracks: int, keypoints_apart: bool
) -> list[tuple[slice, slice]]:
    """``(keypoints, tracks)`` slices of the smoother calls: whole tracks, as many as
    :data:`CHUNK_TRACK_FRAMES` allows (at least one); when one track is longer than that
    and the smoother treats keypoints independently (``keypoints_apart``), a few
    keypoints of one track at a time, the same share of the budget."""
    per_call = CHUNK_TRACK_FRAMES / max(n_time, 1)  # tracks
    if per_call >= 1 or not keypoints_apart:
        step = max(1, int(per_call))
        return [(slice(None), slice(j, min(j + step, n_tracks)))
                for j in range(0, n_tracks, step)]
    step = max(1, int(per_call * n_keypoints))
    return [(slice(k, min(k + step, n_keypoints)), slice(j, j + 1))
            for j in range(n_tracks) for k in range(0, n_keypoints, step)]


def _in_chunks(
    smoother: Smoother, position: np.ndarray, confidence: np.ndarray, time_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``smoother`` run on a few tracks (or keypoints) at a time.  Every method treats
    tracks independently, the Kalman smoother keypoints too, and the Kalman smoothers
    keep a state and covariance per frame and series (about 11 kB per track and frame),
    so one call on all the tracks of a long video would hold all of them at once.
    ``(T, 2, K, N)``, ``(T, K, N)`` -> the same."""
    n_time, _, n_keypoints, n_tracks = position.shape
    # without the compiled loops every call costs a Python loop over the frames (3x the
    # time for a 5-minute track cut in 2): whole tracks then
    apart = getattr(smoother, "keypoints_independent", False) and _compiled.AVAILABLE
    chunks = _chunks(n_time, n_keypoints, n_tracks, apart)
    if len(chunks) == 1:
        return smoother(position, confidence, time_s)
    out_pos = np.empty(position.shape, np.float32)
    out_conf = np.empty(confidence.shape, np.float32)
    for kp, tr in chunks:
        out_pos[:, :, kp, tr], out_conf[:, kp, tr] = smoother(
            position[:, :, kp, tr], confidence[:, kp, tr], time_s
        )
    return out_pos, out_conf


def smooth(
    poses: xr.Dataset,
    method: str | Smoother = "kalman",
    *,
    min_confidence: float | None = None,
    **params: Any,
) -> xr.Dataset:
    """Smooth a poses dataset in time.

    poses: a poses dataset (``position (time, space, keypoint, individual)`` px,
    ``confidence (time, keypoint, individual)``, ``time`` in s).  method, params: see
    :data:`METHODS` and the strategy classes.  min_confidence: points below it are missing
    for the smoother (None: the strategy's default,
    :data:`~spinepose_sports.skeleton.MIN_KEYPOINT_CONFIDENCE` for every method but
    ``"none"``, which keeps the raw points); with a strategy object, set it on the object.
    Returns a new dataset of the same schema with the smoothed ``position`` (float32 px,
    NaN where missing) and ``confidence``, the input untouched, and the method and its
    parameters appended to ``attrs["log"]``.
    """
    validate_poses(poses)
    if min_confidence is not None:
        if not isinstance(method, str):
            raise TypeError("min_confidence given with a strategy object: set it on the object")
        params["min_confidence"] = min_confidence
    smoother = make_smoother(method, **params)
    pos = poses["position"].transpose("time", "space", "keypoint", "individual")
    conf = poses["confidence"].transpose("time", "keypoint", "individual")
    time_s = np.asarray(poses["time"].values, dtype=np.float64)
    new_pos, new_conf = _in_chunks(smoother, np.asarray(pos.values), np.asarray(conf.values),
                                   time_s)
    out = poses.copy(deep=False)
    out["position"] = pos.copy(data=np.asarray(new_pos, dtype=np.float32)).transpose(
        *poses["position"].dims
    )
    out["confidence"] = conf.copy(data=np.asarray(new_conf, dtype=np.float32)).transpose(
        *poses["confidence"].dims
    )
    return append_log(out, "smooth", method=smoother.name, **smoother.params())
