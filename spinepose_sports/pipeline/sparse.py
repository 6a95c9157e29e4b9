"""Detect every N frames: the tracker's predictions in between, a fresh detection when
the pose stage's confidence drops.

The detector is most of a frame's cost on a CPU (``benchmarks/RESULTS.md``).  Between
two detections people move a few pixels, and the tracker's motion model (ByteTrack's
Kalman filter) predicts their boxes well enough for the pose model's crop (which pads the
box by 25%).  Where it does not (a sudden change of direction, an occlusion), the pose
model's keypoint confidence in the predicted box falls, and the next frame is detected.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ..data import FrameDetections

#: A predicted frame whose mean keypoint confidence of a track falls below this share of
#: the track's value at its last detection asks for a detection on the next frame.
CONFIDENCE_DROP = 0.8


class PredictingTracker(Protocol):
    """A tracker that can also move its tracks one frame without detecting."""

    def update(self, frame: np.ndarray, /) -> FrameDetections: ...
    def predict(self, frame: np.ndarray, /) -> FrameDetections: ...
    def reset(self) -> None: ...
    def describe(self) -> dict[str, Any]: ...


class SparseDetection:
    """The tracker contract (``update``, ``reset``, ``describe``) over a
    :class:`PredictingTracker` that detects on every ``every``-th frame only.

    A frame is detected when ``every`` frames have passed since the last detection, on
    the first frame, and on the frame after one where :meth:`observe` saw a track's mean
    keypoint confidence fall below :data:`CONFIDENCE_DROP` times its value at the last
    detection.  Other frames take the tracker's predicted boxes (same track ids).
    """

    def __init__(self, tracker: PredictingTracker, every: int, drop: float = CONFIDENCE_DROP):
        if int(every) < 1:
            raise ValueError(f"every: expected >= 1, received {every!r}")
        self.tracker = tracker
        self.every = int(every)
        self.drop = float(drop)
        self.reset()

    def reset(self) -> None:
        self.tracker.reset()
        self._since: int | None = None
        self._redetect = True
        self._detected = False
        self._reference: dict[int, float] = {}
        self.counts = {"detected": 0, "predicted": 0, "redetections": 0}

    def update(self, frame: np.ndarray, /) -> FrameDetections:
        due = self._since is None or self._since >= self.every - 1
        if due or self._redetect:
            if self._redetect and not due:
                self.counts["redetections"] += 1
            self._since, self._redetect, self._detected = 0, False, True
            self.counts["detected"] += 1
            return self.tracker.update(frame)
        assert self._since is not None
        self._since += 1
        self._detected = False
        self.counts["predicted"] += 1
        return self.tracker.predict(frame)

    def observe(self, dets: FrameDetections, score: np.ndarray) -> None:
        """The pose stage's keypoint confidences ``score (n, 37)`` for ``dets``' tracks."""
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(np.isfinite(score), score, np.nan), axis=1)
        if self._detected:
            self._reference = {int(i): float(m) for i, m in zip(dets.track_id, mean, strict=True)}
            return
        for tid, value in zip(dets.track_id, mean, strict=True):
            ref = self._reference.get(int(tid))
            if ref is not None and not value >= self.drop * ref:
                self._redetect = True

    def describe(self) -> dict[str, Any]:
        out = dict(self.tracker.describe())
        out["detect_every"] = self.every
        out["sparse_detection"] = dict(self.counts, confidence_drop=self.drop)
        return out


__all__ = ["CONFIDENCE_DROP", "PredictingTracker", "SparseDetection"]
