"""The Kalman-RTS smoothing strategy: confidence weighting, gaps, outlier gate, re-check.

The numerical engine (vectorised filter and smoother) is :mod:`.engine`; this module turns
poses into measurements, chooses the model from physical parameters, re-checks the
accepted measurements after smoothing and assembles the output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy.ndimage import maximum_filter1d

from ..skeleton import MIN_KEYPOINT_CONFIDENCE
from ._base import (
    CONFIDENCE_FLOOR,
    bounding_confidence,
    check_positive,
    neighbours,
    nominal_period,
    observed_mask,
    prepare,
    segment_coverage,
    unflatten,
)
from .engine import (
    ForwardResult,
    Problem,
    first_after,
    last_before,
    rerun,
    rts_smoother,
    transition,
)

#: Motion models: name -> order of the white-noise model.
MODELS = {"cv": 1, "ca": 2}
#: Default spectral density of the white acceleration (cv, px²/s³) or jerk (ca, px²/s⁵).
DEFAULT_PROCESS_NOISE = {"cv": 5e5, "ca": 1e8}
#: Prior std of a (re)starting series' position around its first measurement (px).
INIT_POSITION_STD = 1e3


@dataclass(frozen=True)
class KalmanResult:
    """Flattened output of :meth:`KalmanSmoother.run` (``M`` series).

    position: ``(T, 2, M)`` px, NaN where not covered; confidence: ``(T, M)``;
    variance: ``(T, M)`` posterior variance of each coordinate, px²; accepted, reset,
    covered: ``(T, M)`` bool; meas_var: ``(T, M)`` measurement variance px²; inflation:
    ``(T, M)`` factor on the predicted covariance (1 except after a rejected measurement).
    """

    position: np.ndarray
    confidence: np.ndarray
    variance: np.ndarray
    accepted: np.ndarray
    reset: np.ndarray
    covered: np.ndarray
    meas_var: np.ndarray
    inflation: np.ndarray


@dataclass(frozen=True)
class KalmanSmoother:
    """Confidence-weighted Kalman filter + RTS smoother with gap bridging and an outlier gate.

    Every parameter is in physical units, so one setting serves 25 to 120 fps:

    * ``model``: ``"cv"`` constant velocity (white-noise acceleration) or ``"ca"``
      constant acceleration (white-noise jerk).
    * ``process_noise``: spectral density ``q`` of that white noise, px²/s³ (cv) or
      px²/s⁵ (ca); ``None`` takes :data:`DEFAULT_PROCESS_NOISE`.  Over ``τ`` seconds a cv
      velocity drifts with std ``sqrt(q τ)`` px/s.
    * ``measurement_noise``: std (px) of a keypoint of confidence 1; a keypoint of
      confidence ``c`` has std ``measurement_noise / c`` (``c`` floored at 1e-3).
    * ``min_confidence``: points below it (or with a NaN coordinate or confidence) are missing.
    * ``max_gap_s``: gaps whose missing frames span up to this many seconds are bridged;
      longer ones stay NaN and the series restarts after them; ``None`` bridges any gap.
    * ``gate``: a measurement whose Mahalanobis distance over x and y (chi-square with 2
      dof) exceeds ``gate`` is rejected as an outlier (an inlier is rejected with
      probability ``exp(-gate²/2)``); ``None`` turns the gate off.
    * ``reacquire_s``: while measurements are rejected, the predicted variance doubles
      every ``reacquire_s`` seconds, so the gate reopens soon after a genuine fast
      movement instead of locking the track out; ``None`` turns it off.
    * ``recheck``: rounds of the smoother's verdict on the forward gate (it sees both
      sides of every frame): an accepted measurement whose leave-one-out residual
      ``|z - x_s|² / (R - P_s)`` exceeds ``gate²`` (the worst within 0.1 s per round) is
      rejected, and a rejected one within the gate of the smoothed estimate is admitted;
      only the affected frames are filtered and smoothed again (:func:`.engine.rerun`).
      This catches the outliers the forward gate lets through (a segment's start, a
      low-confidence jump) and the good points it then refuses.  0 turns it off.
    * ``verify_confidence``: a measurement below this confidence that dominates its own
      estimate (posterior variance over half its measurement variance: nothing nearby can
      confirm or refute it, e.g. a lone detection inside a dropout) is rejected by the
      re-check.
    * ``causal``: forward filter only, for live use: each frame uses past frames only, and
      a gap is bridged by prediction for at most ``max_gap_s`` after the last measurement.
    * ``init_velocity_std`` (px/s), ``init_acceleration_std`` (px/s², ca only): prior std
      of the derivatives of a (re)starting series, whose prior position is its first
      measurement.

    Output: smoothed positions where a series is covered (between its first and last
    accepted measurements, gaps up to ``max_gap_s``), NaN elsewhere; a keypoint never
    observed stays NaN.  Confidence: the input confidence where a measurement was accepted;
    on bridged or rejected frames ``min(c_prev, c_next) * s0 / sqrt(s0² + var)``: the
    lower confidence of the accepted measurements around the gap (causal: the last one),
    times a factor below 1 that falls as the posterior variance ``var`` (px²) of the
    position grows (``s0 = measurement_noise``); NaN where the position is NaN.
    """

    model: str = "cv"
    process_noise: float | None = None
    measurement_noise: float = 3.0
    min_confidence: float = MIN_KEYPOINT_CONFIDENCE
    max_gap_s: float | None = 0.25
    gate: float | None = 4.0
    recheck: int = 3
    causal: bool = False
    init_velocity_std: float = 1000.0
    init_acceleration_std: float = 1e4
    reacquire_s: float | None = 0.05
    verify_confidence: float = 0.5
    name: str = field(init=False)
    #: Each keypoint is its own series: ``smooth`` may give it a few keypoints at a time.
    keypoints_independent: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model: expected one of {sorted(MODELS)}, received {self.model!r}")
        check_positive(
            process_noise=self.process_noise,
            measurement_noise=self.measurement_noise,
            gate=self.gate,
            init_velocity_std=self.init_velocity_std,
            init_acceleration_std=self.init_acceleration_std,
        )
        check_positive(reacquire_s=self.reacquire_s)
        if self.max_gap_s is not None and not self.max_gap_s >= 0:
            raise ValueError(f"max_gap_s: expected >= 0 or None, received {self.max_gap_s!r}")
        if int(self.recheck) != self.recheck or self.recheck < 0:
            raise ValueError(f"recheck: expected a count >= 0, received {self.recheck!r}")
        suffix = ("-ca" if self.model == "ca" else "") + ("-causal" if self.causal else "")
        object.__setattr__(self, "name", "kalman" + suffix)

    @property
    def q(self) -> float:
        """The process noise spectral density in use."""
        if self.process_noise is None:
            return DEFAULT_PROCESS_NOISE[self.model]
        return self.process_noise

    def params(self) -> dict[str, Any]:
        """The parameters, with ``process_noise`` resolved."""
        return {
            "model": self.model,
            "process_noise": self.q,
            "measurement_noise": self.measurement_noise,
            "min_confidence": self.min_confidence,
            "max_gap_s": self.max_gap_s,
            "gate": self.gate,
            "recheck": self.recheck,
            "causal": self.causal,
            "init_velocity_std": self.init_velocity_std,
            "init_acceleration_std": self.init_acceleration_std,
            "reacquire_s": self.reacquire_s,
            "verify_confidence": self.verify_confidence,
        }

    def __call__(
        self, position: np.ndarray, confidence: np.ndarray, time_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(T, 2, K, N)`` px, ``(T, K, N)``, ``(T,)`` s -> smoothed position, confidence."""
        z, conf, time_s = prepare(position, confidence, time_s)
        res = self.run(z, conf, time_s)
        return unflatten(res.position, res.confidence, position.shape)

    def problem(self, z: np.ndarray, conf: np.ndarray, time_s: np.ndarray) -> Problem:
        """The filter inputs for ``z (T, 2, M)`` px, ``conf (T, M)``, ``time_s (T,)`` s."""
        valid = observed_mask(z, conf, self.min_confidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma = self.measurement_noise / np.maximum(conf, CONFIDENCE_FLOOR)
        order = MODELS[self.model]
        dt = np.diff(time_s, prepend=time_s[:1])
        F, Q = transition(order, self.q, dt)
        init_std = np.array([INIT_POSITION_STD, self.init_velocity_std, self.init_acceleration_std])
        period = nominal_period(time_s)
        restart = np.inf if self.max_gap_s is None else self.max_gap_s + period + 1e-9
        return Problem(
            z=z,
            var=np.where(valid, sigma**2, 1.0),
            valid=valid,
            time_s=time_s,
            F=F,
            Q=Q,
            init_var=init_std[: order + 1] ** 2,
            gate=np.inf if self.gate is None else float(self.gate),
            restart_after_s=restart,
            inflation=None if self.reacquire_s is None else 2.0 ** (dt / self.reacquire_s),
        )

    def run(self, z: np.ndarray, conf: np.ndarray, time_s: np.ndarray) -> KalmanResult:
        """Smooth flattened series: ``z (T, 2, M)`` px, ``conf (T, M)``, ``time_s (T,)`` s."""
        prob = self.problem(z, conf, time_s)
        fw = prob.filter()
        if self.causal:
            return self._causal_result(prob, fw, conf)
        x_s, P_s = rts_smoother(fw, prob.F, prob.Q)
        if np.isfinite(prob.gate) and len(time_s) > 1:
            check = _Recheck(prob, conf, self.verify_confidence)
            region = None
            for _ in range(self.recheck):
                reject, admit = check(prob, fw, x_s, P_s, region)
                if not (reject.any() or admit.any()):
                    break
                region = np.zeros_like(reject)
                prob = rerun(prob, fw, x_s, P_s, reject, admit, touched=region)
        covered, prev, nxt = segment_coverage(fw.accepted, fw.reset)
        c_bound = bounding_confidence(conf, prev, nxt)
        return self._result(prob, fw, x_s[:, 0], P_s[:, 0, 0], conf, covered, c_bound)

    def _causal_result(self, prob: Problem, fw: ForwardResult, conf: np.ndarray) -> KalmanResult:
        """Filtered estimates, predicted for at most ``max_gap_s`` after a measurement."""
        time_s = prob.time_s
        n_time = len(time_s)
        prev, _ = neighbours(fw.accepted)
        pi = np.clip(prev, 0, n_time - 1)
        limit = np.inf if self.max_gap_s is None else self.max_gap_s + 1e-9
        covered = (prev >= 0) & (time_s[:, None] - time_s[pi] <= limit)
        c_bound = np.where(prev >= 0, conf[pi, np.arange(conf.shape[1])], np.nan)
        return self._result(prob, fw, fw.x[:, 0], fw.P[:, 0, 0], conf, covered, c_bound)

    def _result(
        self,
        prob: Problem,
        fw: ForwardResult,
        mean: np.ndarray,
        pvar: np.ndarray,
        conf: np.ndarray,
        covered: np.ndarray,
        c_bound: np.ndarray,
    ) -> KalmanResult:
        """Mask what is not covered and derive the output confidence (see the class doc)."""
        s0 = self.measurement_noise
        with np.errstate(invalid="ignore"):
            factor = s0 / np.sqrt(s0 * s0 + np.maximum(pvar, 0.0))
        out_conf = np.where(fw.accepted, conf, c_bound * factor)
        return KalmanResult(
            position=np.where(covered[:, None], mean, np.nan),
            confidence=np.where(covered, out_conf, np.nan),
            variance=np.where(covered, pvar, np.nan),
            accepted=fw.accepted,
            reset=fw.reset,
            covered=covered,
            meas_var=prob.var,
            inflation=fw.inflation,
        )


#: Half-width (s) of the window in which only the worst leave-one-out residual is rejected
#: per round of the re-check.
RECHECK_WINDOW_S = 0.1


class _Recheck:
    """The smoother's verdict on the forward gate, round after round: ``(reject, admit)``.

    reject: accepted measurements whose leave-one-out residual ``|z - x_s|² / (R - P_s)``
    (the innovation against the smoothed estimate from all other measurements;
    chi-square with 2 dof for an inlier) exceeds ``gate²`` and is the largest within
    ``RECHECK_WINDOW_S`` (an outlier drags the smoothed estimate, so its neighbours wait
    for the next round).  admit: valid measurements the forward gate rejected, on a
    bridged frame, whose smoothed innovation ``|z - x_s|² / (R + P_s)`` is within
    ``gate²``.  Also rejected: accepted measurements below ``verify_confidence`` that
    dominate their own estimate (leverage ``P_s / R > 0.5``: the other measurements
    constrain the point less than it does itself, so nothing can confirm or refute it,
    e.g. a lone detection inside a dropout).  A rejected measurement becomes invalid, so
    it is never admitted again.
    After the first round only the region a re-run touched (widened by the window) is
    recomputed.
    """

    def __init__(self, prob: Problem, conf: np.ndarray, verify_confidence: float) -> None:
        self.doubtful = conf < verify_confidence  # (T, M); NaN compares False
        self.g2 = prob.gate**2
        period = max(nominal_period(prob.time_s), 1e-9)
        self.half = max(1, round(RECHECK_WINDOW_S / period))
        self.loo = np.zeros(prob.valid.shape)

    def __call__(
        self,
        prob: Problem,
        fw: ForwardResult,
        x_s: np.ndarray,
        P_s: np.ndarray,
        region: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(reject, admit)``, each ``(T, M)`` bool."""
        n_time = prob.valid.shape[0]
        offs = np.arange(-self.half, self.half + 1)
        if region is None:
            idx: tuple[Any, ...] = (slice(None), slice(None))
        else:  # the touched entries and their window neighbours
            tt, mm = np.nonzero(region)
            tt = np.clip(tt[:, None] + offs, 0, n_time - 1).ravel()
            key = np.unique(tt * prob.valid.shape[1] + np.repeat(mm, offs.size))
            idx = np.divmod(key, prob.valid.shape[1])
        t, m = idx
        resid = prob.z[t, :, m] - x_s[t, 0, :, m]  # (T, C, M), or (E, C) in a region
        r2 = np.where(prob.valid[idx], (resid * resid).sum(1), 0.0)
        p_s, var, acc = P_s[t, 0, 0, m], prob.var[idx], fw.accepted[idx]
        self.loo[idx] = np.where(acc, r2 / np.maximum(var - p_s, 1e-6 * var), 0.0)
        if region is None:
            peak = maximum_filter1d(self.loo, offs.size, axis=0, mode="constant")
        else:
            near = np.clip(t[:, None] + offs, 0, n_time - 1)
            peak = np.zeros(self.loo.shape)
            peak[idx] = self.loo[near, m[:, None]].max(1)
        reject = np.zeros(self.loo.shape, bool)
        admit = np.zeros(self.loo.shape, bool)
        reject[idx] = (self.loo[idx] > self.g2) & (self.loo[idx] >= peak[idx])
        reject[idx] |= acc & self.doubtful[idx] & (p_s > 0.5 * var)
        admit[idx] = prob.valid[idx] & ~acc & (r2 <= self.g2 * (var + p_s))
        ta, ma = np.nonzero(admit)
        if ta.size:  # only on a bridged frame: between accepted points of one segment
            nxt = first_after(fw.accepted, ma, ta)
            inside = (last_before(fw.accepted, ma, ta) >= 0) & (nxt < n_time)
            joined = ~fw.reset[np.minimum(nxt, n_time - 1), ma]
            admit[ta, ma] = inside & joined
        return reject, admit
