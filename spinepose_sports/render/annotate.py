"""Frame annotators: skeletons with the spine chain, boxes and track ids drawn on a frame.

Pure drawing on ``uint8 (H, W, 3)`` BGR images with OpenCV; no video I/O here.  Line widths
and fonts scale with the frame size so a 320 px clip and a 4K clip are both readable.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..skeleton import KEYPOINT_NAMES, LINK_INDICES, SPINE_CHAIN_INDICES, SPINE_LINKS, side_of

#: Distinct BGR colours for track ids (cycled).
TRACK_PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 128, 0),
    (0, 200, 255),
    (255, 0, 200),
    (0, 255, 128),
    (128, 0, 255),
    (0, 128, 255),
    (255, 255, 0),
    (128, 255, 0),
)
SPINE_COLOR = (60, 60, 255)  # BGR red: the spine chain stands out from the limbs
LEFT_COLOR = (255, 160, 60)  # BGR blue-ish
RIGHT_COLOR = (60, 200, 255)  # BGR orange
CENTER_COLOR = (230, 230, 230)


def track_color(track_id: int) -> tuple[int, int, int]:
    """The palette colour (BGR) of a track id."""
    return TRACK_PALETTE[int(track_id) % len(TRACK_PALETTE)]


@dataclass(frozen=True)
class DrawStyle:
    """Sizes in px, derived from the frame size by :meth:`for_frame`."""

    line_px: int
    spine_px: int
    point_radius_px: int
    font_scale: float
    font_thickness: int

    @classmethod
    def for_frame(cls, height: int, width: int) -> DrawStyle:
        """Scale with the shorter side: 2 px lines at 720 p, at least 1 px."""
        unit = max(min(height, width) / 720.0, 0.35)
        return cls(
            line_px=max(1, round(2 * unit)),
            spine_px=max(2, round(4 * unit)),
            point_radius_px=max(1, round(3 * unit)),
            font_scale=max(0.35, 0.7 * unit),
            font_thickness=max(1, round(2 * unit)),
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


def draw_skeleton(
    image: np.ndarray,
    xy: np.ndarray,
    score: np.ndarray,
    style: DrawStyle,
    *,
    min_score: float = 0.3,
) -> None:
    """Draw one person's 37-point skeleton on ``image`` in place.

    xy: ``(37, 2)`` px (NaN where missing); score: ``(37,)``.  Limbs are thin and coloured
    by side; the spine chain (pelvis to head) is a thick red polyline on top.
    """
    visible = _visible(xy, score, min_score)
    for a, b in LINK_INDICES:
        if (a, b) in SPINE_LINKS or not (visible[a] and visible[b]):
            continue
        cv2.line(image, _pt(xy[a]), _pt(xy[b]), _link_color(a, b), style.line_px, cv2.LINE_AA)
    chain = [i for i in SPINE_CHAIN_INDICES if visible[i]]
    if len(chain) >= 2:
        pts = np.round(xy[chain]).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(image, [pts], False, SPINE_COLOR, style.spine_px, cv2.LINE_AA)
    for k in np.flatnonzero(visible):
        color = SPINE_COLOR if k in SPINE_CHAIN_INDICES else (255, 255, 255)
        cv2.circle(image, _pt(xy[k]), style.point_radius_px, color, -1, cv2.LINE_AA)


def draw_label(
    image: np.ndarray,
    text: str,
    anchor_xy: tuple[float, float],
    color: tuple[int, int, int],
    style: DrawStyle,
) -> None:
    """Draw ``text`` on a filled box whose bottom-left corner is at ``anchor_xy`` (px)."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (w, h), base = cv2.getTextSize(text, font, style.font_scale, style.font_thickness)
    height, width = image.shape[:2]
    x = int(np.clip(anchor_xy[0], 0, max(width - w - 4, 0)))
    y = int(np.clip(anchor_xy[1], h + base + 4, height - 1))
    cv2.rectangle(image, (x, y - h - base - 4), (x + w + 4, y), color, -1)
    cv2.putText(
        image,
        text,
        (x + 2, y - base - 2),
        font,
        style.font_scale,
        (0, 0, 0),
        style.font_thickness,
        cv2.LINE_AA,
    )


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
    min_score: float = 0.3,
    names: dict[int, str] | None = None,
    draw_boxes: bool = True,
) -> np.ndarray:
    """Return a copy of ``image`` with boxes, skeletons and track labels drawn.

    image: ``uint8 (H, W, 3)`` BGR; xyxy: ``(n, 4)`` px; track_ids: ``(n,)``;
    xy: ``(n, 37, 2)`` px or None; score: ``(n, 37)`` or None; names: optional athlete
    names by track id (shown instead of ``#id``).
    """
    out = np.ascontiguousarray(image).copy()
    style = DrawStyle.for_frame(*out.shape[:2])
    names = names or {}
    for i, tid in enumerate(np.asarray(track_ids, dtype=np.int64)):
        color = track_color(int(tid))
        if draw_boxes:
            draw_box(out, xyxy[i], color, style)
        if xy is not None and score is not None:
            draw_skeleton(out, xy[i], score[i], style, min_score=min_score)
        label = names.get(int(tid), f"#{int(tid)}")
        draw_label(out, label, (float(xyxy[i, 0]), float(xyxy[i, 1]) - 2), color, style)
    return out


__all__ = [
    "DrawStyle",
    "annotate_frame",
    "draw_box",
    "draw_label",
    "draw_skeleton",
    "track_color",
]
