"""The torso colour descriptor and its collector."""

from __future__ import annotations

import time

import numpy as np
import pytest
from tracking_scenes import Fragment, scene_boxes

from spinepose_sports.tracking import (
    DESCRIPTOR_SIZE,
    AppearanceCollector,
    appearance_similarity,
    torso_descriptor,
)

RED, BLUE, DARK = (40, 40, 200), (200, 60, 30), (40, 40, 40)  # BGR


def _person(frame: np.ndarray, x: int, y: int, shirt, trousers, rng) -> np.ndarray:
    """Draw a 60x160 px person with its top-left corner at (x, y); return its box."""
    frame[y : y + 30, x + 20 : x + 40] = (150, 170, 210)  # head
    frame[y + 30 : y + 90, x : x + 60] = shirt
    frame[y + 90 : y + 160, x + 5 : x + 55] = trousers
    noise = rng.integers(-12, 13, (160, 60, 3))
    frame[y : y + 160, x : x + 60] = np.clip(
        frame[y : y + 160, x : x + 60].astype(int) + noise, 0, 255
    ).astype(np.uint8)
    return np.array([x, y, x + 60, y + 160], np.float32)


def test_descriptor_tells_shirts_apart() -> None:
    rng = np.random.default_rng(0)
    frames = [np.full((480, 640, 3), 120, np.uint8) for _ in range(2)]
    boxes = []
    for k, frame in enumerate(frames):  # the same two people, moved, in two frames
        boxes.append(np.stack([
            _person(frame, 50 + 40 * k, 100, RED, DARK, rng),
            _person(frame, 400 - 30 * k, 150 + 10 * k, BLUE, DARK, rng),
        ]))
    d0, d1 = (torso_descriptor(f, b) for f, b in zip(frames, boxes, strict=True))
    assert d0.shape == (2, DESCRIPTOR_SIZE) and d0.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(d0, axis=1), 1.0, rtol=1e-5)
    same = [appearance_similarity(d0[i], d1[i]) for i in range(2)]
    other = [appearance_similarity(d0[0], d1[1]), appearance_similarity(d0[1], d1[0])]
    assert min(same) > 0.95
    assert max(other) < 0.8


def test_descriptor_uses_keypoints_when_given() -> None:
    rng = np.random.default_rng(1)
    frame = np.full((480, 640, 3), 120, np.uint8)
    box = _person(frame, 100, 100, RED, DARK, rng)[None]
    xy = np.full((1, 37, 2), np.nan, np.float32)
    xy[0, [5, 6]] = [(105, 130), (155, 130)]  # shoulders
    xy[0, [11, 12]] = [(110, 190), (150, 190)]  # hips
    with_kp = torso_descriptor(frame, box, xy)
    without = torso_descriptor(frame, box)
    assert appearance_similarity(with_kp[0], without[0]) > 0.8
    # keypoints missing: the box is used, same result as without keypoints
    np.testing.assert_array_equal(
        torso_descriptor(frame, box, np.full((1, 37, 2), np.nan, np.float32)), without)


def test_descriptor_edge_cases() -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    tiny = torso_descriptor(frame, np.array([[10, 10, 12, 12], [0, 0, 50, 90]], np.float32))
    assert np.isnan(tiny[0]).all() and np.isfinite(tiny[1]).all()
    assert torso_descriptor(frame, np.zeros((0, 4), np.float32)).shape == (0, DESCRIPTOR_SIZE)
    with pytest.raises(ValueError, match="uint8"):
        torso_descriptor(frame.astype(np.float32), np.zeros((0, 4)))
    assert np.isnan(appearance_similarity(tiny[0], tiny[1]))


def test_descriptor_is_cheap() -> None:
    rng = np.random.default_rng(2)
    frame = rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    x = rng.uniform(0, 1500, 50)
    y = rng.uniform(0, 500, 50)
    boxes = np.stack([x, y, x + 250, y + 550], axis=1).astype(np.float32)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        torso_descriptor(frame, boxes)
        best = min(best, (time.perf_counter() - t0) / len(boxes))
    assert best < 1e-3, f"{best * 1e3:.2f} ms per person"


def test_collector_aligns_with_the_dataset() -> None:
    boxes = scene_boxes([Fragment(1, 1, 0.0, 0.5, 100, 100), Fragment(4, 2, 0.2, 0.9, 300, 100)],
                        10, 1.0)
    collector = AppearanceCollector()
    for frame in boxes["frame"].values:
        ids = [i for i, (a, b) in ((1, (0, 5)), (4, (2, 9))) if a <= frame <= b]
        collector.add(int(frame), ids, np.full((len(ids), 3), float(frame), np.float32))
    collector.add(99, [7], np.ones((1, 3)))  # a frame and a track the dataset lacks
    da = collector.to_dataarray(boxes)
    assert da.dims == ("time", "feature", "individual")
    assert list(da["individual"].values) == ["track_1", "track_4"]
    np.testing.assert_array_equal(da["frame"].values, boxes["frame"].values)
    col = da.sel(individual="track_4", feature=0).values
    assert np.isnan(col[:2]).all() and np.array_equal(col[2:], np.arange(2, 10))
    with pytest.raises(ValueError, match="descriptors"):
        collector.add(3, [1, 2], np.ones((1, 3)))
    with pytest.raises(ValueError, match="D=3"):
        collector.add(3, [1], np.ones((1, 5)))
