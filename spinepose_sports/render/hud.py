"""Heads-up elements of the overlay: the angle readout, the colour legend, motion trails.

Pure drawing on ``uint8 (H, W, 3)`` BGR images, in place.  Sizes come from a
:class:`~spinepose_sports.render.annotate.DrawStyle`, so they scale with the resolution.
OpenCV's Hershey fonts have no degree sign: :func:`put_text` draws one as a small ring
wherever the text holds ``°``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .colors import DEFAULT_ANGLE_RANGE_DEG, FLEXION_LUT_BGR

FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_BGR = (255, 255, 255)
DIM_BGR = (200, 200, 200)
#: Share of the background kept under the readout and legend panels.
BACKDROP_KEEP = 0.35


def text_size(text: str, scale: float, thickness: int) -> tuple[int, int, int]:
    """``(width, height, baseline)`` px of ``text`` as :func:`put_text` draws it."""
    parts = text.split("°")
    (w, h), base = cv2.getTextSize("".join(parts) or " ", FONT, scale, thickness)
    ring = _ring_px(h)
    return w + (len(parts) - 1) * (2 * ring + thickness + 2), h, base


def _ring_px(text_height: int) -> int:
    return max(1, round(text_height * 0.18))


def put_text(
    image: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float,
    thickness: int,
    color: tuple[int, int, int] = TEXT_BGR,
) -> None:
    """``cv2.putText`` (bottom-left ``org`` px) that also draws ``°`` as a small ring."""
    x, y = org
    parts = text.split("°")
    h = cv2.getTextSize("0", FONT, scale, thickness)[0][1]
    ring = _ring_px(h)
    for i, part in enumerate(parts):
        if part:
            cv2.putText(image, part, (x, y), FONT, scale, color, thickness, cv2.LINE_AA)
            x += cv2.getTextSize(part, FONT, scale, thickness)[0][0]
        if i < len(parts) - 1:
            cx = x + ring + max(1, thickness // 2)
            cv2.circle(image, (cx, y - h + ring), ring, color, max(1, thickness // 2), cv2.LINE_AA)
            x += 2 * ring + thickness + 2


def darken(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """Darken the rectangle ``[x0, x1) x [y0, y1)`` px (clipped) to a translucent backdrop."""
    h, w = image.shape[:2]
    x0, x1 = max(0, x0), min(w, x1)
    y0, y1 = max(0, y0), min(h, y1)
    if x1 > x0 and y1 > y0:
        roi = image[y0:y1, x0:x1]
        np.multiply(roi, BACKDROP_KEEP, out=roi, casting="unsafe")


def format_angle(value: float) -> str:
    """``+23°`` / ``-4°`` / ``--`` (NaN) for a readout."""
    if not math.isfinite(value):
        return "--"
    return f"{value:+.0f}°"


# ----------------------------------------------------------------------------- readout


Rect = tuple[int, int, int, int]


def _overlap_area(a: Rect, b: Rect) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def place_beside(
    box_xyxy: np.ndarray,
    size: tuple[int, int],
    frame_hw: tuple[int, int],
    pad: int,
    taken: Sequence[Rect] = (),
) -> Rect:
    """Where a ``size`` (w, h) px panel goes beside a box: ``(x0, y0, x1, y1)`` px.

    Tried in order: right of the box's top, left of it, then one and two panel heights
    lower, one higher, at the frame's bottom, and inside the box's right edge; the first
    inside the frame that overlaps no ``taken`` rectangle wins, else the one inside the
    frame that overlaps them least, else the first clipped to the frame.
    """
    (width, height), (h_img, w_img) = size, frame_hw
    bx0, by0, bx1, _ = (float(v) for v in box_xyxy)
    xs = (round(bx1 + pad), round(bx0 - pad - width), round(bx1 - width))
    step = height + pad
    ys = [round(by0) + k * step for k in (0, 1, 2, -1)] + [h_img - height]
    candidates = [(x, y) for x in xs[:2] for y in ys[:1]]
    candidates += [(x, y) for y in ys[1:] for x in xs[:2]] + [(xs[2], y) for y in ys]

    def rect(x: int, y: int) -> Rect:
        return x, y, x + width, y + height

    inside = [c for c in candidates if 0 <= c[0] <= w_img - width and 0 <= c[1] <= h_img - height]
    if inside:
        overlap = [sum(_overlap_area(rect(x, y), t) for t in taken) for x, y in inside]
        return rect(*inside[int(np.argmin(overlap))])  # argmin: the first of the least
    x, y = candidates[0]
    x = int(np.clip(x, 0, max(w_img - width, 0)))
    y = int(np.clip(y, 0, max(h_img - height, 0)))
    return rect(x, y)


def draw_readout(
    image: np.ndarray,
    rows: Sequence[tuple[str, float]],
    box_xyxy: np.ndarray,
    scale: float,
    thickness: int,
    accent: tuple[int, int, int],
    taken: Sequence[Rect] = (),
) -> Rect:
    """Draw an angle readout (``rows`` of ``(name, deg)``) beside an athlete's box.

    scale, thickness: OpenCV font scale and stroke (px) of the text.  Placed by
    :func:`place_beside` (right of the box top, else left, else lower), away from the
    ``taken`` rectangles (other athletes' readouts).  The panel has a translucent dark
    backdrop and an accent bar in the track's colour.  Returns its ``(x0, y0, x1, y1)`` px.
    """
    s = scale
    pad = max(2, round(6 * s))
    names = [n for n, _ in rows]
    values = [format_angle(v) for _, v in rows]
    name_w = max(text_size(n, s, thickness)[0] for n in names)
    val_w = max(text_size(v, s, thickness)[0] for v in [*values, "+000°"])
    line_h = text_size("Ag", s, thickness)[1] + text_size("Ag", s, thickness)[2] + pad
    width = name_w + val_w + 4 * pad
    height = line_h * len(rows) + pad
    x0, y0, x1, y1 = place_beside(box_xyxy, (width, height), image.shape[:2], pad, taken)
    darken(image, x0, y0, x1, y1)
    cv2.rectangle(image, (x0, y0), (x0 + max(2, pad // 2), y1), accent, -1)
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        y = y0 + (i + 1) * line_h - pad // 2
        put_text(image, name, (x0 + 2 * pad, y), s, thickness, DIM_BGR)
        vw = text_size(value, s, thickness)[0]
        put_text(image, value, (x1 - pad - vw, y), s, thickness, TEXT_BGR)
    return x0, y0, x1, y1


# ----------------------------------------------------------------------------- legend


@dataclass
class ColorLegend:
    """A colour bar for the spine colours, drawn once and pasted on every frame.

    Bottom-left corner: a title, the bar from ``-limit`` to ``+limit`` deg and the meaning
    of each end (``ends``: e.g. ``("extension", "flexion")``); on small frames
    (:attr:`compact`) only the bar and its ticks.
    """

    frame_height: int
    frame_width: int
    scale: float
    thickness: int
    limit_deg: float = DEFAULT_ANGLE_RANGE_DEG
    title: str = "spine: segmental angle"
    ends: tuple[str, str] = ("extension", "flexion")

    def __post_init__(self) -> None:
        self._patch, self._mask, self._origin = self._build()

    @property
    def compact(self) -> bool:
        """On small frames (shorter side under 400 px) only the bar and its ticks."""
        return min(self.frame_height, self.frame_width) < 400

    def _build(self) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        s, th = self.scale, self.thickness
        pad = max(3, round(8 * s))
        text_h = text_size("Ag", s, th)[1]
        lim = f"{self.limit_deg:.0f}"
        low, high = f"-{lim}°", f"+{lim}°"
        texts = [f"{low}   0   {high}"]
        if not self.compact:
            texts += [self.title, f"{self.ends[0]}   {self.ends[1]}"]
        bar_w = max(round(0.14 * self.frame_width), *(text_size(t, s, th)[0] for t in texts))
        bar_h = max(4, round(text_h * 0.9))
        lines = 1 if self.compact else 3
        width, height = bar_w + 2 * pad, lines * text_h + bar_h + (2 * lines + 2) * pad
        patch = np.zeros((height, width, 3), np.uint8)
        y = pad
        if not self.compact:
            y += text_h
            put_text(patch, self.title, (pad, y), s, th, TEXT_BGR)
            y += pad
        self._draw_bar(patch, y, pad, bar_w, bar_h)
        mid, right = pad + bar_w // 2, pad + bar_w
        y += bar_h + pad + text_h
        put_text(patch, low, (pad, y), s, th, TEXT_BGR)
        put_text(patch, "0", (mid - text_size("0", s, th)[0] // 2, y), s, th, TEXT_BGR)
        put_text(patch, high, (right - text_size(high, s, th)[0], y), s, th, TEXT_BGR)
        if not self.compact:
            y += pad + text_h
            first, last = self.ends
            put_text(patch, first, (pad, y), s, th, DIM_BGR)
            put_text(patch, last, (right - text_size(last, s, th)[0], y), s, th, DIM_BGR)
        mask: np.ndarray = np.asarray(patch.any(axis=-1), dtype=bool)
        margin = max(4, round(12 * self.scale))
        origin = (margin, self.frame_height - height - margin)
        return patch, mask, origin

    def _draw_bar(self, patch: np.ndarray, y: int, x: int, bar_w: int, bar_h: int) -> None:
        idx = np.linspace(0, len(FLEXION_LUT_BGR) - 1, bar_w).round().astype(np.intp)
        patch[y : y + bar_h, x : x + bar_w] = FLEXION_LUT_BGR[idx][None, :, :]
        mid = x + bar_w // 2
        cv2.line(patch, (mid, y - 2), (mid, y + bar_h + 1), TEXT_BGR, max(1, self.thickness // 2))

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` px of the legend."""
        return self._patch.shape[1], self._patch.shape[0]

    @property
    def origin(self) -> tuple[int, int]:
        """Top-left corner ``(x, y)`` px of the legend on the frame."""
        return self._origin

    def draw(self, image: np.ndarray) -> None:
        """Paste the legend on ``image`` (in place), over a translucent dark backdrop."""
        x, y = self._origin
        h, w = self._patch.shape[:2]
        if x < 0 or y < 0 or y + h > image.shape[0] or x + w > image.shape[1]:
            return  # a frame too small for a legend
        darken(image, x, y, x + w, y + h)
        roi = image[y : y + h, x : x + w]
        np.copyto(roi, self._patch, where=self._mask[..., None])


def legend_ends(motion_planes: Sequence[str]) -> tuple[str, str]:
    """Words for the two ends of the colour bar, from the tracks' motion planes."""
    planes = set(motion_planes)
    if planes == {"lateral-bending"}:
        return "bend left", "bend right"
    if "lateral-bending" in planes:
        return "ext / left", "flex / right"
    return "extension", "flexion"


# ----------------------------------------------------------------------------- trails


def draw_trail(
    image: np.ndarray, path_xy: np.ndarray, color: tuple[int, int, int], width_px: int
) -> None:
    """Draw a motion trail (oldest to newest points ``(L, 2)`` px, NaN = gap), in place.

    Older parts are thinner, so the trail tapers off toward the past.
    """
    pts = np.asarray(path_xy, dtype=np.float64)
    n = len(pts)
    if n < 2:
        return
    ok: np.ndarray = np.asarray(np.isfinite(pts).all(axis=1), dtype=bool)
    ipts = np.round(np.nan_to_num(pts)).astype(np.int32)
    for i in range(n - 1):
        if ok[i] and ok[i + 1]:
            w = max(1, round(width_px * (i + 1) / (n - 1)))
            cv2.line(image, tuple(ipts[i]), tuple(ipts[i + 1]), color, w, cv2.LINE_AA)


__all__ = [
    "ColorLegend",
    "Rect",
    "darken",
    "draw_readout",
    "draw_trail",
    "format_angle",
    "legend_ends",
    "place_beside",
    "put_text",
    "text_size",
]
