"""The stages' contracts, loading the models once per batch, and timing them."""

from __future__ import annotations

import inspect
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

    pose_cfg, det, perf = config.pose, config.detector, config.performance
    model_file = resolve_model(
        pose_cfg.pose_model, pose_cfg.model_version, model_dir=pose_cfg.model_dir,
        progress=progress,
    )
    pose = make_pose_estimator(
        SpinePoseEstimator, model_file.path, channel_order=pose_cfg.channel_order,
        device=det.device, fp16=perf.fp16,
    )
    yolo = YoloTracker(
        det.detector_weights,
        tracker=det.tracker,
        person_classes=det.person_classes,
        conf=det.det_conf,
        iou=det.det_iou,
        imgsz=det.imgsz,
        device=det.device,
        tracker_overrides=dict(det.tracker_options),
        backend=perf.detector_backend,
    )
    tracker: Tracker = yolo
    if perf.detect_every > 1:
        from .sparse import SparseDetection

        tracker = SparseDetection(yolo, every=perf.detect_every)
    return Stages(tracker=tracker, pose=pose)


def make_pose_estimator(
    factory: Callable[..., Any], path: Any, *, channel_order: str, device: str | None,
    fp16: bool,
) -> Any:
    """The pose estimator on ``device`` (cpu, cuda, cuda:N, auto/None), in fp16 if asked.

    The estimator takes ``device`` and ``fp16`` itself where its release does (branch
    perf-pose); with an older one this adapter maps the device to onnxruntime providers
    (CPU only for ``cpu``, so the pose model no longer takes CUDA behind the user's back)
    and refuses fp16, which it cannot do.
    """
    params = inspect.signature(factory).parameters
    if "device" in params:
        return factory(path, channel_order=channel_order, device=device or "auto", fp16=fp16)
    if fp16:
        from ..pose import PoseModelError

        raise PoseModelError("fp16: this pose runtime cannot run in half precision")
    providers: list[Any] | None = None
    if device == "cpu":
        providers = ["CPUExecutionProvider"]
    elif device is not None and device.startswith("cuda"):
        index = device.partition(":")[2] or "0"
        providers = [("CUDAExecutionProvider", {"device_id": int(index)}),
                     "CPUExecutionProvider"]
    return factory(path, channel_order=channel_order, providers=providers)


def model_errors() -> tuple[type[BaseException], ...]:
    """Errors that no later input can avoid: a model that cannot be had."""
    from ..detection import DetectorError
    from ..pose import ModelDownloadError, PoseModelError

    return (ModelDownloadError, PoseModelError, DetectorError)


__all__ = ["PoseEstimator", "StageTimer", "Stages", "Tracker", "load_stages", "model_errors"]
