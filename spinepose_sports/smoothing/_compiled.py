"""Compiled (numba) loops of the Kalman engine: the forward filter and the RTS recursion.

The engine's frame loops run one Python iteration per frame; since smoothing works on
one track at a time (the memory bound of ``smoothing.CHUNK_TRACK_FRAMES``) that loop is
only 37 series wide, and Python overhead dominates (10,000 frames x 3 tracks took
1.4-4 s).  These kernels do the same arithmetic, per frame and series, as compiled loops
(``numba.njit(cache=True)``: compiled once per machine, loaded from numba's cache in
later processes).  Results equal the numpy loops to rounding (1e-12 relative; tested).

numba is optional: :data:`AVAILABLE` is False when it cannot be imported, or when
``SPINEPOSE_SPORTS_NO_NUMBA`` is set to a true value, and the engine keeps its numpy loops.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

_TRUTHY = ("1", "true", "yes", "on")

try:  # pragma: no cover - exercised through AVAILABLE
    if os.environ.get("SPINEPOSE_SPORTS_NO_NUMBA", "").strip().lower() in _TRUTHY:
        raise ImportError("disabled by SPINEPOSE_SPORTS_NO_NUMBA")
    import numba

    AVAILABLE = True
except ImportError:
    numba = None  # type: ignore[assignment]
    AVAILABLE = False


def _njit(fn: Any) -> Any:
    if numba is None:
        return fn
    return numba.njit(cache=True, nogil=True, fastmath=False)(fn)


@_njit
def forward_loop(
    F: np.ndarray,  # (T, d, d)
    Q: np.ndarray,  # (T, d, d)
    zz: np.ndarray,  # (T, C, M), 0 where not valid
    rr: np.ndarray,  # (T, M), -inf where not valid
    valid: np.ndarray,  # (T, M) bool
    time_s: np.ndarray,  # (T,)
    p0: np.ndarray,  # (d,) prior variances of a restart
    g2: float,
    restart: float,
    inflation: np.ndarray,  # (T,), or (0,) for none
    force: np.ndarray,  # (T, M) bool, or (0, 0) for none
    x_prev0: np.ndarray,  # (d, C, M)
    P_prev0: np.ndarray,  # (d, d, M)
    last: np.ndarray,  # (M,), updated in place
    xs: np.ndarray,  # (T, d, C, M) out
    Ps: np.ndarray,  # (T, d, d, M) out
    accepted: np.ndarray,  # (T, M) out
    reset: np.ndarray,  # (T, M) out
    infl: np.ndarray,  # (T, M) out, ones
) -> None:
    """The loop of :func:`.engine.forward_filter` (see there), frame by frame, series by
    series."""
    n_time, n_coord, n_ser = zz.shape
    d = F.shape[1]
    has_infl = inflation.shape[0] > 0
    has_force = force.shape[0] > 0
    xp = np.empty((d, n_coord))
    Pp = np.empty((d, d))
    tmp = np.empty((d, d))
    k = np.empty(d)
    row0 = np.empty(d)
    yv = np.empty(n_coord)
    for t in range(n_time):
        for m in range(n_ser):
            # predict: x = F x_prev, P = F P_prev F' + Q
            for i in range(d):
                for c in range(n_coord):
                    acc = 0.0
                    for j in range(d):
                        xprev = xs[t - 1, j, c, m] if t > 0 else x_prev0[j, c, m]
                        acc += F[t, i, j] * xprev
                    xp[i, c] = acc
            for i in range(d):
                for j in range(d):
                    acc = 0.0
                    for a in range(d):
                        pprev = Ps[t - 1, a, j, m] if t > 0 else P_prev0[a, j, m]
                        acc += F[t, i, a] * pprev
                    tmp[i, j] = acc
            for i in range(d):
                for j in range(d):
                    acc = 0.0
                    for b in range(d):
                        acc += tmp[i, b] * F[t, j, b]
                    Pp[i, j] = acc + Q[t, i, j]
            vt = valid[t, m]
            rs = vt and last[m] < time_s[t] - restart
            reset[t, m] = rs
            if rs:
                for i in range(d):
                    for c in range(n_coord):
                        xp[i, c] = zz[t, c, m] if i == 0 else 0.0
                    for j in range(d):
                        Pp[i, j] = p0[i] if i == j else 0.0
            s = Pp[0, 0] + rr[t, m]
            y2 = 0.0
            for c in range(n_coord):
                y = zz[t, c, m] - xp[0, c]
                y2 += y * y
            ok = y2 <= g2 * s
            if rs:
                ok = True
            if has_force and force[t, m] and vt:
                ok = True
            if has_infl and vt and not ok:
                f = inflation[t]
                for i in range(d):
                    for j in range(d):
                        Pp[i, j] *= f
                infl[t, m] = f
            if ok:  # k = P[:, 0] / s; x += k y; P -= k P[0] (the old row 0)
                for c in range(n_coord):
                    yv[c] = zz[t, c, m] - xp[0, c]
                for j in range(d):
                    k[j] = Pp[j, 0] / s
                    row0[j] = Pp[0, j]
                for i in range(d):
                    for c in range(n_coord):
                        xp[i, c] += k[i] * yv[c]
                    for j in range(d):
                        Pp[i, j] -= k[i] * row0[j]
                last[m] = time_s[t]
            accepted[t, m] = ok
            for i in range(d):
                for c in range(n_coord):
                    xs[t, i, c, m] = xp[i, c]
                for j in range(d):
                    Ps[t, i, j, m] = Pp[i, j]


@_njit
def _inverse(A: np.ndarray, out: np.ndarray) -> None:
    """Inverse of a symmetric ``(d, d)`` matrix, ``d`` 1 to 3, by cofactors (as
    :func:`.engine.inverse`)."""
    d = A.shape[0]
    if d == 1:
        out[0, 0] = 1.0 / A[0, 0]
        return
    if d == 2:
        r = 1.0 / (A[0, 0] * A[1, 1] - A[0, 1] * A[0, 1])
        out[0, 0] = A[1, 1] * r
        out[1, 1] = A[0, 0] * r
        out[0, 1] = A[0, 1] * -r
        out[1, 0] = out[0, 1]
        return
    for i in range(3):
        for j in range(3):
            r0, r1 = (1, 2) if i == 0 else ((0, 2) if i == 1 else (0, 1))
            c0, c1 = (1, 2) if j == 0 else ((0, 2) if j == 1 else (0, 1))
            minor = A[r0, c0] * A[r1, c1] - A[r0, c1] * A[r1, c0]
            out[j, i] = minor if (i + j) % 2 == 0 else -minor
    det = A[0, 0] * out[0, 0] + A[0, 1] * out[1, 0] + A[0, 2] * out[2, 0]
    for i in range(3):
        for j in range(3):
            out[i, j] /= det


@_njit
def rts_loop(
    x_f: np.ndarray,  # (T, d, C, M) filtered
    P_f: np.ndarray,  # (T, d, d, M)
    F: np.ndarray,  # (T, d, d)
    Q: np.ndarray,  # (T, d, d)
    inflation: np.ndarray,  # (T, M)
    live: np.ndarray,  # (T, M) bool
    reset: np.ndarray,  # (T, M) bool
    x_s: np.ndarray,  # (T, d, C, M): last frame filled, the others written
    P_s: np.ndarray,  # (T, d, d, M)
) -> None:
    """The recursion of :func:`.engine.rts_smoother` with its terms
    (:func:`.engine._backward_terms`) frame by frame: ``G = P_f Fᵀ P_pred⁻¹`` (zero into a
    restart and before a series starts), ``x_s[t] = x_f + G (x_s[t+1] - F x_f)``,
    ``P_s[t] = P_f - G F P_f + G P_s[t+1] Gᵀ``."""
    n_time, d, n_coord, n_ser = x_f.shape
    pft = np.empty((d, d))
    pp = np.empty((d, d))
    inv = np.empty((d, d))
    g = np.empty((d, d))
    gp = np.empty((d, d))
    xp = np.empty((d, n_coord))
    for t in range(n_time - 2, -1, -1):
        for m in range(n_ser):
            for i in range(d):  # P_f F'
                for j in range(d):
                    acc = 0.0
                    for k in range(d):
                        acc += P_f[t, i, k, m] * F[t + 1, j, k]
                    pft[i, j] = acc
            for i in range(d):  # (F P_f F' + Q) * inflation
                for j in range(d):
                    acc = 0.0
                    for k in range(d):
                        acc += F[t + 1, i, k] * pft[k, j]
                    pp[i, j] = (acc + Q[t + 1, i, j]) * inflation[t + 1, m]
            _inverse(pp, inv)
            joined = live[t, m] and not reset[t + 1, m]
            for i in range(d):
                for j in range(d):
                    acc = 0.0
                    for k in range(d):
                        acc += pft[i, k] * inv[k, j]
                    g[i, j] = acc if joined else 0.0
            for i in range(d):  # F x_f
                for c in range(n_coord):
                    acc = 0.0
                    for k in range(d):
                        acc += F[t + 1, i, k] * x_f[t, k, c, m]
                    xp[i, c] = acc
            for i in range(d):
                for c in range(n_coord):
                    acc = 0.0
                    for k in range(d):
                        acc += g[i, k] * (x_s[t + 1, k, c, m] - xp[k, c])
                    x_s[t, i, c, m] = x_f[t, i, c, m] + acc
            for i in range(d):  # G (P_s[t+1] - P_pred)
                for k in range(d):
                    acc = 0.0
                    for j in range(d):
                        acc += g[i, j] * (P_s[t + 1, j, k, m] - pp[j, k])
                    gp[i, k] = acc
            for i in range(d):
                for j in range(d):
                    acc = 0.0
                    for k in range(d):
                        acc += gp[i, k] * g[j, k]
                    P_s[t, i, j, m] = P_f[t, i, j, m] + acc


def warm_up() -> None:
    """Load (or compile) the kernels now: the first call in a process costs about 0.5 s
    (numba's typing context and cache), which the pipeline pays in a background thread
    while the models run instead of inside the smoothing stage."""
    if not AVAILABLE:
        return
    from .engine import forward_filter, rts_smoother, transition

    time_s = np.arange(3) / 30.0
    F, Q = transition(1, 1.0, np.diff(time_s, prepend=0.0))
    fw = forward_filter(np.zeros((3, 2, 1)), np.ones((3, 1)), np.ones((3, 1), bool), time_s,
                        F, Q, np.ones(2), gate=4.0, inflation=np.ones(3))
    rts_smoother(fw, F, Q)
