"""Spine-shape prior: a spatio-temporal smoother of the 10-point spine chain.

The SpinePose paper regularises the spine chain as a smooth curve (a penalty on second
differences along it).  :class:`SpinePriorSmoother` adds such a term to the Kalman-RTS
model of the chain's points and solves the joint problem exactly:

    minimise  Σ_t Σ_k  (p_tk - z_tk)² / R_tk                         (measurements)
            + Σ_t Σ_k  (s_tk - F_t s_t-1,k)ᵀ Q_t⁻¹ (s_tk - F_t s_t-1,k)  (motion model)
            + Σ_t Σ_i  |c_ti - c°_ti|² / spine_sigma²                (chain shape)

over the states ``s_tk = (p, p', ...)`` of the 10 chain points ``k`` (x and y separately),
with the Kalman smoother's measurements (its accepted points, after gating), restarts and
priors.  ``c_ti`` is the discrete bending at interior point ``i``: with ``h`` the track's
median segment lengths,
``c_i = h̄_i ((p_i+1 - p_i)/h_i - (p_i - p_i-1)/h_i-1)``, ``h̄_i = (h_i-1 + h_i)/2``
(the second difference for equal spacing; zero on a straight chain whatever its spacing).
``c°`` is the reference shape:

* ``"straight"``: ``c° = 0``, the paper's term: the chain is pulled toward a straight line;
* ``"median"`` (default): the athlete's own median bending at each level, measured in the
  frame of the local chord ``p_i+1 - p_i-1`` of the Kalman-smoothed chain and turned with
  it in each frame, so the posture (lordosis, kyphosis) and whole-trunk rotation are not
  penalised, only changes of the bending (which it shrinks: the benchmark reports the
  effect on segmental angles).

``spine_sigma`` (px) is the typical sideways deviation of a point from that shape.
Without the shape term (``spine_sigma = inf``) the solution is exactly the Kalman-RTS
smoother's; the system is banded (bandwidth ``10 d + d - 1``) and solved by a banded
Cholesky factorisation per track.  The prior helps when the measurement noise is large
compared with the bending it removes; the benchmark shows where and by how much.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
from scipy.linalg import solveh_banded

from ..skeleton import SPINE_CHAIN_INDICES
from ._base import nominal_period, prepare, unflatten
from .engine import transition
from .kalman import INIT_POSITION_STD, MODELS, KalmanResult, KalmanSmoother

#: Weak prior (1/px²) on the states of frames a point does not cover (where nothing else
#: may determine them), to keep the system definite.
RIDGE = 1e-9


@contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run scipy's bundled OpenBLAS on one thread inside the block (restored after).

    LAPACK's banded Cholesky on a narrow band calls level-2 BLAS once per column; a
    threaded OpenBLAS dispatches threads for each of those tiny calls, which made the
    solve 15x slower on a 2-core machine.  Where scipy's OpenBLAS cannot be found this
    does nothing.
    """
    set_threads = get_threads = None
    try:
        import scipy

        libs = glob.glob(os.path.join(os.path.dirname(scipy.__file__) + ".libs", "*openblas*"))
        if libs:
            dll = ctypes.CDLL(libs[0])
            set_threads = dll.scipy_openblas_set_num_threads
            get_threads = dll.scipy_openblas_get_num_threads
    except (OSError, AttributeError):
        set_threads = None
    if set_threads is None or get_threads is None:
        yield
        return
    before = int(get_threads())
    set_threads(1)
    try:
        yield
    finally:
        set_threads(before)


def bending_matrix(lengths: np.ndarray) -> np.ndarray:
    """``(P-2, P)``: rows give the bending ``c_i`` of interior chain points.

    lengths: ``(P-1,)`` px, the segment lengths ``h`` (see the module docstring).
    """
    n_pts = lengths.size + 1
    D = np.zeros((n_pts - 2, n_pts))
    for i in range(1, n_pts - 1):
        h0, h1 = lengths[i - 1], lengths[i]
        hbar = 0.5 * (h0 + h1)
        D[i - 1, i - 1 : i + 2] = hbar / h0, -hbar * (1 / h0 + 1 / h1), hbar / h1
    return D


def _segment_lengths(chain: np.ndarray) -> np.ndarray:
    """``(P-1,)`` px: median segment lengths of a chain ``(T, C, P)``.

    A segment never seen takes the median of the others (1 px if none is seen).
    """
    seg = np.sqrt((np.diff(chain, axis=2) ** 2).sum(1))
    seen = np.isfinite(seg)
    h = np.array(
        [np.median(seg[seen[:, i], i]) if seen[:, i].any() else np.nan for i in range(seg.shape[1])]
    )
    ok = np.isfinite(h) & (h > 0)
    return np.where(ok, h, np.median(h[ok]) if ok.any() else 1.0)


def posture_target(chain: np.ndarray, D: np.ndarray) -> np.ndarray:
    """``(T, P-2, C)`` px: the athlete's median bending, turned with the chain.

    chain: ``(T, C, P)`` px (the Kalman-smoothed chain, NaN where missing); D: the
    bending matrix.  The bending ``c_i`` of each frame is expressed in the frame of the
    local chord ``p_i+1 - p_i-1`` (along, across); its median over the frames where the
    three points exist, per level, is turned back with each frame's chord.  Where the
    chord is unknown, the mean chord direction is used.  Rotating the image rotates the
    target.
    """
    bend = np.einsum("ik,tck->tic", D, chain)  # NaN where a point of the triple is missing
    chord = (chain[:, :, 2:] - chain[:, :, :-2]).transpose(0, 2, 1)  # (T, P-2, C)
    norm = np.sqrt((chord**2).sum(-1, keepdims=True))
    u = chord / np.where(norm > 0, norm, np.nan)
    local = np.stack(
        [(bend * u).sum(-1), (bend[..., 1] * u[..., 0] - bend[..., 0] * u[..., 1])], -1
    )  # (T, P-2, 2): along the chord, across it
    seen = np.isfinite(local).all(-1)
    med = np.zeros((D.shape[0], 2))
    u_mean = np.tile([0.0, -1.0], (D.shape[0], 1))
    for i in range(D.shape[0]):
        if seen[:, i].any():
            med[i] = np.median(local[seen[:, i], i], axis=0)
            mu = u[seen[:, i], i].mean(0)
            u_mean[i] = mu / max(float(np.hypot(*mu)), 1e-12)
    u = np.where(seen[..., None], u, u_mean[None])
    n = np.stack([-u[..., 1], u[..., 0]], -1)
    return med[None, :, :1] * u + med[None, :, 1:] * n


def _scaled_model(F: np.ndarray, Q: np.ndarray, tau: float) -> tuple[np.ndarray, ...]:
    """Transition blocks for states scaled by ``tau^j``: ``(FᵀQ⁻¹F, Q⁻¹, -FᵀQ⁻¹)``."""
    d = F.shape[1]
    s = tau ** np.arange(d)
    Fs = F * s[:, None] / s[None, :]
    Qs = Q * s[:, None] * s[None, :]
    Qi = np.linalg.inv(Qs[1:])
    FtQi = np.einsum("tji,tjk->tik", Fs[1:], Qi)
    return np.einsum("tij,tjk->tik", FtQi, Fs[1:]), Qi, -FtQi


def chain_system(
    kal: KalmanResult,
    z: np.ndarray,
    F: np.ndarray,
    Q: np.ndarray,
    init_var: np.ndarray,
    D: np.ndarray,
    spine_sigma: float,
    tau: float,
    target: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Upper banded Hessian ``(kd+1, n)`` and right-hand side ``(n, C)`` of one chain.

    kal: the Kalman result of the chain's ``P`` series; z: ``(T, C, P)`` px; F, Q:
    ``(T, d, d)``; init_var: ``(d,)``; D: ``(P-2, P)``; tau: the time scale (s) of the
    derivative states.  Unknowns are ordered ``(t, k, j)``, ``j`` the derivative.
    """
    n_time, n_coord, n_pts = z.shape
    d = F.shape[1]
    kd = n_pts * d + d - 1
    ab = np.zeros((kd + 1, n_time * n_pts * d))
    rhs = np.zeros((n_time, n_pts, d, n_coord))

    def view(offset: int) -> np.ndarray:
        return ab[kd - offset].reshape(n_time, n_pts, d)

    A, B, Cx = _scaled_model(F, Q, tau)
    # (T-1, P): link t-1 -> t; the Kalman filter's inflation approximated as Q * f
    link = (kal.covered[1:] & kal.covered[:-1]) / kal.inflation[1:]
    for a in range(d):
        for b in range(d):
            if b >= a:
                view(b - a)[:-1, :, b] += A[:, a, b, None] * link
                view(b - a)[1:, :, b] += B[:, a, b, None] * link
            view(n_pts * d + b - a)[1:, :, b] += Cx[:, a, b, None] * link
    w = np.where(kal.accepted, 1.0 / kal.meas_var, 0.0)
    rs = kal.reset.astype(np.float64)
    zz = np.where(kal.accepted[:, None], z, 0.0)  # a restart is always accepted
    view(0)[:, :, 0] += w + rs / init_var[0]
    rhs[:, :, 0, :] = ((w + rs / init_var[0])[:, None, :] * zz).transpose(0, 2, 1)
    for j in range(1, d):
        view(0)[:, :, j] += rs / (init_var[j] * tau ** (2 * j))
    DtD = D.T @ D / spine_sigma**2
    if target is not None:  # penalise c - target: (T, P-2, C) px
        rhs[:, :, 0, :] += np.einsum("ik,tic->tkc", D, target) / spine_sigma**2
    for k in range(n_pts):
        for k2 in range(k, n_pts):
            if DtD[k, k2] != 0.0:
                view((k2 - k) * d)[:, k2, 0] += DtD[k, k2]
    view(0)[:] += RIDGE * ~kal.covered[:, :, None]  # frames the chain's data leave free
    return ab, rhs.reshape(-1, n_coord)


@dataclass(frozen=True)
class SpinePriorSmoother(KalmanSmoother):
    """Kalman-RTS for every keypoint, plus the spine-shape prior on the spine chain.

    Parameters: those of :class:`KalmanSmoother` (offline only: ``causal`` must stay
    False); ``spine_reference``: ``"median"`` (the athlete's median bending, turned with
    the chain) or ``"straight"`` (the paper's second-difference term); ``spine_sigma``
    (px): the typical deviation of each interior point from that shape, sideways from its
    neighbours (see the module docstring); smaller is stiffer, ``inf`` gives the
    Kalman-RTS result.  Points off the chain, and
    every confidence, are the Kalman smoother's; chain points are NaN exactly where the
    Kalman smoother leaves them NaN.
    """

    spine_sigma: float = 4.0
    spine_reference: str = "median"
    #: The spine chain's points are smoothed together.
    keypoints_independent: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.causal:
            raise ValueError("causal: the spine prior smooths whole videos; use causal=False")
        if not (self.spine_sigma > 0):
            raise ValueError(f"spine_sigma: expected > 0, received {self.spine_sigma!r}")
        if self.spine_reference not in ("median", "straight"):
            raise ValueError(
                "spine_reference: expected 'median' or 'straight', received "
                f"{self.spine_reference!r}"
            )
        object.__setattr__(self, "name", "spine-prior" + ("-ca" if self.model == "ca" else ""))

    def params(self) -> dict[str, Any]:
        out = super().params()
        out.pop("causal")
        out["spine_sigma"] = self.spine_sigma
        out["spine_reference"] = self.spine_reference
        return out

    def __call__(
        self, position: np.ndarray, confidence: np.ndarray, time_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(T, 2, 37, N)`` px, ``(T, 37, N)``, ``(T,)`` s -> smoothed position, confidence."""
        z, conf, time_s = prepare(position, confidence, time_s)
        kal = self.run(z, conf, time_s)
        out = kal.position.copy()
        n_tracks = position.shape[3]
        if len(time_s) > 1:
            for n in range(n_tracks):
                cols = [k * n_tracks + n for k in SPINE_CHAIN_INDICES]
                out[:, :, cols] = self.solve_chain(kal, z, time_s, cols)
        return unflatten(out, kal.confidence, position.shape)

    def solve_chain(
        self, kal: KalmanResult, z: np.ndarray, time_s: np.ndarray, cols: list[int]
    ) -> np.ndarray:
        """``(T, C, P)`` px: the joint smoother's chain (series ``cols`` of ``kal``)."""
        sub = KalmanResult(*(getattr(kal, f.name)[..., cols] for f in fields(KalmanResult)))
        order = MODELS[self.model]
        F, Q = transition(order, self.q, np.diff(time_s, prepend=time_s[:1]))
        init_std = np.array(
            [INIT_POSITION_STD, self.init_velocity_std, self.init_acceleration_std]
        )[: order + 1]
        D = bending_matrix(_segment_lengths(sub.position))
        target = None if self.spine_reference == "straight" else posture_target(sub.position, D)
        tau = nominal_period(time_s)
        ab, rhs = chain_system(
            sub, z[:, :, cols], F, Q, init_std**2, D, self.spine_sigma, tau, target
        )
        with _single_threaded_blas():
            sol = solveh_banded(ab, rhs, check_finite=False)
        n_time, n_coord, n_pts = sub.position.shape
        p = sol.reshape(n_time, n_pts, order + 1, n_coord)[:, :, 0, :].transpose(0, 2, 1)
        return np.where(sub.covered[:, None, :], p, np.nan)
