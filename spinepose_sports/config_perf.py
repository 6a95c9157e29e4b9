"""The ``[performance]`` section of the configuration: how fast the models run.

Part of the one configuration model (:mod:`spinepose_sports.config`); its settings are
``analyze`` flags and pipeline-file keys of the ``[performance]`` table like every other.
All of them can change the boxes or keypoints a little (another runtime, fewer
detections, half precision), so they are part of the stage cache's key.  The device
(``[detector] device``) drives both models.
"""

from __future__ import annotations

from typing import Literal

from .config_base import Section, setting

DetectorBackend = Literal["auto", "torch", "onnx"]


class PerformanceSettings(Section):
    """Speed: the detector's runtime, detecting every N frames, half precision.  See the
    README's performance section and benchmarks/RESULTS.md for what each one gains."""

    detector_backend: DetectorBackend = setting(
        "auto",
        "Runtime of the detector: torch (ultralytics' .pt), onnx (exported once through "
        "ultralytics, cached next to the weights or in the user cache, run by onnxruntime; "
        "same boxes), or auto (onnx on the CPU, torch on a GPU).",
    )
    detect_every: int = setting(
        1,
        "Run the detector on every Nth frame only; in between, boxes are the tracker's "
        "predictions, and a frame where a person's pose confidence drops is followed by a "
        "fresh detection. 1: every frame.",
        ge=1,
        le=30,
    )
    fp16: bool = setting(
        False, "Run the pose model in half precision (faster on GPUs; small accuracy cost)."
    )


__all__ = ["DetectorBackend", "PerformanceSettings"]
