"""The frame annotators, checked in pixels: spine colours, readouts, legend, sizes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spinepose_sports.render.annotate import (
    SPINE_COLOR,
    DrawStyle,
    FrameAngles,
    annotate_frame,
    track_color,
)
from spinepose_sports.render.colors import FLEXION_LUT_BGR, angle_color_bgr, angle_colors_bgr
from spinepose_sports.render.hud import (
    ColorLegend,
    draw_readout,
    draw_trail,
    legend_ends,
    text_size,
)
from spinepose_sports.render.spine import catmull_rom
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


def _angles(segmental: list[float], trunk: float = 12.0) -> FrameAngles:
    return FrameAngles(
        segmental=np.array([segmental], np.float64),
        trunk=np.array([trunk]),
        regional=np.array([[5.0, -7.0, np.nan]]),
    )


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
    assert is_track_colour.mean() > 0.4
    assert (label_area.max(axis=-1) == 0).any()  # black text on it
    # the box outline in the track colour
    edge = out[300, 386:395].astype(int)
    assert np.abs(edge - np.array(track_color(4))).sum(axis=-1).min() < 60


def test_low_score_and_missing_points_are_not_drawn() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    xy = _standing_person(320, 400, 270)[None]
    score = np.full((1, 37), 0.1, np.float32)  # all below min_score
    xyxy = np.array([[250, 100, 390, 460]], np.float32)
    out = annotate_frame(image, xyxy, np.array([1]), xy, score, draw_boxes=False)
    assert out[int(400 - 2.5 * 30), 320].max() == 0


def test_spine_colour_follows_the_segmental_angle_at_each_level() -> None:
    """Level dots carry their level's colour; the curve between two levels blends them."""
    image = np.full((480, 640, 3), 90, np.uint8)
    xy = _standing_person(320, 430, 360)[None]
    score = np.full((1, 37), 0.9, np.float32)
    segmental = [30.0, 30.0, 30.0, 0.0, -30.0, -30.0, -30.0, 10.0]
    out = annotate_frame(
        image,
        np.array([[250, 50, 390, 470]], np.float32),
        np.array([2]),
        xy,
        score,
        angles=_angles(segmental),
        readout=False,
    )
    step = 360 / 9
    for level, phi in enumerate(segmental, start=1):  # chain point i = level i
        pixel = out[round(430 - level * step), 320]
        np.testing.assert_array_equal(pixel, angle_color_bgr(phi), err_msg=f"level {level}")
    flexed = out[round(430 - 1.5 * step), 320].astype(int)  # between two +30 levels
    extended = out[round(430 - 5.5 * step), 320].astype(int)  # between two -30 levels
    assert flexed[2] > flexed[0] + 100  # red: flexion
    assert extended[0] > extended[2] + 60  # blue: extension
    np.testing.assert_array_equal(angle_color_bgr(30.0), FLEXION_LUT_BGR[-1])
    np.testing.assert_array_equal(angle_color_bgr(-45.0), FLEXION_LUT_BGR[0])
    np.testing.assert_array_equal(angle_colors_bgr(np.array([np.nan]))[0], (150, 150, 150))


def test_readout_follows_the_athlete() -> None:
    image = np.full((480, 640, 3), 200, np.uint8)
    xy = _standing_person(200, 400, 270)[None]
    score = np.full((1, 37), 0.9, np.float32)
    box = np.array([[150, 100, 250, 460]], np.float32)
    out = annotate_frame(image, box, np.array([5]), xy, score, angles=_angles([0.0] * 8))
    panel = out[100:165, 256:336]  # right of the box, from its top down
    dark = (panel.max(axis=-1) < 100).mean()
    white = (panel.min(axis=-1) > 180).mean()
    assert dark > 0.4 and white > 0.01  # dark backdrop with white text
    accent = out[102:140, 252:255]  # the accent bar in the track colour
    assert (accent == np.array(track_color(5), np.uint8)).all(axis=-1).mean() > 0.5
    # near the right edge the readout moves to the box's left
    shift = np.array([400.0, 0.0], np.float32)
    moved = annotate_frame(
        image, box + np.tile(shift, 2), np.array([5]), xy + shift, score, angles=_angles([0.0] * 8)
    )
    assert (moved[100:165, 464:544].max(axis=-1) < 100).mean() > 0.4


def test_names_replace_track_ids() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    box = np.array([[100, 100, 300, 400]], np.float32)
    plain = annotate_frame(image, box, np.array([3]), draw_boxes=False)
    named = annotate_frame(image, box, np.array([3]), names={3: "Anna Long-Name"}, draw_boxes=False)
    colour = np.array(track_color(3), np.uint8)
    assert (named == colour).all(axis=-1).sum() > 2 * (plain == colour).all(axis=-1).sum()


def test_legend_shows_the_colour_scale_and_its_ends() -> None:
    image = np.full((720, 1280, 3), 128, np.uint8)
    style = DrawStyle.for_frame(720, 1280)
    legend = ColorLegend(720, 1280, style.small_font_scale, style.font_thickness)
    legend.draw(image)
    (x, y), (w, h) = legend.origin, legend.size
    assert x > 0 and y > 0 and x + w < 1280 and y + h <= 720  # bottom-left, inside
    region = image[y : y + h, x : x + w]
    rows = np.flatnonzero((region == FLEXION_LUT_BGR[0]).all(axis=-1).any(axis=1))
    assert rows.size >= 3  # the bar's blue end
    bar = region[rows[rows.size // 2]]
    blue = np.flatnonzero((bar == FLEXION_LUT_BGR[0]).all(axis=-1))
    red = np.flatnonzero((bar == FLEXION_LUT_BGR[-1]).all(axis=-1))
    assert blue.size and red.size and blue.max() < red.min()  # blue left, red right
    assert legend_ends(["flexion-extension"]) == ("extension", "flexion")
    assert legend_ends(["lateral-bending"]) == ("bend left", "bend right")


@pytest.mark.parametrize(("height", "width"), [(180, 320), (2160, 3840)])
def test_text_and_lines_are_readable_at_320_px_and_4k(height: int, width: int) -> None:
    style = DrawStyle.for_frame(height, width)
    text_h = text_size("trunk +23°", style.small_font_scale, style.font_thickness)[1]
    assert text_h >= 8  # legible on a 320 px clip
    assert text_h <= 0.07 * height  # and not a wall of text
    if height >= 2160:
        assert text_h >= 0.012 * height and style.spine_px >= 10 and style.font_thickness >= 5
    legend = ColorLegend(height, width, style.small_font_scale, style.font_thickness)
    (x, y), (w, h) = legend.origin, legend.size
    assert x + w <= width and y + h <= height and y >= 0


def test_style_scales_with_resolution() -> None:
    small = DrawStyle.for_frame(240, 320)
    big = DrawStyle.for_frame(2160, 3840)
    assert small.line_px >= 1 and small.font_scale > 0
    assert big.spine_px >= 3 * small.spine_px
    assert big.font_scale > 3 * small.font_scale * 0.9


def test_catmull_rom_passes_through_the_points() -> None:
    pts = np.array([[0, 0], [10, 5], [12, 30], [40, 35]], float)
    curve, param = catmull_rom(pts, samples=8)
    assert curve.shape == (25, 2) and param[0] == 0 and param[-1] == 3
    np.testing.assert_allclose(curve[param == np.round(param)], pts, atol=1e-6)
    line, _ = catmull_rom(np.array([[0, 0], [0, 10], [0, 20]], float))
    np.testing.assert_allclose(line[:, 0], 0, atol=1e-9)  # collinear stays straight


def test_trail_tapers_and_skips_gaps() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    path = np.array([[10, 50], [60, 50], [np.nan, np.nan], [120, 50], [190, 50]], float)
    draw_trail(image, path, (0, 255, 0), 6)
    assert image[50, 30, 1] > 0 and image[50, 150, 1] > 0
    assert image[50, 90, 1] == 0  # the gap is not bridged
    assert (image[:, 180, 1] > 0).sum() > (image[:, 30, 1] > 0).sum()  # newest is widest


def test_consecutive_track_ids_get_distinct_colours() -> None:
    colours = np.array([track_color(i) for i in range(1, 40)], int)
    for a, b in itertools.pairwise(colours):
        assert np.abs(a - b).sum() > 120
    assert track_color(1000) == track_color(1000)


def test_readouts_of_neighbours_do_not_overlap() -> None:
    image = np.full((360, 640, 3), 128, np.uint8)
    style = DrawStyle.for_frame(360, 640)
    rows = [("trunk", 10.0), ("lumbar", 1.0), ("thoracic", 2.0), ("cervical", 3.0)]
    boxes = np.array([[300, 60, 420, 340], [480, 60, 600, 340]], np.float32)
    taken: list[tuple[int, int, int, int]] = []
    for box in boxes:
        taken.append(draw_readout(image, rows, box, 0.5, 1, (0, 255, 0), taken))
    (a0, a1, a2, a3), (b0, b1, b2, b3) = taken
    assert a2 <= b0 or b2 <= a0 or a3 <= b1 or b3 <= a1  # disjoint
    assert all(0 <= r[0] and r[2] <= 640 and 0 <= r[1] and r[3] <= 360 for r in taken)
    compact = ColorLegend(180, 320, style.small_font_scale, 1)
    assert compact.compact and compact.size[1] < ColorLegend(720, 1280, 0.56, 2).size[1]
