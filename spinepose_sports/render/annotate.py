"""Frame annotators: skeletons with the spine curve, boxes, track ids and angle readouts.

Pure drawing on ``uint8 (H, W, 3)`` BGR images with OpenCV; no video I/O here.  Line widths
and fonts scale with the frame size so a 320 px clip and a 4K clip are both readable.

With the athletes' angles (:class:`FrameAngles`), the spine is a smooth curve coloured by
the segmental angle at each level (:mod:`.spine`, :mod:`.colors`) and an angle readout
(trunk, lumbar, thoracic, cervical) sits beside each athlete; without them the spine is a
smooth red curve and there is no readout.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..skeleton import (
    KEYPOINT_NAMES,
    LINK_INDICES,
    MIN_KEYPOINT_CONFIDENCE,
    SPINE_CHAIN_INDICES,
    SPINE_LINKS,
    side_of,
)
from .colors import DEFAULT_ANGLE_RANGE_DEG
from .hud import draw_readout, put_text, text_size
from .spine import chain_point_angles, draw_spine_curve

#: Hue step between consecutive track ids (deg): the golden angle, so that nearby ids get
#: clearly different colours however many tracks there are.
_GOLDEN_ANGLE_DEG = 137.508


def _hue_bgr(hue_deg: float) -> tuple[int, int, int]:
    """A bright, saturated BGR colour of hue ``hue_deg``."""
    hsv = np.array([[[round(hue_deg / 2) % 180, 200, 255]]], np.uint8)  # OpenCV hue: 0-179
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


#: The colours of track ids 0-11 (BGR); :func:`track_color` continues the sequence.
TRACK_PALETTE: tuple[tuple[int, int, int], ...] = tuple(
    _hue_bgr(20 + i * _GOLDEN_ANGLE_DEG) for i in range(12)
)
SPINE_COLOR = (60, 60, 255)  # BGR red: the spine chain stands out from the limbs
#: Spine and readout accent of a frame whose kinematics fail a quality check.
INVALID_COLOR = (150, 150, 150)
LEFT_COLOR = (255, 160, 60)  # BGR blue-ish
RIGHT_COLOR = (60, 200, 255)  # BGR orange
CENTER_COLOR = (230, 230, 230)


def track_color(track_id: int) -> tuple[int, int, int]:
    """The colour (BGR) of a track id: hues a golden angle apart for consecutive ids."""
    tid = int(track_id)
    if 0 <= tid < len(TRACK_PALETTE):
        return TRACK_PALETTE[tid]
    return _hue_bgr((20 + tid * _GOLDEN_ANGLE_DEG) % 360)


@dataclass(frozen=True)
class DrawStyle:
    """Sizes in px, derived from the frame size by :meth:`for_frame`."""

    line_px: int
    spine_px: int
    point_radius_px: int
    font_scale: float
    font_thickness: int
    small_font_scale: float = 0.4

    @classmethod
    def for_frame(cls, height: int, width: int) -> DrawStyle:
        """Scale with the shorter side: 2 px lines at 720 p, at least 1 px.

        Fonts: ``font_scale`` for track labels, ``small_font_scale`` for the readouts,
        the legend and the panel; text stays about 11 px tall on small frames (320 px)
        and about 2 % of the shorter side from 720 p up (15 px at 720 p, 45 px at 4K).
        """
        unit = max(min(height, width) / 720.0, 0.35)
        return cls(
            line_px=max(1, round(2 * unit)),
            spine_px=max(2, round(4 * unit)),
            point_radius_px=max(1, round(3 * unit)),
            font_scale=max(0.45, 0.7 * unit),
            font_thickness=max(1, round(2 * unit)),
            small_font_scale=max(0.4, 0.56 * unit),
        )


def _link_color(a: int, b: int) -> tuple[int, int, int]:
    sides = {side_of(KEYPOINT_NAMES[a]), side_of(KEYPOINT_NAMES[b])}
    if "left" in sides:
        return LEFT_COLOR
    if "right" in sides:
        return RIGHT_COLOR
    return CENTER_COLOR


def _visible(xy: np.ndarray, score: np.ndarray, min_score: float) -> np.ndarray:
    """(K,) bool: finite and confident enough to draw."""
    return np.isfinite(xy).all(axis=1) & (np.nan_to_num(score, nan=0.0) >= min_score)


def _pt(xy: np.ndarray) -> tuple[int, int]:
    return round(float(xy[0])), round(float(xy[1]))


@dataclass(frozen=True)
class FrameAngles:
    """The angles shown for the athletes of one frame (deg, NaN where unknown).

    segmental: ``(n, 8)`` segmental angle per level (spine_01 ... neck_03); trunk: ``(n,)``
    trunk flexion; regional: ``(n, 3)`` lumbar, thoracic, cervical; valid: ``(n,)`` bool,
    False where the frame fails a kinematics quality check (drawn greyed), or None.
    """

    segmental: np.ndarray
    trunk: np.ndarray
    regional: np.ndarray
    valid: np.ndarray | None = None

    def is_valid(self, i: int) -> bool:
        return self.valid is None or bool(self.valid[i])

    def readout_rows(self, i: int) -> list[tuple[str, float]]:
        """The readout of athlete ``i``: ``[(name, deg), ...]``."""
        lumbar, thoracic, cervical = (float(v) for v in self.regional[i])
        rows = [
            ("trunk", float(self.trunk[i])),
            ("lumbar", lumbar),
            ("thoracic", thoracic),
            ("cervical", cervical),
        ]
        return rows if self.is_valid(i) else [*rows, ("flagged", float("nan"))]


def draw_skeleton(
    image: np.ndarray,
    xy: np.ndarray,
    score: np.ndarray,
    style: DrawStyle,
    *,
    min_score: float = MIN_KEYPOINT_CONFIDENCE,
    segmental_deg: np.ndarray | None = None,
    angle_limit_deg: float = DEFAULT_ANGLE_RANGE_DEG,
    spine_color: tuple[int, int, int] = SPINE_COLOR,
) -> None:
    """Draw one person's 37-point skeleton on ``image`` in place.

    xy: ``(37, 2)`` px (NaN where missing); score: ``(37,)``.  Limbs are thin and coloured
    by side; the spine chain (pelvis to head) is a thick smooth curve on top, coloured by
    ``segmental_deg`` (``(8,)`` deg, one per level) when given, ``spine_color`` otherwise
    (red; grey for a frame that fails a quality check).
    """
    visible = _visible(xy, score, min_score)
    for a, b in LINK_INDICES:
        if (a, b) in SPINE_LINKS or not (visible[a] and visible[b]):
            continue
        cv2.line(image, _pt(xy[a]), _pt(xy[b]), _link_color(a, b), style.line_px, cv2.LINE_AA)
    for k in np.flatnonzero(visible):
        if k not in SPINE_CHAIN_INDICES:
            cv2.circle(image, _pt(xy[k]), style.point_radius_px, (255, 255, 255), -1, cv2.LINE_AA)
    chain = np.asarray(xy, dtype=np.float64)[list(SPINE_CHAIN_INDICES)].copy()
    chain[~visible[list(SPINE_CHAIN_INDICES)]] = np.nan
    if segmental_deg is None:
        _draw_plain_spine(image, chain, style, spine_color)
    else:
        draw_spine_curve(
            image,
            chain,
            chain_point_angles(segmental_deg),
            style.spine_px,
            limit_deg=angle_limit_deg,
        )


def _draw_plain_spine(
    image: np.ndarray, chain: np.ndarray, style: DrawStyle,
    color: tuple[int, int, int] = SPINE_COLOR,
) -> None:
    """The spine chain as a smooth curve in one colour (no angles known, or greyed)."""
    from .spine import catmull_rom

    pts = chain[np.isfinite(chain).all(axis=1)]
    if len(pts) < 2:
        return
    curve = np.round(catmull_rom(pts)[0]).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(image, [curve], False, color, style.spine_px, cv2.LINE_AA)
    for p in pts:
        cv2.circle(image, _pt(p), style.point_radius_px, color, -1, cv2.LINE_AA)


def draw_label(
    image: np.ndarray,
    text: str,
    anchor_xy: tuple[float, float],
    color: tuple[int, int, int],
    style: DrawStyle,
) -> None:
    """Draw ``text`` on a filled box whose bottom-left corner is at ``anchor_xy`` (px)."""
    w, h, base = text_size(text, style.font_scale, style.font_thickness)
    height, width = image.shape[:2]
    x = int(np.clip(anchor_xy[0], 0, max(width - w - 4, 0)))
    y = int(np.clip(anchor_xy[1], h + base + 4, height - 1))
    cv2.rectangle(image, (x, y - h - base - 4), (x + w + 4, y), color, -1)
    luma = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    ink = (0, 0, 0) if luma >= 110 else (255, 255, 255)
    put_text(image, text, (x + 2, y - base - 2), style.font_scale, style.font_thickness, ink)


def draw_box(
    image: np.ndarray, xyxy: np.ndarray, color: tuple[int, int, int], style: DrawStyle
) -> None:
    """Draw a box outline (xyxy px) in place."""
    x1, y1, x2, y2 = (round(float(v)) for v in xyxy)
    cv2.rectangle(image, (x1, y1), (x2, y2), color, style.line_px, cv2.LINE_AA)


def annotate_frame(
    image: np.ndarray,
    xyxy: np.ndarray,
    track_ids: np.ndarray,
    xy: np.ndarray | None = None,
    score: np.ndarray | None = None,
    *,
    min_score: float = MIN_KEYPOINT_CONFIDENCE,
    names: dict[int, str] | None = None,
    draw_boxes: bool = True,
    angles: FrameAngles | None = None,
    angle_limit_deg: float = DEFAULT_ANGLE_RANGE_DEG,
    readout: bool = True,
    in_place: bool = False,
    style: DrawStyle | None = None,
) -> np.ndarray:
    """Return ``image`` with boxes, skeletons, track labels (and angle readouts) drawn.

    image: ``uint8 (H, W, 3)`` BGR; xyxy: ``(n, 4)`` px; track_ids: ``(n,)``;
    xy: ``(n, 37, 2)`` px or None; score: ``(n, 37)`` or None; names: optional athlete
    names by track id (shown instead of ``#id``); angles: the athletes' angles, which
    colour the spine curves and fill the readouts (``readout=False``: no readout); an
    athlete whose frame fails a quality check (``angles.valid``) gets a grey spine and a
    grey, "flagged" readout.
    ``in_place``: draw on ``image`` itself (it must be C-contiguous) instead of a copy.
    """
    out = image if in_place else np.ascontiguousarray(image).copy()
    style = style or DrawStyle.for_frame(*out.shape[:2])
    names = names or {}
    taken: list[tuple[int, int, int, int]] = []
    for i, tid in enumerate(np.asarray(track_ids, dtype=np.int64)):
        color = track_color(int(tid))
        if draw_boxes:
            draw_box(out, xyxy[i], color, style)
        if xy is not None and score is not None:
            ok = angles is None or angles.is_valid(i)
            seg = None if angles is None or not ok else angles.segmental[i]
            draw_skeleton(
                out,
                xy[i],
                score[i],
                style,
                min_score=min_score,
                segmental_deg=seg,
                angle_limit_deg=angle_limit_deg,
                spine_color=SPINE_COLOR if ok else INVALID_COLOR,
            )
        if angles is not None and readout:
            rect = draw_readout(
                out,
                angles.readout_rows(i),
                xyxy[i],
                style.small_font_scale,
                style.font_thickness,
                color if angles.is_valid(i) else INVALID_COLOR,
                taken,
            )
            taken.append(rect)
        label = names.get(int(tid), f"#{int(tid)}")
        draw_label(out, label, (float(xyxy[i, 0]), float(xyxy[i, 1]) - 2), color, style)
    return out


__all__ = [
    "DrawStyle",
    "FrameAngles",
    "annotate_frame",
    "draw_box",
    "draw_label",
    "draw_skeleton",
    "track_color",
]
