"""Crop preparation and SimCC decoding: round trips with known answers (pure numpy)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from spinepose_sports.pose.decode import decode_simcc, to_frame_coords
from spinepose_sports.pose.preprocess import (
    MEAN,
    STD,
    box_to_center_scale,
    crop_affine,
    crop_and_normalise,
    crop_boxes,
    fix_aspect_ratio,
    normalise_crops,
)

INPUT_WH = (192, 256)
FRAME_WH = (1280, 720)

# normal, touching the border, crossing the border, tiny, very wide, very tall
BOXES = np.array(
    [
        [400.0, 100.0, 560.0, 520.0],
        [0.0, 0.0, 200.0, 400.0],
        [-80.0, 500.0, 150.0, 900.0],
        [640.0, 360.0, 642.0, 363.0],
        [100.0, 600.0, 1100.0, 640.0],
        [1200.0, 10.0, 1215.0, 710.0],
    ]
)


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply ``(n, 2, 3)`` matrices to ``(n, k, 2)`` points."""
    return np.einsum("nij,nkj->nki", m[:, :, :2], pts) + m[:, None, :, 2]


def _crop_geometry(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    center, scale = box_to_center_scale(boxes)
    scale = fix_aspect_ratio(scale, INPUT_WH[0] / INPUT_WH[1])
    return center, scale, crop_affine(center, scale, INPUT_WH)


def test_center_scale_and_aspect() -> None:
    center, scale = box_to_center_scale(np.array([10.0, 20.0, 50.0, 120.0]))
    np.testing.assert_allclose(center, [[30.0, 70.0]])
    np.testing.assert_allclose(scale, [[50.0, 125.0]])  # padded by 1.25
    wide, tall = fix_aspect_ratio(np.array([[300.0, 100.0], [30.0, 100.0]]), 0.75)
    np.testing.assert_allclose(wide, [300.0, 400.0])  # height grows
    np.testing.assert_allclose(tall, [75.0, 100.0])  # width grows
    _, scale = box_to_center_scale(BOXES)
    fixed = fix_aspect_ratio(scale, 0.75)
    np.testing.assert_allclose(fixed[:, 0] / fixed[:, 1], 0.75)
    assert np.all(fixed >= scale - 1e-9)
    with pytest.raises(ValueError, match=r"expected shape \(n, 4\)"):
        box_to_center_scale(np.zeros((3, 5)))


def test_affine_maps_scale_rectangle_onto_input() -> None:
    center, scale, m = _crop_geometry(BOXES)
    assert m.shape == (len(BOXES), 2, 3)
    corners = np.stack(
        [center - scale / 2, center + scale / 2, center, center + scale * [0.5, 0.0]], axis=1
    )
    mapped = _apply(m, corners)
    w, h = INPUT_WH
    expected = np.array([[0, 0], [w, h], [w / 2, h / 2], [w, h / 2]], dtype=np.float64)
    zoom = w / scale[:, 0]  # input px per frame px
    tol = 1e-3 * np.maximum(1.0, zoom)[:, None, None]  # float32 rounding of the frame points
    assert np.all(np.abs(mapped - expected) <= tol)
    assert np.all(np.abs(m[:, 0, 1]) < 1e-12) and np.all(np.abs(m[:, 1, 0]) < 1e-12)  # no rotation
    np.testing.assert_allclose(m[:, 0, 0], m[:, 1, 1], rtol=1e-6)  # one uniform zoom


def test_crop_then_back_project_round_trip() -> None:
    rng = np.random.default_rng(0)
    center, scale, m = _crop_geometry(BOXES)
    pts = center[:, None, :] + rng.uniform(-0.5, 0.5, (len(BOXES), 50, 2)) * scale[:, None, :]
    in_crop = _apply(m, pts)
    back = to_frame_coords(in_crop, center, scale, INPUT_WH)
    err = np.abs(back - pts)
    # float32 matrix points: error below 1e-3 px plus float32 rounding of the zoom
    assert np.all(err <= 1e-3 + 1e-6 * scale[:, None, :])


def test_crop_pixels_follow_the_geometry() -> None:
    """A bright disc drawn in the frame lands where the matrix says, for every box."""
    w, h = FRAME_WH
    for box in BOXES[[0, 1, 2, 4, 5]]:
        frame = np.zeros((h, w, 3), np.uint8)
        center, scale, _ = _crop_geometry(box[None])
        target = center[0] + np.array([0.2, -0.25]) * scale[0]
        radius = max(2, int(0.06 * scale[0, 0]))
        cv2.circle(frame, (round(target[0]), round(target[1])), radius, (255,) * 3, -1)
        crops, c2, s2 = crop_boxes(frame, box[None], INPUT_WH)
        np.testing.assert_allclose(c2, center)
        np.testing.assert_allclose(s2, scale)
        mask = crops[0, :, :, 0].astype(np.float64)
        if mask.sum() == 0:  # the disc is outside the frame: all black
            continue
        ys, xs = np.mgrid[: INPUT_WH[1], : INPUT_WH[0]]
        centroid = np.array([(xs * mask).sum(), (ys * mask).sum()]) / mask.sum()
        back = to_frame_coords(centroid[None, None], center, scale, INPUT_WH)[0, 0]
        zoom = scale[0, 0] / INPUT_WH[0]
        assert np.linalg.norm(back - np.round(target)) <= 1.0 + zoom


def test_outside_the_frame_is_black() -> None:
    frame = np.full((FRAME_WH[1], FRAME_WH[0], 3), 200, np.uint8)
    crops, center, _ = crop_boxes(frame, BOXES[2:3], INPUT_WH)  # crosses the left edge
    _, _, m = _crop_geometry(BOXES[2:3])
    left_edge = _apply(m, np.array([[[0.0, center[0, 1]]]]))[0, 0, 0]
    assert left_edge > 10
    assert np.all(crops[0, :, : int(left_edge) - 1] == 0)
    row = crops[0, INPUT_WH[1] // 2]  # frame y = 700: inside the frame
    assert np.all(row[: int(left_edge) - 1] == 0)
    assert np.all(row[int(left_edge) + 2 :] == 200)


def test_tiny_and_elongated_boxes_give_finite_batches() -> None:
    frame = np.random.default_rng(1).integers(0, 256, (FRAME_WH[1], FRAME_WH[0], 3), np.uint8)
    batch, center, scale = crop_and_normalise(frame, BOXES, INPUT_WH)
    assert batch.shape == (len(BOXES), 3, INPUT_WH[1], INPUT_WH[0])
    assert batch.dtype == np.float32 and np.all(np.isfinite(batch))
    assert center.shape == scale.shape == (len(BOXES), 2)
    empty, c0, s0 = crop_and_normalise(frame, np.zeros((0, 4)), INPUT_WH)
    assert empty.shape == (0, 3, INPUT_WH[1], INPUT_WH[0]) and c0.shape == s0.shape == (0, 2)


def test_normalisation_channel_order() -> None:
    crop = np.zeros((1, 4, 3, 3), np.uint8)
    crop[..., 0] = 255  # pure blue in BGR
    crop[..., 1] = 10
    rgb = normalise_crops(crop, "rgb")
    bgr = normalise_crops(crop, "bgr")
    assert rgb.shape == (1, 3, 4, 3)
    # the first mean/std apply to the first channel fed
    np.testing.assert_allclose(
        rgb[0, :, 0, 0],
        [(0 - MEAN[0]) / STD[0], (10 - MEAN[1]) / STD[1], (255 - MEAN[2]) / STD[2]],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        bgr[0, :, 0, 0],
        [(255 - MEAN[0]) / STD[0], (10 - MEAN[1]) / STD[1], (0 - MEAN[2]) / STD[2]],
        rtol=1e-6,
    )
    levels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=3)
    exact = ((levels.astype(np.float64) - np.array(MEAN)) / np.array(STD)).astype(np.float32)
    np.testing.assert_array_equal(normalise_crops(levels, "bgr"), exact.transpose(0, 3, 1, 2))
    with pytest.raises(ValueError, match="channel_order"):
        normalise_crops(crop, "hsv")  # type: ignore[arg-type]


def test_bad_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        crop_boxes(np.zeros((10, 10, 3), np.float32), BOXES[:1])
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        crop_boxes(np.zeros((10, 10), np.uint8), BOXES[:1])


# ----------------------------------------------------------------------------- decode


def _peaked_simcc(
    xy_input: np.ndarray, peak: np.ndarray, wh: tuple[int, int] = INPUT_WH, ratio: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Encode ``(n, K, 2)`` input px as Gaussian-peaked SimCC logits with heights ``peak``."""
    bins_x = np.arange(int(wh[0] * ratio))
    bins_y = np.arange(int(wh[1] * ratio))
    gx = np.exp(-((bins_x - xy_input[..., 0:1] * ratio) ** 2) / 8.0)
    gy = np.exp(-((bins_y - xy_input[..., 1:2] * ratio) ** 2) / 8.0)
    return (gx * peak[..., None]).astype(np.float32), (gy * peak[..., None]).astype(np.float32)


def test_decode_recovers_encoded_locations() -> None:
    rng = np.random.default_rng(2)
    xy = np.round(rng.uniform([0, 0], INPUT_WH, (4, 37, 2)) * 2) / 2  # on the half-px grid
    xy = np.minimum(xy, np.array(INPUT_WH) - 0.5)
    peak = rng.uniform(0.3, 1.0, (4, 37))
    sx, sy = _peaked_simcc(xy, peak)
    out, score = decode_simcc(sx, sy)
    assert out.dtype == np.float32 and score.dtype == np.float32
    np.testing.assert_array_equal(out, xy)
    np.testing.assert_allclose(score, peak, rtol=1e-6)


def test_decode_invalid_and_ties() -> None:
    sx = np.full((1, 3, 384), -1.0, np.float32)
    sy = np.full((1, 3, 512), -1.0, np.float32)
    sx[0, 0, [10, 20]] = 0.8  # tie: the first bin wins
    sy[0, 0, 30] = 0.6
    sx[0, 1, 5] = 0.2  # 0.5 * (0.2 + -0.2) = 0: invalid
    sy[0, 1, 5] = -0.2
    out, score = decode_simcc(sx, sy)
    np.testing.assert_array_equal(out[0, 0], [5.0, 15.0])
    np.testing.assert_allclose(score[0], [0.7, 0.0, -1.0])
    assert np.isnan(out[0, 1:]).all()
    with pytest.raises(ValueError, match="simcc_x, simcc_y"):
        decode_simcc(sx[0], sy[0])


def test_encode_decode_back_project_round_trip() -> None:
    """Frame points -> crop -> peaked SimCC -> decode -> frame, within a SimCC bin."""
    rng = np.random.default_rng(3)
    center, scale, m = _crop_geometry(BOXES)
    pts = center[:, None, :] + rng.uniform(-0.45, 0.45, (len(BOXES), 37, 2)) * scale[:, None, :]
    in_crop = _apply(m, pts)
    sx, sy = _peaked_simcc(in_crop, np.full(in_crop.shape[:2], 0.9))
    xy, _ = decode_simcc(sx, sy)
    back = to_frame_coords(xy, center, scale, INPUT_WH)
    bin_px = scale[:, None, :] / np.array(INPUT_WH) / 2.0  # half an input px, in frame px
    assert np.all(np.abs(back - pts) <= bin_px / 2 + 1e-3)
    nan = to_frame_coords(np.full((1, 37, 2), np.nan), center[:1], scale[:1], INPUT_WH)
    assert np.isnan(nan).all()
