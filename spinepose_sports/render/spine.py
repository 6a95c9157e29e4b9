"""The spine as a smooth curve coloured by the segmental angle at each vertebral level.

The 10 chain points (pelvis to head) are joined by a centripetal Catmull-Rom spline, which
passes through every point without loops or overshoot at uneven spacing.  The colour along
the curve is the segmental (intervertebral) angle φ interpolated between the levels
(design §5: positive = flexion, or bending to the athlete's right in front/back views).
"""

from __future__ import annotations

import cv2
import numpy as np

from .colors import DEFAULT_ANGLE_RANGE_DEG, angle_colors_bgr

#: Curve samples per chain segment.
SAMPLES_PER_SEGMENT = 6
OUTLINE_BGR = (25, 25, 25)


def catmull_rom(
    points: np.ndarray, samples: int = SAMPLES_PER_SEGMENT
) -> tuple[np.ndarray, np.ndarray]:
    """Centripetal Catmull-Rom spline through ``points`` ``(m, 2)`` px, m >= 2.

    Returns ``(curve (S, 2) px, param (S,))`` where ``param`` runs from 0 at the first point
    to m - 1 at the last (integer values at the given points), S = (m - 1) * samples + 1.
    The end tangents come from mirrored phantom points.
    """
    p = np.asarray(points, dtype=np.float64)
    m = len(p)
    if m < 2:
        raise ValueError(f"catmull_rom needs at least 2 points, got {m}")
    ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    p0, p1, p2, p3 = ext[:-3], ext[1:-2], ext[2:-1], ext[3:]  # (m-1, 2) each
    step = np.linalg.norm(np.diff(ext, axis=0), axis=1) ** 0.5 + 1e-6
    t1 = step[:-2]
    t2 = t1 + step[1:-1]
    t3 = t2 + step[2:]
    u = np.linspace(0.0, 1.0, samples, endpoint=False)
    t = (t1[:, None] + u[None, :] * (t2 - t1)[:, None])[..., None]  # (m-1, s, 1)
    t1_, t2_, t3_ = t1[:, None, None], t2[:, None, None], t3[:, None, None]
    q0, q1, q2, q3 = (x[:, None, :] for x in (p0, p1, p2, p3))
    a1 = (t1_ - t) / t1_ * q0 + t / t1_ * q1
    a2 = (t2_ - t) / (t2_ - t1_) * q1 + (t - t1_) / (t2_ - t1_) * q2
    a3 = (t3_ - t) / (t3_ - t2_) * q2 + (t - t2_) / (t3_ - t2_) * q3
    b1 = (t2_ - t) / t2_ * a1 + t / t2_ * a2
    b2 = (t3_ - t) / (t3_ - t1_) * a2 + (t - t1_) / (t3_ - t1_) * a3
    c = (t2_ - t) / (t2_ - t1_) * b1 + (t - t1_) / (t2_ - t1_) * b2
    curve = np.concatenate([c.reshape(-1, 2), p[-1:]])
    param = np.concatenate([(np.arange(m - 1)[:, None] + u[None, :]).ravel(), [m - 1.0]])
    return curve, param


def chain_point_angles(segmental_deg: np.ndarray) -> np.ndarray:
    """Angles ``(10,)`` deg at the 10 chain points from the 8 level angles ``(8,)``.

    The interior points carry their level's segmental angle; the pelvis and the head, which
    have no segmental angle, take their neighbour's.
    """
    s = np.asarray(segmental_deg, dtype=np.float64)
    return np.concatenate([s[:1], s, s[-1:]])


def draw_spine_curve(
    image: np.ndarray,
    chain_xy: np.ndarray,
    chain_angle_deg: np.ndarray,
    width_px: int,
    *,
    limit_deg: float = DEFAULT_ANGLE_RANGE_DEG,
    marker_px: int | None = None,
) -> None:
    """Draw the spine on ``image`` (BGR, in place) as a smooth, angle-coloured curve.

    chain_xy: ``(10, 2)`` px, NaN where a point is missing (the curve joins the others);
    chain_angle_deg: ``(10,)`` deg per chain point (:func:`chain_point_angles`), NaN drawn
    grey.  A dark outline keeps the curve visible on any background; each vertebral level
    gets a dot in its colour.
    """
    xy = np.asarray(chain_xy, dtype=np.float64)
    keep = np.isfinite(xy).all(axis=1)
    if keep.sum() < 2:
        return
    pts, values = xy[keep], np.asarray(chain_angle_deg, dtype=np.float64)[keep]
    curve, param = catmull_rom(pts)
    lo = np.minimum(np.floor(param).astype(np.intp), len(pts) - 2)
    frac = param - lo
    v = (1 - frac) * values[lo] + frac * values[lo + 1]
    colors = angle_colors_bgr(0.5 * (v[:-1] + v[1:]), limit_deg)
    ipts = np.round(curve).astype(np.int32)
    outline = width_px + 2 * max(1, width_px // 3)
    cv2.polylines(image, [ipts.reshape(-1, 1, 2)], False, OUTLINE_BGR, outline, cv2.LINE_AA)
    for i in range(len(ipts) - 1):
        c = colors[i]
        color = (int(c[0]), int(c[1]), int(c[2]))
        cv2.line(image, tuple(ipts[i]), tuple(ipts[i + 1]), color, width_px, cv2.LINE_AA)
    radius = marker_px if marker_px is not None else max(2, round(0.75 * width_px))
    dots = angle_colors_bgr(values, limit_deg)
    for (x, y), c in zip(np.round(pts).astype(int), dots, strict=True):
        cv2.circle(image, (int(x), int(y)), radius + 1, OUTLINE_BGR, -1, cv2.LINE_AA)
        cv2.circle(
            image, (int(x), int(y)), radius, (int(c[0]), int(c[1]), int(c[2])), -1, cv2.LINE_AA
        )


__all__ = ["catmull_rom", "chain_point_angles", "draw_spine_curve"]
