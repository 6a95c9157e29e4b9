"""Spine angles from the 10-point chain (pure numpy): design.md §5.

All arrays are ``(T, N, ...)``: T frames, N tracks.  Points are in a y-up frame
(:func:`~spinepose_sports.kinematics.angles.to_y_up`).  ``sign`` ``(T, N)`` is +1 when
positive angles point to image right, -1 to image left, NaN where the facing is unknown
(:mod:`.facing`): the athlete's front in side views, the athlete's right in front/back
views.  It is decided frame by frame, so an athlete who turns keeps his signs.

* segment orientation θᵢ ``(T, N, 9)``: segment i (proximal -> distal, pelvis to head)
  from the upward vertical, positive toward ``sign``.
* segmental angle φₖ ``(T, N, 8)`` at each interior chain point: θ(next) − θ(previous),
  positive = flexion (side views) / bending to the right (frontal views).
* regional angles ``(T, N, 3)``: the sum of the region's segmental angles; the 8 levels
  are partitioned (lumbar: spine_01, spine_02, spine_03 (T12/L1); thoracic: spine_04,
  spine_05; cervical: neck (C7), neck_02, neck_03), so lumbar + thoracic + cervical =
  the whole chain's bend θ₈ − θ₀ (``bend``).
* trunk flexion ``(T, N)``: the hip -> neck line from vertical, positive toward ``sign``.
* pelvis tilt ``(T, N)``: θ of the sacral segment hip -> spine_01.
* curvature ``(T, N, 8)``: φₖ divided by the normalised length attributed to point k
  (half of each adjacent segment, over the chain length): deg per spine length.
* flexion curve ``(T, N, G)``: cumulative flexion relative to the sacral segment vs
  normalised arc length, on a fixed grid of G points in [0, 1].

Ranges: every angle is in (-180, 180]; relative angles (segmental, regional, bend) are
never unwrapped.  The absolute orientations (segment, trunk, pelvis) also come unwrapped
over time (``*_unwrapped``) for rotations: a somersault reads one turn (360°).  Any
missing point of an angle makes it NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import KEYPOINT_INDEX, SPINE_CHAIN, SPINE_LEVELS, SPINE_SEGMENTS
from .angles import tilt_from_vertical_deg, unwrap_time, wrap

CHAIN_INDICES: tuple[int, ...] = tuple(KEYPOINT_INDEX[n] for n in SPINE_CHAIN)
REGIONS: tuple[str, ...] = ("lumbar", "thoracic", "cervical")
#: First and last segment index of each region (indices into SPINE_SEGMENTS).
#: The levels of each region: every one of the 8 levels in exactly one region.  The
#: thoracolumbar junction spine_03 (T12/L1) goes to the lumbar region and the
#: cervicothoracic junction neck (C7) to the cervical region (docs/kinematics.md).
REGION_LEVELS: dict[str, tuple[str, ...]] = {
    "lumbar": ("spine_01", "spine_02", "spine_03"),
    "thoracic": ("spine_04", "spine_05"),
    "cervical": ("neck", "neck_02", "neck_03"),
}
#: First and last segment index of each region (indices into SPINE_SEGMENTS): the
#: region's angle is θ(last) − θ(first), the sum of its levels' segmental angles.
REGION_SEGMENTS: dict[str, tuple[int, int]] = {
    "lumbar": (0, 3),  # hip-spine_01 ... spine_03-spine_04
    "thoracic": (3, 5),  # spine_03-spine_04 ... spine_05-neck
    "cervical": (5, 8),  # spine_05-neck ... neck_03-head
}
#: The chain points spanned by each region's segments (for the docs and tables).
REGION_POINTS: dict[str, tuple[str, str]] = {
    "lumbar": ("hip", "spine_04"),
    "thoracic": ("spine_03", "neck"),
    "cervical": ("spine_05", "head"),
}
DEFAULT_N_ARC = 21

assert len(SPINE_SEGMENTS) == 9 and len(SPINE_LEVELS) == 8


@dataclass(frozen=True)
class SpineAngles:
    """Spine results, every array ``(T, N, ...)``; angles in deg, lengths in px.

    ``segment``, ``trunk``, ``pelvis`` are absolute orientations in (-180, 180];
    ``*_unwrapped`` the same unwrapped over time; the relative angles ``segmental``,
    ``regional`` and ``bend`` are in (-180, 180], never unwrapped.
    """

    segment: np.ndarray  # (T, N, 9) deg
    segment_unwrapped: np.ndarray  # (T, N, 9) deg
    segmental: np.ndarray  # (T, N, 8) deg
    regional: np.ndarray  # (T, N, 3) deg
    bend: np.ndarray  # (T, N) deg
    trunk: np.ndarray  # (T, N) deg
    trunk_unwrapped: np.ndarray  # (T, N) deg
    pelvis: np.ndarray  # (T, N) deg
    pelvis_unwrapped: np.ndarray  # (T, N) deg
    segment_length: np.ndarray  # (T, N, 9) px
    spine_length: np.ndarray  # (T, N) px
    curvature: np.ndarray  # (T, N, 8) deg per spine length
    flexion_curve: np.ndarray  # (T, N, G) deg
    arc: np.ndarray  # (G,) normalised arc length


def chain_points(xy_up: np.ndarray) -> np.ndarray:
    """``(T, N, 37, 2)`` -> the 10 chain points ``(T, N, 10, 2)``, pelvis to head."""
    return xy_up[:, :, list(CHAIN_INDICES), :]


def _sign_tn(sign: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``sign`` ``(N,)`` (one per track) or ``(T, N)`` (per frame) -> ``(T, N)``."""
    s = np.asarray(sign, dtype=np.float64)
    return np.broadcast_to(s[None, :] if s.ndim == 1 else s, shape[:2])


def segment_orientations(xy_up: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """θ ``(T, N, 9)`` deg in (-180, 180] (not unwrapped); NaN for missing/zero segments
    and where ``sign`` (``(N,)`` or ``(T, N)``) is NaN."""
    pts = chain_points(xy_up)
    vec = pts[:, :, 1:] - pts[:, :, :-1]
    return tilt_from_vertical_deg(vec, _sign_tn(sign, xy_up.shape)[..., None])


def regional_angles(segmental: np.ndarray) -> np.ndarray:
    """``(T, N, 8)`` segmental -> ``(T, N, 3)`` regional angles (sum over the region's
    levels, wrapped into (-180, 180]), deg, in the order of :data:`REGIONS`."""
    cols = [segmental[..., a:b].sum(axis=-1) for a, b in REGION_SEGMENTS.values()]
    return wrap(np.stack(cols, axis=-1))


def _segment_lengths(xy_up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = chain_points(xy_up)
    seg = np.hypot(*np.moveaxis(pts[:, :, 1:] - pts[:, :, :-1], -1, 0))
    total = seg.sum(axis=-1)  # NaN if any segment is missing
    total = np.where(total > 0, total, np.nan)
    return seg, total


def curvature(segmental: np.ndarray, seg_len: np.ndarray, total: np.ndarray) -> np.ndarray:
    """κₖ = φₖ / (((Lₖ + Lₖ₊₁) / 2) / L): deg per spine length, ``(T, N, 8)``.

    segmental: φ ``(T, N, 8)`` deg; seg_len: ``(T, N, 9)`` px; total: L ``(T, N)`` px.
    For a chain bent evenly into a circular arc, κ equals the total bend at every level.
    """
    share = (seg_len[..., :-1] + seg_len[..., 1:]) / 2 / total[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = segmental / share
    return np.where(share > 0, out, np.nan)


def flexion_curve(
    segmental: np.ndarray, seg_len: np.ndarray, total: np.ndarray, n_arc: int = DEFAULT_N_ARC
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative flexion vs normalised arc length: ``((T, N, G) deg, (G,) arc)``.

    The cumulative angle of segment i is θᵢ − θ₀ = φ₁ + … + φᵢ (the segmental angles),
    placed at the normalised arc position of the segment's midpoint and linearly
    interpolated between midpoints; before the first midpoint it is 0, after the last it
    is the total θ₈ − θ₀.  NaN in a frame where any chain point is missing.
    """
    arc = np.linspace(0.0, 1.0, int(n_arc))
    cum = np.concatenate([np.zeros((*segmental.shape[:-1], 1)), np.cumsum(segmental, -1)], -1)
    ends = np.cumsum(seg_len, axis=-1)
    mid = (ends - seg_len / 2) / total[..., None]  # (T, N, 9), increasing along the chain
    # index of the last midpoint at or before each grid point
    above = (mid[..., None, :] <= arc[:, None]).sum(axis=-1)  # (T, N, G) in 0..9
    hi = np.clip(above, 1, 8)
    lo = hi - 1
    m_lo = np.take_along_axis(mid, lo, axis=-1)
    m_hi = np.take_along_axis(mid, hi, axis=-1)
    c_lo = np.take_along_axis(cum, lo, axis=-1)
    c_hi = np.take_along_axis(cum, hi, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip((arc - m_lo) / (m_hi - m_lo), 0.0, 1.0)
    out = c_lo + frac * (c_hi - c_lo)
    bad = ~np.isfinite(total)[..., None] | ~np.isfinite(cum).all(axis=-1, keepdims=True)
    return np.where(bad, np.nan, out), arc


def spine_angles(xy_up: np.ndarray, sign: np.ndarray, n_arc: int = DEFAULT_N_ARC) -> SpineAngles:
    """Every spine quantity of :class:`SpineAngles`.

    xy_up: ``(T, N, 37, 2)`` px, y up; sign: ``(N,)`` or ``(T, N)`` ±1 (NaN: no sign, the
    angles of that frame are NaN); see the module doc.
    """
    sign_tn = _sign_tn(sign, xy_up.shape)
    theta = segment_orientations(xy_up, sign_tn)
    segmental = wrap(theta[..., 1:] - theta[..., :-1])
    trunk_vec = xy_up[:, :, KEYPOINT_INDEX["neck"]] - xy_up[:, :, KEYPOINT_INDEX["hip"]]
    trunk = tilt_from_vertical_deg(trunk_vec, sign_tn)
    seg_len, total = _segment_lengths(xy_up)
    curve, arc = flexion_curve(segmental, seg_len, total, n_arc)
    theta_u = unwrap_time(theta)
    return SpineAngles(
        segment=theta,
        segment_unwrapped=theta_u,
        segmental=segmental,
        regional=regional_angles(segmental),
        bend=wrap(segmental.sum(axis=-1)),
        trunk=trunk,
        trunk_unwrapped=unwrap_time(trunk),
        pelvis=theta[..., 0].copy(),
        pelvis_unwrapped=theta_u[..., 0].copy(),
        segment_length=seg_len,
        spine_length=total,
        curvature=curvature(segmental, seg_len, total),
        flexion_curve=curve,
        arc=arc,
    )
