"""Vectorised Kalman filter and Rauch-Tung-Striebel smoother for keypoint series.

Model (per series; x and y are independent and share one covariance):

* state ``s = (p, p', [p''])``: position px, velocity px/s, [acceleration px/s²];
* continuous white-noise motion model of ``order`` 1 (constant velocity, white
  acceleration) or 2 (constant acceleration, white jerk) with spectral density ``q``
  (px²/s³ or px²/s⁵), discretised exactly for each frame interval ``dt`` of the time
  coordinate, so one ``q`` is one motion prior at every frame rate;
* measurement ``z = p + e``, ``e ~ N(0, R)``, ``R`` given per frame and series.

The engine runs one loop over frames; each step works on all ``M`` series and both
coordinates at once with a handful of numpy operations (filterpy's per-object loops are
the reference, not the engine).  Where numba is installed, the forward filter's and the
RTS smoother's loops run compiled (:mod:`._compiled`, equal to the numpy loops to
rounding).  On the same ``F, Q, R`` it equals filterpy's
``KalmanFilter.batch_filter`` + ``rts_smoother`` (tested to 1e-6).

Layout: measurements ``(T, C, M)``, states ``(T, d, C, M)``, covariances ``(T, d, d, M)``,
per-series flags ``(T, M)``; ``F[t], Q[t]`` map frame ``t-1`` to frame ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import factorial

import numpy as np

from . import _compiled

_NONE_1D = np.zeros(0)
_NONE_2D = np.zeros((0, 0), bool)

#: Relative tolerance under which a re-run is taken to have rejoined the original run.
RERUN_TOL = 1e-10


def transition(order: int, process_noise: float, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact discretisation of the white-noise model of ``order`` for intervals ``dt``.

    dt: ``(T,)`` s.  Returns ``F, Q``, each ``(T, d, d)`` with ``d = order + 1``:
    ``F_ij = dt^(j-i)/(j-i)!`` and ``Q_ij = q dt^p / (p (n-i)! (n-j)!)``, ``p = 2n+1-i-j``.
    """
    d = order + 1
    dt = np.asarray(dt, dtype=np.float64)
    F = np.zeros((dt.size, d, d))
    Q = np.empty((dt.size, d, d))
    for i in range(d):
        for j in range(d):
            if j >= i:
                F[:, i, j] = dt ** (j - i) / factorial(j - i)
            p = 2 * order + 1 - i - j
            Q[:, i, j] = process_noise * dt**p / (p * factorial(order - i) * factorial(order - j))
    return F, Q


@dataclass(frozen=True)
class FilterState:
    """State after one frame, to start a filter run from: ``x (d, C, M)``, ``P (d, d, M)``,
    ``last (M,)`` time (s) of the last accepted measurement (``-inf``: none), ``live (M,)``
    whether the series has started."""

    x: np.ndarray
    P: np.ndarray
    last: np.ndarray
    live: np.ndarray

    @classmethod
    def empty(cls, d: int, n_coord: int, n_ser: int) -> FilterState:
        """Nothing seen yet."""
        return cls(
            np.zeros((d, n_coord, n_ser)),
            np.zeros((d, d, n_ser)),
            np.full(n_ser, -np.inf),
            np.zeros(n_ser, bool),
        )


@dataclass(frozen=True)
class ForwardResult:
    """Output of :func:`forward_filter`.

    x: ``(T, d, C, M)`` filtered states; P: ``(T, d, d, M)`` filtered covariances;
    accepted: ``(T, M)`` measurements used; reset: ``(T, M)`` frames where a series
    (re)starts from its measurement; live: ``(T, M)`` series started at or before the frame;
    inflation: ``(T, M)`` factor applied to the predicted covariance (1 except where a
    measurement was rejected).
    """

    x: np.ndarray
    P: np.ndarray
    accepted: np.ndarray
    reset: np.ndarray
    live: np.ndarray
    inflation: np.ndarray


def forward_filter(
    z: np.ndarray,
    var: np.ndarray,
    valid: np.ndarray,
    time_s: np.ndarray,
    F: np.ndarray,
    Q: np.ndarray,
    init_var: np.ndarray,
    *,
    gate: float = np.inf,
    restart_after_s: float = np.inf,
    inflation: np.ndarray | None = None,
    force: np.ndarray | None = None,
    start: FilterState | None = None,
) -> ForwardResult:
    """Kalman filter over all series at once, with an innovation gate and restarts.

    z: ``(T, C, M)`` px (ignored where not ``valid``); var: ``(T, M)`` measurement variance
    px²; valid: ``(T, M)``; time_s: ``(T,)`` s; F, Q: ``(T, d, d)``; init_var: ``(d,)``
    prior variances of a (re)starting series, whose prior mean is its measurement with
    zero derivatives; start: the state before the first frame (default: nothing seen).

    A series (re)starts at a valid measurement when none was accepted in the previous
    ``restart_after_s`` seconds; that measurement is taken without gating.  Otherwise a
    measurement is rejected when ``|y|² > gate² (P_00 + R)`` (squared Mahalanobis distance
    of the innovation ``y`` over both coordinates).  When one is rejected at frame ``t``,
    that frame's predicted covariance is multiplied by ``inflation[t]`` (``(T,)``; extra
    process noise, so that the gate reopens soon when the motion was the surprise).
    force: ``(T, M)`` valid measurements to accept without gating (a smoother's verdict).
    """
    n_time, n_coord, n_ser = z.shape
    d = F.shape[1]
    kron = np.einsum("tij,tkl->tikjl", F, F).reshape(n_time, d * d, d * d)
    qv = Q.reshape(n_time, d * d, 1)
    zz = np.where(valid[:, None, :], z, 0.0)
    rr = np.where(valid, var, -np.inf)
    xs = np.empty((n_time, d, n_coord, n_ser))
    Ps = np.empty((n_time, d, d, n_ser))
    xs2, Ps2 = xs.reshape(n_time, d, n_coord * n_ser), Ps.reshape(n_time, d * d, n_ser)
    accepted = np.zeros((n_time, n_ser), bool)
    reset = np.zeros((n_time, n_ser), bool)
    infl = np.ones((n_time, n_ser))
    if start is None:
        start = FilterState.empty(d, n_coord, n_ser)
    x_prev, P_prev = start.x.reshape(d, n_coord * n_ser), start.P.reshape(d * d, n_ser)
    last = start.last.astype(np.float64, copy=True)
    p0 = np.diag(np.asarray(init_var, dtype=np.float64))[:, :, None]
    g2 = float(gate) ** 2
    restart = min(restart_after_s, 1e300)  # finite: a series never seen (-inf) always starts
    if _compiled.AVAILABLE and n_time:
        _compiled.forward_loop(
            np.ascontiguousarray(F, np.float64), np.ascontiguousarray(Q, np.float64),
            np.ascontiguousarray(zz, np.float64), np.ascontiguousarray(rr, np.float64),
            np.ascontiguousarray(valid, bool), np.ascontiguousarray(time_s, np.float64),
            np.asarray(init_var, np.float64).reshape(d), g2, restart,
            _NONE_1D if inflation is None else np.ascontiguousarray(inflation, np.float64),
            _NONE_2D if force is None else np.ascontiguousarray(force, bool),
            np.ascontiguousarray(start.x, np.float64), np.ascontiguousarray(start.P, np.float64),
            last, xs, Ps, accepted, reset, infl,
        )
        live = np.maximum.accumulate(reset, axis=0) | start.live[None, :]
        return ForwardResult(xs, Ps, accepted, reset, live, infl)
    for t in range(n_time):
        np.matmul(F[t], x_prev, out=xs2[t])
        np.matmul(kron[t], P_prev, out=Ps2[t])
        Ps2[t] += qv[t]
        rs = np.less(last, time_s[t] - restart, out=reset[t])
        rs &= valid[t]
        f_in = None if inflation is None else inflation[t]
        ft = None if force is None else force[t]
        ok = _correct(xs[t], Ps[t], zz[t], rr[t], valid[t], rs, p0, g2, f_in, infl[t], ft)
        np.copyto(last, time_s[t], where=ok)
        accepted[t] = ok
        x_prev, P_prev = xs2[t], Ps2[t]
    live = np.maximum.accumulate(reset, axis=0) | start.live[None, :]
    return ForwardResult(xs, Ps, accepted, reset, live, infl)


def _correct(
    x3: np.ndarray,
    P3: np.ndarray,
    zt: np.ndarray,
    rt: np.ndarray,
    vt: np.ndarray,
    rs: np.ndarray,
    p0: np.ndarray,
    g2: float,
    f_in: float | np.ndarray | None,
    f_out: np.ndarray,
    ft: np.ndarray | None = None,
) -> np.ndarray:
    """Measurement step of one frame, in place, for ``E`` series (or events).

    x3 ``(d, C, E)`` and P3 ``(d, d, E)`` hold the prediction; zt ``(C, E)`` px (0 where
    not valid), rt ``(E,)`` px² (``-inf`` where not valid), vt ``(E,)`` valid, rs
    ``(E,)`` restarts (state set to the measurement and ``p0 (d, d, 1)``), g2 the
    squared gate.  f_in (scalar or ``(E,)``): the inflation of a rejected measurement's
    prediction; f_out ``(E,)`` (ones): receives the factors applied; ft ``(E,)``: valid
    measurements accepted without gating.  Returns the accepted mask ``(E,)``.
    """
    any_rs = np.count_nonzero(rs)
    if any_rs:
        x3[:, :, rs] = 0.0
        x3[0][:, rs] = zt[:, rs]
        P3[:, :, rs] = p0
    y = zt - x3[0]
    s = P3[0, 0] + rt  # -inf where not valid: fails the gate, zero gain
    ok = (y * y).sum(0) <= g2 * s
    if any_rs:
        ok |= rs
    if ft is not None:
        ok |= ft & vt
    if f_in is not None and np.count_nonzero(ok) < np.count_nonzero(vt):
        rej = vt & ~ok
        f = f_in if np.ndim(f_in) == 0 else f_in[rej]  # type: ignore[index]
        P3[:, :, rej] *= f
        f_out[rej] = f
    k = P3[:, 0] * (ok / s)
    x3 += k[:, None, :] * y
    P3 -= k[:, None, :] * P3[0]
    return ok


def inverse(A: np.ndarray) -> np.ndarray:
    """Inverse of symmetric ``(T, d, d, M)`` matrices, ``d`` 1 to 3, by cofactors."""
    d = A.shape[1]
    if d == 1:
        return 1.0 / A
    cof = np.empty_like(A)
    if d == 2:
        r = 1.0 / (A[:, 0, 0] * A[:, 1, 1] - A[:, 0, 1] * A[:, 0, 1])
        np.multiply(A[:, 1, 1], r, out=cof[:, 0, 0])
        np.multiply(A[:, 0, 0], r, out=cof[:, 1, 1])
        np.multiply(A[:, 0, 1], -r, out=cof[:, 0, 1])
        cof[:, 1, 0] = cof[:, 0, 1]
        return cof
    if d != 3:
        raise ValueError(f"state dimension: expected 1 to 3, received {d}")
    for i in range(3):
        for j in range(3):
            r0, r1 = (k for k in range(3) if k != i)
            c0, c1 = (k for k in range(3) if k != j)
            minor = A[:, r0, c0] * A[:, r1, c1] - A[:, r0, c1] * A[:, r1, c0]
            cof[:, j, i] = (-1) ** (i + j) * minor
    det = (A[:, 0, :] * cof[:, :, 0]).sum(1)
    return cof / det[:, None, None]


def _backward_terms(
    fw: ForwardResult, F: np.ndarray, Q: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gain ``G``, offset ``c`` and covariance term ``D`` of frames ``lo..hi-1``.

    ``G = P_f Fᵀ P_pred⁻¹`` (zero into a restart and before a series starts),
    ``c = x_f - G x_pred``, ``D = P_f - G F P_f``; ``F, Q`` of frames ``lo+1..hi``.
    """
    P_f, x_f = fw.P[lo:hi], fw.x[lo:hi]
    n, d = P_f.shape[:2]
    F1, Q1 = F[lo + 1 : hi + 1], Q[lo + 1 : hi + 1]
    kron = np.einsum("tij,tkl->tikjl", F1, F1).reshape(n, d * d, d * d)
    P_pred = (kron @ P_f.reshape(n, d * d, -1)).reshape(P_f.shape)
    P_pred += Q1[:, :, :, None]
    P_pred *= fw.inflation[lo + 1 : hi + 1, None, None, :]
    PFt = np.einsum("tikm,tjk->tijm", P_f, F1)
    G = np.einsum("tijm,tjkm->tikm", PFt, inverse(P_pred))
    cut = ~(fw.live[lo:hi] & ~fw.reset[lo + 1 : hi + 1])
    G[np.broadcast_to(cut[:, None, None, :], G.shape)] = 0.0
    x_pred = np.einsum("tij,tjcm->ticm", F1, x_f)
    c = x_f - np.einsum("tijm,tjcm->ticm", G, x_pred)
    D = P_f - np.einsum("tijm,tkjm->tikm", G, PFt)
    return G, c, D


def rts_smoother(
    fw: ForwardResult,
    F: np.ndarray,
    Q: np.ndarray,
    *,
    end: tuple[np.ndarray, np.ndarray] | None = None,
    block: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Rauch-Tung-Striebel smoother on the output of :func:`forward_filter`.

    end: the smoothed ``(x (d, C, M), P (d, d, M))`` of the last frame when known (a
    re-run on a slice); by default the filtered one.  Returns ``x (T, d, C, M)`` and
    ``P (T, d, d, M)``.  The gain is zero into a restart and before a series starts, so
    segments are smoothed independently.

    Recursion: ``x_s[t] = c[t] + G[t] x_s[t+1]``, ``P_s[t] = D[t] + G[t] P_s[t+1] G[t]ᵀ``
    (:func:`_backward_terms`, computed for ``block`` frames at once); the loop is two
    small products per frame.
    """
    x_f, P_f = fw.x, fw.P
    n_time = x_f.shape[0]
    x_s, P_s = np.empty_like(x_f), np.empty_like(P_f)
    if n_time == 0:
        return x_s, P_s
    x_s[-1], P_s[-1] = (x_f[-1], P_f[-1]) if end is None else end
    if _compiled.AVAILABLE:
        _compiled.rts_loop(
            x_f, P_f, np.ascontiguousarray(F, np.float64), np.ascontiguousarray(Q, np.float64),
            np.ascontiguousarray(fw.inflation, np.float64), fw.live, fw.reset, x_s, P_s,
        )
        return x_s, P_s
    for hi in range(n_time - 1, 0, -block):
        lo = max(hi - block, 0)
        G, c, D = _backward_terms(fw, F, Q, lo, hi)
        for t in range(hi - 1, lo - 1, -1):
            g = G[t - lo]
            np.einsum("ijm,jcm->icm", g, x_s[t + 1], out=x_s[t])
            x_s[t] += c[t - lo]
            np.einsum("ijm,jkm,lkm->ilm", g, P_s[t + 1], g, out=P_s[t])
            P_s[t] += D[t - lo]
    return x_s, P_s


# --------------------------------------------------------------------------------------
# Local re-runs after rejecting a few measurements
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The inputs of :func:`forward_filter` for all series, kept together for re-runs."""

    z: np.ndarray
    var: np.ndarray
    valid: np.ndarray
    time_s: np.ndarray
    F: np.ndarray
    Q: np.ndarray
    init_var: np.ndarray
    gate: float
    restart_after_s: float
    inflation: np.ndarray | None
    force: np.ndarray | None = None

    def filter(
        self,
        frames: slice = slice(None),
        series: slice | list[int] = slice(None),
        start: FilterState | None = None,
    ) -> ForwardResult:
        """:func:`forward_filter` on some frames and series."""
        infl = None if self.inflation is None else self.inflation[frames]
        return forward_filter(
            self.z[frames][:, :, series],
            self.var[frames][:, series],
            self.valid[frames][:, series],
            self.time_s[frames],
            self.F[frames],
            self.Q[frames],
            self.init_var,
            gate=self.gate,
            restart_after_s=self.restart_after_s,
            inflation=infl,
            force=None if self.force is None else self.force[frames][:, series],
            start=start,
        )


def _close(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """``(E,)``: all of ``new (E, ...)`` within RERUN_TOL (relative) of ``old``."""
    ok = np.abs(new - old) <= RERUN_TOL * (1.0 + np.abs(old))
    return ok.all(axis=tuple(range(1, ok.ndim)))


def last_before(
    mask: np.ndarray, m: np.ndarray, t: np.ndarray, inclusive: bool = False
) -> np.ndarray:
    """``(E,)``: the last frame before ``t`` (or at it) where ``mask[:, m]`` holds; -1: none.

    mask: ``(T, M)`` bool; m, t: ``(E,)`` series and frames.  One search per series.
    """
    out = np.full(len(m), -1)
    for col in np.unique(m):
        sel = np.flatnonzero(m == col)
        idx = np.flatnonzero(mask[:, col])
        pos = np.searchsorted(idx, t[sel], side="right" if inclusive else "left") - 1
        out[sel] = np.where(pos >= 0, idx[np.maximum(pos, 0)] if idx.size else -1, -1)
    return out


def first_after(mask: np.ndarray, m: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(E,)``: the first frame after ``t`` where ``mask[:, m]`` holds; ``T``: none."""
    n_time = mask.shape[0]
    out = np.full(len(m), n_time)
    for col in np.unique(m):
        sel = np.flatnonzero(m == col)
        idx = np.flatnonzero(mask[:, col])
        pos = np.searchsorted(idx, t[sel], side="right")
        out[sel] = np.where(
            pos < idx.size,
            idx[np.minimum(pos, max(idx.size - 1, 0))] if idx.size else n_time,
            n_time,
        )
    return out


def _events_start(prob: Problem, fw: ForwardResult, m: np.ndarray, a: np.ndarray) -> FilterState:
    """The filter state of series ``m`` after frame ``a - 1``, for events ``(E,)``."""
    before = np.maximum(a - 1, 0)
    first = (a == 0)[None, None, :]
    x = np.where(first, 0.0, fw.x[before, :, :, m].transpose(1, 2, 0))
    P = np.where(first, 0.0, fw.P[before, :, :, m].transpose(1, 2, 0))
    p = last_before(fw.accepted, m, a)
    last = np.where(p >= 0, prob.time_s[np.maximum(p, 0)], -np.inf)
    return FilterState(x, P, last, (a > 0) & fw.live[before, m])


def _refilter(
    prob: Problem, fw: ForwardResult, m: np.ndarray, a: np.ndarray, touched: np.ndarray
) -> np.ndarray:
    """Re-filter events (series ``m``, first changed frame ``a``), all in lockstep.

    Each event runs from frame ``a`` until its state rejoins what ``fw`` holds; ``fw`` is
    updated in place, and ``touched (T, M)`` marks what was written.  Returns, per
    event, the first frame left unchanged (``T``: none).  An event reaching frames another
    event of its series wrote compares with those: a run that rejoins any valid
    continuation may stop.  Finished events leave the lockstep.
    """
    n_time, d = len(prob.time_s), fw.x.shape[1]
    kron = np.einsum("tij,tkl->tikjl", prob.F, prob.F).reshape(n_time, d * d, d * d)
    st = _events_start(prob, fw, m, a)
    x, P, last = st.x, st.P, st.last
    p0 = np.diag(prob.init_var)[:, :, None]
    restart = min(prob.restart_after_s, 1e300)
    b = np.full(len(m), n_time)
    ids = np.arange(len(m))
    for j in range(n_time):
        if ids.size == 0:
            break
        t, mm = a[ids] + j, m[ids]
        x = np.einsum("eij,jce->ice", prob.F[t], x)
        P = np.einsum("eab,be->ae", kron[t], P.reshape(d * d, -1)).reshape(d, d, -1)
        P += prob.Q[t].transpose(1, 2, 0)
        vt = prob.valid[t, mm]
        rs = vt & (last < prob.time_s[t] - restart)
        f_in = None if prob.inflation is None else prob.inflation[t]
        f_out = np.ones(ids.size)
        zt = np.where(vt, prob.z[t, :, mm].T, 0.0)
        rt = np.where(vt, prob.var[t, mm], -np.inf)
        ft = None if prob.force is None else prob.force[t, mm]
        ok = _correct(x, P, zt, rt, vt, rs, p0, prob.gate**2, f_in, f_out, ft)
        last = np.where(ok, prob.time_s[t], last)
        same = _close(x.transpose(2, 0, 1), fw.x[t, :, :, mm])
        same &= _close(P.transpose(2, 0, 1), fw.P[t, :, :, mm]) & (ok == fw.accepted[t, mm])
        stop = same & (j > 0)
        b[ids[stop]] = t[stop]
        w = ~stop
        tw, mw = t[w], mm[w]
        touched[tw, mw] = True
        fw.x[tw, :, :, mw] = x[:, :, w].transpose(2, 0, 1)
        fw.P[tw, :, :, mw] = P[:, :, w].transpose(2, 0, 1)
        fw.accepted[tw, mw], fw.reset[tw, mw], fw.inflation[tw, mw] = ok[w], rs[w], f_out[w]
        fw.live[tw, mw] = fw.live[np.maximum(tw - 1, 0), mw] & (tw > 0) | rs[w]
        keep = w & (t < n_time - 1)
        ids, x, P, last = ids[keep], x[:, :, keep], P[:, :, keep], last[keep]
    return b


def _resmooth(
    prob: Problem,
    fw: ForwardResult,
    x_s: np.ndarray,
    P_s: np.ndarray,
    m: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    touched: np.ndarray,
) -> None:
    """Re-smooth events whose filtered frames ``[a, b)`` changed, all in lockstep.

    Each runs down from frame ``b - 1`` (from the filtered last frame when ``b = T``)
    until, below ``a``, it rejoins what ``x_s, P_s`` hold (updated in place; ``touched``
    marks what was written).  Finished events leave the lockstep.
    """
    n_time = len(prob.time_s)
    at_end = b >= n_time
    top = np.minimum(b, n_time - 1)
    x_s[top[at_end], :, :, m[at_end]] = fw.x[n_time - 1, :, :, m[at_end]]
    P_s[top[at_end], :, :, m[at_end]] = fw.P[n_time - 1, :, :, m[at_end]]
    xr, Pr = x_s[top, :, :, m], P_s[top, :, :, m]
    ids = np.flatnonzero(top > 0)
    xr, Pr = xr[ids], Pr[ids]
    for j in range(1, n_time + 1):
        if ids.size == 0:
            break
        t, mm = top[ids] - j, m[ids]
        F1, F1t = prob.F[t + 1], prob.F[t + 1].transpose(0, 2, 1)
        xf, Pf = fw.x[t, :, :, mm], fw.P[t, :, :, mm]
        PFt = Pf @ F1t
        P_pred = (F1 @ PFt + prob.Q[t + 1]) * fw.inflation[t + 1, mm][:, None, None]
        G = PFt @ inverse(P_pred.transpose(1, 2, 0)[None])[0].transpose(2, 0, 1)
        G[~(fw.live[t, mm] & ~fw.reset[t + 1, mm])] = 0.0
        xr = xf + G @ (xr - F1 @ xf)
        Pr = Pf + G @ (Pr - P_pred) @ G.transpose(0, 2, 1)
        same = (t < a[ids]) & _close(xr, x_s[t, :, :, mm]) & _close(Pr, P_s[t, :, :, mm])
        w = ~same
        x_s[t[w], :, :, mm[w]], P_s[t[w], :, :, mm[w]] = xr[w], Pr[w]
        touched[t[w], mm[w]] = True
        keep = w & (t > 0)
        ids, xr, Pr = ids[keep], xr[keep], Pr[keep]


def rerun(
    prob: Problem,
    fw: ForwardResult,
    x_s: np.ndarray,
    P_s: np.ndarray,
    reject: np.ndarray,
    admit: np.ndarray | None = None,
    touched: np.ndarray | None = None,
) -> Problem:
    """Reject measurements ``reject (T, M)``, force-accept ``admit``, update the results.

    ``fw``, ``x_s`` and ``P_s`` are updated in place, and only where their result
    changes: from each changed frame until the re-run rejoins the original run (to
    ``RERUN_TOL``, relative), all changed frames processed together in lockstep.  The
    result equals a full re-run to that tolerance.  ``touched (T, M)``, if given, marks
    every frame and series written.  Returns the updated problem.
    """
    if touched is None:
        touched = np.zeros(reject.shape, bool)
    force = prob.force if admit is None else (admit if prob.force is None else prob.force | admit)
    prob = replace(prob, valid=prob.valid & ~reject, force=force)
    changed = reject if admit is None else reject | admit
    a, m = np.nonzero(changed)
    if a.size == 0:
        return prob
    b = _refilter(prob, fw, m, a, touched)
    key = np.unique(np.stack([m, b]), axis=1, return_index=True)[1]
    _resmooth(prob, fw, x_s, P_s, m[key], a[key], b[key], touched)
    return prob
