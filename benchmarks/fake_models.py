"""Zero-cost fake models for memory benchmarks: three athletes walking back and forth.

The tracker and the pose estimator follow the stage contracts (design §1) and cost
nothing, so a run's memory and time are the pipeline's own.  Not for speed figures of the
models; never results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spinepose_sports.data import FrameDetections
from spinepose_sports.pipeline.stages import Stages


def _template() -> np.ndarray:
    """``(37, 2)`` keypoints in box units (0-1), a standing person."""
    from standins import TEMPLATE_UV

    from spinepose_sports.skeleton import KEYPOINT_NAMES

    uv = np.array([TEMPLATE_UV[n] for n in KEYPOINT_NAMES], dtype=np.float64)
    return np.stack([0.5 + uv[:, 0], uv[:, 1]], axis=1)


class FakeTracker:
    """Three people of 60% of the frame height walking left and right at different speeds."""

    def __init__(self) -> None:
        self.frame = 0

    def reset(self) -> None:
        self.frame = 0

    def update(self, image: np.ndarray) -> FrameDetections:
        h, w = image.shape[:2]
        t = self.frame
        self.frame += 1
        bh = 0.6 * h
        bw = 0.42 * bh
        cx = np.array([0.25, 0.5, 0.75]) * w + 0.2 * w * np.sin(t / np.array([40, 55, 70]))
        cy = np.full(3, 0.55 * h)
        xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
        return FrameDetections(xyxy=xyxy.astype(np.float32),
                               confidence=np.full(3, 0.9, np.float32),
                               track_id=np.arange(1, 4))

    def describe(self) -> dict[str, Any]:
        return {"detector": "fake (benchmarks/fake_models.py)"}


class FakePose:
    """Template keypoints in each box, with 1 px of noise; confidence 0.9."""

    def __init__(self) -> None:
        self.uv = _template()
        self.rng = np.random.default_rng(0)

    def __call__(self, image: np.ndarray, xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x0, y0 = xyxy[:, None, 0], xyxy[:, None, 1]
        bw, bh = (xyxy[:, 2] - xyxy[:, 0])[:, None], (xyxy[:, 3] - xyxy[:, 1])[:, None]
        xy = np.stack([x0 + self.uv[:, 0] * bw, y0 + self.uv[:, 1] * bh], axis=-1)
        xy += self.rng.normal(0, 1.0, xy.shape)
        return xy.astype(np.float32), np.full(xy.shape[:2], 0.9, np.float32)

    def describe(self) -> dict[str, Any]:
        return {"pose_model": "fake (benchmarks/fake_models.py)", "sha256": None}


def fake_stages() -> Stages:
    return Stages(tracker=FakeTracker(), pose=FakePose())
