"""The overlay video: the source frames with every tracked athlete's skeleton drawn.

Rendering reads the saved results (poses and boxes datasets) and streams the source video a
second time, so it works from saved results without the models and shows whatever the
datasets hold (raw or smoothed keypoints).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..data import track_id_of
from ..video import VideoWriter, read_frames
from .annotate import annotate_frame


@dataclass(frozen=True)
class FrameOverlayData:
    """What to draw on one frame.

    xyxy: ``(n, 4)`` px; track_id: ``(n,)``; xy: ``(n, 37, 2)`` px; score: ``(n, 37)``.
    """

    xyxy: np.ndarray
    track_id: np.ndarray
    xy: np.ndarray
    score: np.ndarray


class FrameLookup:
    """Per-frame access to whole-video poses and boxes, by the video's frame index."""

    def __init__(self, poses: xr.Dataset, boxes: xr.Dataset | None = None) -> None:
        self._row_of_frame = {int(f): t for t, f in enumerate(poses["frame"].values)}
        self.track_ids = np.array(
            [track_id_of(i) for i in poses["individual"].values], dtype=np.int64
        )
        # (T, N, K, 2) and (T, N, K): contiguous per frame for cheap slicing
        self._xy = np.ascontiguousarray(
            poses["position"].transpose("time", "individual", "keypoint", "space").values
        )
        self._score = np.ascontiguousarray(
            poses["confidence"].transpose("time", "individual", "keypoint").values
        )
        self._xyxy = self._boxes_xyxy(poses, boxes)

    def _boxes_xyxy(self, poses: xr.Dataset, boxes: xr.Dataset | None) -> np.ndarray:
        """(T, N, 4) boxes aligned to the poses; the keypoints' extent where no box."""
        n_time, n_ind = self._xy.shape[:2]
        xyxy = np.full((n_time, n_ind, 4), np.nan, np.float32)
        if boxes is not None and boxes.sizes.get("individual", 0):
            b = boxes.reindex(individual=poses["individual"].values)
            b = b.reindex(time=poses["time"].values, method="nearest", tolerance=1e-6)
            c = b["position"].transpose("time", "individual", "space").values
            s = b["shape"].transpose("time", "individual", "space").values
            xyxy = np.concatenate([c - s / 2, c + s / 2], axis=-1).astype(np.float32)
        no_box = ~np.isfinite(xyxy).all(axis=-1)
        if no_box.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
                lo = np.nanmin(self._xy, axis=2)
                hi = np.nanmax(self._xy, axis=2)
            extent = np.concatenate([lo, hi], axis=-1)
            xyxy[no_box] = extent[no_box]
        return xyxy

    def has_frame(self, frame_index: int) -> bool:
        """True when the frame is part of the analysed range."""
        return int(frame_index) in self._row_of_frame

    def at_frame(self, frame_index: int) -> FrameOverlayData | None:
        """The tracks visible at a frame (a box or any keypoint), or None."""
        t = self._row_of_frame.get(int(frame_index))
        if t is None:
            return None
        present = np.isfinite(self._xyxy[t]).all(axis=-1)
        if not present.any():
            return None
        return FrameOverlayData(
            xyxy=self._xyxy[t][present],
            track_id=self.track_ids[present],
            xy=self._xy[t][present],
            score=self._score[t][present],
        )


def render_overlay(
    video_path: str | Path,
    poses: xr.Dataset,
    out_path: str | Path,
    *,
    boxes: xr.Dataset | None = None,
    min_score: float = 0.3,
    names: dict[int, str] | None = None,
    preset: str = "veryfast",
    on_frame: Callable[[int], None] | None = None,
) -> Path:
    """Write an H.264 overlay MP4 of ``video_path`` with the skeletons of ``poses``.

    Every analysed frame (the ``frame`` coordinate of ``poses``) is written, frames without
    tracks unchanged, at the source's average frame rate.  ``on_frame(i)`` is called after
    each frame (progress bars).  Returns ``out_path``.
    """
    lookup = FrameLookup(poses, boxes)
    fps = float(poses.attrs.get("fps", 30.0))
    out_path = Path(out_path)
    frame_indices = poses["frame"].values
    first, last = int(frame_indices[0]), int(frame_indices[-1])
    start_s = float(poses["time"].values[0])
    with VideoWriter(out_path, fps=fps, preset=preset) as writer:
        for frame in read_frames(video_path, start_s=start_s):
            if frame.index < first or not lookup.has_frame(frame.index):
                continue
            data = lookup.at_frame(frame.index)
            image = frame.image
            if data is not None:
                image = annotate_frame(
                    image,
                    data.xyxy,
                    data.track_id,
                    data.xy,
                    data.score,
                    min_score=min_score,
                    names=names,
                )
            writer.write(image)
            if on_frame is not None:
                on_frame(frame.index)
            if frame.index >= last:
                break
    return out_path
