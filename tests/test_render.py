"""The frame annotator, checked in pixels."""

from __future__ import annotations

import numpy as np

from spinepose_sports.render.annotate import SPINE_COLOR, DrawStyle, annotate_frame, track_color
from spinepose_sports.skeleton import KEYPOINT_INDEX, SPINE_CHAIN


def _standing_person(x0: float, y0: float, height_px: float) -> np.ndarray:
    """(37, 2) px: the spine chain vertical at x0 from y0 (pelvis) up; others nearby."""
    xy = np.full((37, 2), np.nan, np.float32)
    for i, name in enumerate(SPINE_CHAIN):
        xy[KEYPOINT_INDEX[name]] = (x0, y0 - i * height_px / 9)
    for side, dx in (("left", -20), ("right", 20)):
        xy[KEYPOINT_INDEX[f"{side}_hip"]] = (x0 + dx, y0)
        xy[KEYPOINT_INDEX[f"{side}_knee"]] = (x0 + dx, y0 + height_px / 2)
    return xy


def test_spine_is_drawn_in_the_spine_colour_and_label_present() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    xy = _standing_person(320, 400, 270)[None]
    score = np.full((1, 37), 0.9, np.float32)
    xyxy = np.array([[250, 100, 390, 460]], np.float32)
    out = annotate_frame(image, xyxy, np.array([4]), xy, score)
    assert out is not image and image.max() == 0  # input untouched
    # the middle of the chain, between spine_02 and spine_03
    mid = out[int(400 - 2.5 * 30), 320]
    np.testing.assert_array_equal(mid, SPINE_COLOR)
    # the track label: a filled box in the track's colour above the box's top-left corner
    label_area = out[82:98, 251:272]
    is_track_colour = (label_area == np.array(track_color(4), np.uint8)).all(axis=-1)
    assert is_track_colour.mean() > 0.5
    assert (label_area.max(axis=-1) == 0).any()  # black text on it
    # the box outline in the track colour
    edge = out[300, 386:395].astype(int)
    assert np.abs(edge - np.array(track_color(4))).sum(axis=-1).min() < 40


def test_low_score_and_missing_points_are_not_drawn() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    xy = _standing_person(320, 400, 270)[None]
    score = np.full((1, 37), 0.1, np.float32)  # all below min_score
    xyxy = np.array([[250, 100, 390, 460]], np.float32)
    out = annotate_frame(image, xyxy, np.array([1]), xy, score, draw_boxes=False)
    assert out[int(400 - 2.5 * 30), 320].max() == 0


def test_style_scales_with_resolution() -> None:
    small = DrawStyle.for_frame(240, 320)
    big = DrawStyle.for_frame(2160, 3840)
    assert small.line_px >= 1 and small.font_scale > 0
    assert big.spine_px >= 3 * small.spine_px
    assert big.font_scale > 3 * small.font_scale
