"""The diverging colour scale of spine angles, shared by the overlay and the dashboard.

Blue = extension (or bending to the athlete's left in front/back views), pale yellow =
neutral, red = flexion (or bending to the right).  The anchors are ColorBrewer's RdYlBu
(reversed), which stays readable for the common forms of colour blindness and on video.
"""

from __future__ import annotations

import numpy as np

#: RGB anchors from the most negative to the most positive angle.
FLEXION_ANCHORS_RGB: tuple[tuple[int, int, int], ...] = (
    (49, 54, 149),
    (116, 173, 209),
    (255, 255, 191),
    (244, 109, 67),
    (165, 0, 38),
)
#: Default half-range of the overlay's colour scale, deg: -30 deg ... +30 deg.
DEFAULT_ANGLE_RANGE_DEG = 30.0
#: BGR colour for an angle that is not known (NaN).
UNKNOWN_BGR = (150, 150, 150)

#: The same scale as a Plotly colorscale.
FLEXION_COLORSCALE: list[list[float | str]] = [
    [i / (len(FLEXION_ANCHORS_RGB) - 1), f"rgb{c}"] for i, c in enumerate(FLEXION_ANCHORS_RGB)
]


def _lut_bgr(n: int = 256) -> np.ndarray:
    """``(n, 3)`` uint8 BGR colours, linear between the anchors."""
    anchors = np.asarray(FLEXION_ANCHORS_RGB, dtype=np.float64)[:, ::-1]
    pos = np.linspace(0.0, 1.0, len(anchors))
    x = np.linspace(0.0, 1.0, n)
    lut = np.stack([np.interp(x, pos, anchors[:, c]) for c in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


FLEXION_LUT_BGR = _lut_bgr()


def angle_colors_bgr(
    angle_deg: np.ndarray, limit_deg: float = DEFAULT_ANGLE_RANGE_DEG
) -> np.ndarray:
    """BGR colours ``(..., 3)`` uint8 of angles ``(...)`` in deg.

    ``-limit_deg`` and below map to the first anchor, ``+limit_deg`` and above to the last;
    NaN maps to :data:`UNKNOWN_BGR`.
    """
    a = np.asarray(angle_deg, dtype=np.float64)
    frac = np.clip((np.nan_to_num(a, nan=0.0) / limit_deg + 1.0) / 2.0, 0.0, 1.0)
    out = FLEXION_LUT_BGR[np.round(frac * (len(FLEXION_LUT_BGR) - 1)).astype(np.intp)]
    out[~np.isfinite(a)] = UNKNOWN_BGR
    return out


def angle_color_bgr(
    angle_deg: float, limit_deg: float = DEFAULT_ANGLE_RANGE_DEG
) -> tuple[int, int, int]:
    """BGR colour of one angle (deg) as a tuple of ints (for OpenCV calls)."""
    c = angle_colors_bgr(np.array([angle_deg]), limit_deg)[0]
    return int(c[0]), int(c[1]), int(c[2])


__all__ = [
    "DEFAULT_ANGLE_RANGE_DEG",
    "FLEXION_ANCHORS_RGB",
    "FLEXION_COLORSCALE",
    "FLEXION_LUT_BGR",
    "UNKNOWN_BGR",
    "angle_color_bgr",
    "angle_colors_bgr",
]
