"""The filters users know from Sports2D, as strategies with the smoother interface.

* :class:`ButterworthSmoother`: zero-lag low-pass Butterworth (``scipy.signal.butter`` +
  ``filtfilt``), run on each stretch between long gaps after short gaps are interpolated
  linearly; Sports2D's default (6 Hz).
* :class:`OneEuroSmoother`: the causal One-Euro filter (Casiez, Roussel and Vogel, CHI
  2012), whose cut-off rises with speed.
* :class:`NoSmoother`: the raw data, for comparisons.

Both filters treat points below ``min_confidence`` (or with a NaN coordinate or
confidence) as missing, like the Kalman smoother, and never fill frames before the first
or after the last observation of a series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.signal import butter, filtfilt

from ..skeleton import MIN_KEYPOINT_CONFIDENCE
from ._base import (
    bounding_confidence,
    check_inputs,
    check_positive,
    coverage,
    dataclass_params,
    nominal_period,
    observed_mask,
    prepare,
    unflatten,
)


@dataclass(frozen=True)
class NoSmoother:
    """The identity: returns copies of the inputs (the "raw" baseline).

    min_confidence: None (default) keeps every point as it is, confidences included, so
    that the kinematics (which apply their own ``min_confidence``) see the raw data; a
    number sets the position of points below it to NaN.
    """

    min_confidence: float | None = None
    name: ClassVar[str] = "none"

    def params(self) -> dict[str, Any]:
        return {} if self.min_confidence is None else {"min_confidence": self.min_confidence}

    def __call__(
        self, position: np.ndarray, confidence: np.ndarray, time_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        check_inputs(position, confidence, np.asarray(time_s, dtype=np.float64))
        pos = np.array(position, dtype=np.float64)
        conf = np.array(confidence, dtype=np.float64)
        if self.min_confidence is not None:
            with np.errstate(invalid="ignore"):
                low = ~(conf >= self.min_confidence)
            pos = np.where(low[:, None], np.nan, pos)
        return pos, conf


def _interpolate(
    z: np.ndarray, valid: np.ndarray, time_s: np.ndarray, max_gap_s: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Linear interpolation of bridged gaps.

    z: ``(T, C, M)`` px; valid: ``(T, M)``.  Returns ``filled (T, C, M)`` (NaN where not
    covered), ``covered (T, M)`` and the ``prev, next`` observation indices.
    """
    covered, prev, nxt = coverage(valid, time_s, max_gap_s)
    n_time = len(time_s)
    pi, ni = np.clip(prev, 0, n_time - 1), np.clip(nxt, 0, n_time - 1)
    cols = np.arange(z.shape[2])[None, :]
    t_prev, t_next = time_s[pi], time_s[ni]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(ni > pi, (time_s[:, None] - t_prev) / (t_next - t_prev), 0.0)
    z_prev = z.transpose(0, 2, 1)[pi, cols].transpose(0, 2, 1)
    z_next = z.transpose(0, 2, 1)[ni, cols].transpose(0, 2, 1)
    filled = z_prev + w[:, None, :] * (z_next - z_prev)
    filled = np.where(valid[:, None, :], z, filled)
    return np.where(covered[:, None, :], filled, np.nan), covered, prev, nxt


def _runs(covered: np.ndarray) -> dict[tuple[int, int], list[int]]:
    """Maximal runs of covered frames: ``{(start, stop): [series, ...]}``."""
    padded = np.zeros((covered.shape[0] + 2, covered.shape[1]), np.int8)
    padded[1:-1] = covered
    edges = np.diff(padded, axis=0)
    runs: dict[tuple[int, int], list[int]] = {}
    starts, stops = np.nonzero(edges == 1), np.nonzero(edges == -1)
    order_s = np.lexsort((starts[0], starts[1]))
    order_e = np.lexsort((stops[0], stops[1]))
    for a, b, m in zip(starts[0][order_s], stops[0][order_e], starts[1][order_s], strict=True):
        runs.setdefault((int(a), int(b)), []).append(int(m))
    return runs


@dataclass(frozen=True)
class ButterworthSmoother:
    """Zero-lag Butterworth low-pass, as Sports2D filters (its default: 6 Hz).

    cutoff_hz: cut-off frequency (Hz); order: order of the designed filter (``filtfilt``
    runs it forward and backward: zero phase, twice the attenuation); min_confidence:
    points below are missing; max_gap_s: gaps up to this are interpolated linearly before
    filtering, longer ones split the series into runs filtered separately and stay NaN.
    The sampling rate is ``1 / median(dt)``: the filter assumes a near-constant frame
    rate.  A cut-off at or above the Nyquist frequency leaves the data unfiltered; a run
    shorter than the filter's padding (``3 * (order + 1)`` frames) is filtered with a
    shorter padding, a run of fewer than 2 frames is left as is.  Confidence: the input's
    on observed frames, the lower of the two bounding observations on interpolated ones.
    """

    cutoff_hz: float = 6.0
    order: int = 4
    min_confidence: float = MIN_KEYPOINT_CONFIDENCE
    max_gap_s: float | None = 0.25
    name: ClassVar[str] = "butterworth"

    def __post_init__(self) -> None:
        check_positive(cutoff_hz=self.cutoff_hz, order=self.order)

    def params(self) -> dict[str, Any]:
        return dataclass_params(self)

    def __call__(
        self, position: np.ndarray, confidence: np.ndarray, time_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(T, 2, K, N)`` px, ``(T, K, N)``, ``(T,)`` s -> filtered position, confidence."""
        z, conf, time_s = prepare(position, confidence, time_s)
        valid = observed_mask(z, conf, self.min_confidence)
        filled, covered, prev, nxt = _interpolate(z, valid, time_s, self.max_gap_s)
        period = nominal_period(time_s)
        nyquist = 0.5 / period if period > 0 else 0.0
        out = filled.copy()
        if self.cutoff_hz < nyquist:
            b, a = butter(self.order, self.cutoff_hz / nyquist)
            for (start, stop), series in _runs(covered).items():
                if stop - start < 2:
                    continue
                seg = filled[start:stop][:, :, series]
                pad = min(3 * max(len(a), len(b)), stop - start - 1)
                out[start:stop, :, series] = filtfilt(b, a, seg, axis=0, padlen=pad)
        c_out = np.where(valid, conf, bounding_confidence(conf, prev, nxt))
        return unflatten(out, np.where(covered, c_out, np.nan), position.shape)


@dataclass(frozen=True)
class OneEuroSmoother:
    """The One-Euro filter: a first-order low-pass whose cut-off rises with speed; causal.

    cutoff = ``min_cutoff_hz + beta * speed`` (speed: the low-passed speed of the point
    over x and y, px/s, itself low-passed at ``d_cutoff_hz``); beta in Hz per px/s.  Each
    frame uses past frames only and its own time step (irregular timestamps are fine).
    Missing frames stay NaN (the filter holds its state across them); after a gap longer
    than ``max_gap_s`` it restarts from the next observation.  Confidence: the input's on
    observed frames.
    """

    min_cutoff_hz: float = 2.0
    beta: float = 0.01
    d_cutoff_hz: float = 1.0
    min_confidence: float = MIN_KEYPOINT_CONFIDENCE
    max_gap_s: float | None = 0.25
    name: ClassVar[str] = "one-euro"

    def __post_init__(self) -> None:
        check_positive(min_cutoff_hz=self.min_cutoff_hz, d_cutoff_hz=self.d_cutoff_hz)
        if not (np.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta: expected a number >= 0, received {self.beta!r}")

    def params(self) -> dict[str, Any]:
        return dataclass_params(self)

    def __call__(
        self, position: np.ndarray, confidence: np.ndarray, time_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(T, 2, K, N)`` px, ``(T, K, N)``, ``(T,)`` s -> filtered position, confidence."""
        z, conf, time_s = prepare(position, confidence, time_s)
        valid = observed_mask(z, conf, self.min_confidence)
        out = np.full_like(z, np.nan)
        n_ser = z.shape[2]
        x_hat = np.zeros(z.shape[1:])
        dx_hat = np.zeros(z.shape[1:])
        last = np.full(n_ser, -np.inf)
        restart = np.inf if self.max_gap_s is None else self.max_gap_s + nominal_period(time_s)
        tau_d = 1.0 / (2 * np.pi * self.d_cutoff_hz)
        for t in range(len(time_s)):
            v = valid[t]
            if not np.count_nonzero(v):
                continue
            dt = time_s[t] - last
            fresh = v & ((dt > restart) | ~np.isfinite(last))  # first observation: start
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                dx = (z[t] - x_hat) / dt
                dx_hat = np.where(v, dx_hat + (dx - dx_hat) * (dt / (dt + tau_d)), dx_hat)
                speed = np.sqrt((dx_hat * dx_hat).sum(0))
                tau = 1.0 / (2 * np.pi * (self.min_cutoff_hz + self.beta * speed))
                step = x_hat + (z[t] - x_hat) * (dt / (dt + tau))
            x_hat = np.where(fresh, z[t], np.where(v, step, x_hat))
            dx_hat = np.where(fresh, 0.0, dx_hat)
            last = np.where(v, time_s[t], last)
            out[t] = np.where(v, x_hat, np.nan)
        return unflatten(out, np.where(valid, conf, np.nan), position.shape)
