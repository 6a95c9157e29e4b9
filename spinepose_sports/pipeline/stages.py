"""The stages' contracts, loading the models once per batch, and timing them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..config import AnalyzeConfig
from ..data import FrameDetections


class Tracker(Protocol):
    """The tracking stage: boxes with track ids per frame."""

    def update(self, frame: np.ndarray, /) -> FrameDetections: ...
    def reset(self) -> None: ...
    def describe(self) -> dict[str, Any]: ...


class PoseEstimator(Protocol):
    """The pose stage: ``(frame, xyxy (n,4)) -> (xy (n,37,2), score (n,37))``."""

    def __call__(self, frame: np.ndarray, xyxy: np.ndarray, /) -> tuple[np.ndarray, np.ndarray]: ...
    def describe(self) -> dict[str, Any]: ...


@dataclass
class Stages:
    """The loaded models, reused across the videos of a batch."""

    tracker: Tracker
    pose: PoseEstimator

    def describe(self) -> dict[str, Any]:
        return {"detector": self.tracker.describe(), "pose_model": self.pose.describe()}


@dataclass
class StageTimer:
    """Wall-clock seconds spent per stage."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def timed(self, stage: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            self.add(stage, time.perf_counter() - t0)


def load_stages(config: AnalyzeConfig, *, progress: bool = True) -> Stages:
    """Resolve and load the pose model first (fails fast when it can't be had), then the
    detector.  Raises the stages' own errors (ModelDownloadError, PoseModelError,
    DetectorError) with messages meant for users."""
    from ..detection import YoloTracker
    from ..pose import SpinePoseEstimator, resolve_model

    pose_cfg, det = config.pose, config.detector
    model_file = resolve_model(
        pose_cfg.pose_model, pose_cfg.model_version, model_dir=pose_cfg.model_dir,
        progress=progress,
    )
    pose = SpinePoseEstimator(model_file.path, channel_order=pose_cfg.channel_order)
    tracker = YoloTracker(
        det.detector_weights,
        tracker=det.tracker,
        person_classes=det.person_classes,
        conf=det.det_conf,
        iou=det.det_iou,
        imgsz=det.imgsz,
        device=det.device,
        tracker_overrides=dict(det.tracker_options),
    )
    return Stages(tracker=tracker, pose=pose)


def model_errors() -> tuple[type[BaseException], ...]:
    """Errors that no later input can avoid: a model that cannot be had."""
    from ..detection import DetectorError
    from ..pose import ModelDownloadError, PoseModelError

    return (ModelDownloadError, PoseModelError, DetectorError)


__all__ = ["PoseEstimator", "StageTimer", "Stages", "Tracker", "load_stages", "model_errors"]
