"""Per-frame access to the whole-video results (poses, boxes, kinematics) for drawing.

The datasets are turned once into contiguous ``(T, N, ...)`` arrays so that picking one
frame's athletes is a cheap slice; nothing else is computed per frame.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..data import track_id_of
from ..kinematics.spine import REGIONS
from ..skeleton import KEYPOINT_INDEX, SPINE_LEVELS
from .annotate import FrameAngles

#: The keypoint whose path the motion trail follows (the pelvis).
TRAIL_KEYPOINT = "hip"


@dataclass(frozen=True)
class OverlayFrame:
    """One rendered frame: its video frame index, source time (s) and BGR image."""

    index: int
    time_s: float
    image: np.ndarray


@dataclass(frozen=True)
class FrameOverlayData:
    """What to draw on one frame.

    xyxy: ``(n, 4)`` px; track_id: ``(n,)``; xy: ``(n, 37, 2)`` px; score: ``(n, 37)``;
    angles: the athletes' angles (None without kinematics); trails: ``(n, L, 2)`` px,
    oldest first, NaN gaps (None without trails).
    """

    xyxy: np.ndarray
    track_id: np.ndarray
    xy: np.ndarray
    score: np.ndarray
    angles: FrameAngles | None = None
    trails: np.ndarray | None = None


def _aligned_rows(poses: xr.Dataset, other: xr.Dataset) -> np.ndarray:
    """For each poses row, the row of ``other`` at the same frame (or time); -1 if none."""
    if "frame" in poses.coords and "frame" in other.coords:
        keys, other_keys = poses["frame"].values, other["frame"].values
        lookup = {int(f): i for i, f in enumerate(other_keys)}
        return np.array([lookup.get(int(f), -1) for f in keys], dtype=np.intp)
    t, other_t = poses["time"].values, other["time"].values
    idx = np.clip(np.searchsorted(other_t, t), 0, max(len(other_t) - 1, 0))
    best = np.where(
        (idx > 0) & (np.abs(other_t[idx - 1] - t) < np.abs(other_t[idx] - t)), idx - 1, idx
    )
    return np.where(np.abs(other_t[best] - t) < 1e-3, best, -1).astype(np.intp)


def _take(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]`` along axis 0, NaN where ``rows`` is -1."""
    out = values[np.maximum(rows, 0)].astype(np.float64)
    out[rows < 0] = np.nan
    return out


class FrameLookup:
    """Per-frame access to whole-video poses, boxes and kinematics, by video frame index.

    poses: a poses dataset; boxes: the boxes dataset (the keypoints' extent stands in where
    a track has no box); kinematics: a kinematics dataset (segmental, regional and trunk
    angles, deg); trail_s: length of the motion trails, s (0: none).
    """

    def __init__(
        self,
        poses: xr.Dataset,
        boxes: xr.Dataset | None = None,
        kinematics: xr.Dataset | None = None,
        *,
        trail_s: float = 0.0,
    ) -> None:
        self.frames = np.asarray(poses["frame"].values, dtype=np.int64)
        self.times = np.asarray(poses["time"].values, dtype=np.float64)
        self._row_of_frame = {int(f): t for t, f in enumerate(self.frames)}
        self.individuals = [str(i) for i in poses["individual"].values]
        self.track_ids = np.array([track_id_of(i) for i in self.individuals], dtype=np.int64)
        # (T, N, K, 2) and (T, N, K): contiguous per frame for cheap slicing
        self._xy = np.ascontiguousarray(
            poses["position"].transpose("time", "individual", "keypoint", "space").values
        )
        self._score = np.ascontiguousarray(
            poses["confidence"].transpose("time", "individual", "keypoint").values
        )
        self._xyxy = self._boxes_xyxy(poses, boxes)
        self.trail_s = float(trail_s)
        self.motion_planes: list[str] = []
        self._angles = None if kinematics is None else self._kin_arrays(poses, kinematics)

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

    def _kin_arrays(self, poses: xr.Dataset, kin: xr.Dataset) -> dict[str, np.ndarray]:
        """Angles aligned to the poses' rows and individuals: (T, N, 8), (T, N), (T, N, 3)."""
        kin = kin.reindex(individual=self.individuals)
        rows = _aligned_rows(poses, kin)
        if "motion_plane" in kin:
            self.motion_planes = [str(v) for v in kin["motion_plane"].values if str(v)]
        seg = kin["segmental_angle"].sel(level=list(SPINE_LEVELS))
        reg = kin["regional_angle"].sel(region=list(REGIONS))
        out = {
            "segmental": _take(seg.transpose("time", "individual", "level").values, rows),
            "trunk": _take(kin["trunk_flexion"].transpose("time", "individual").values, rows),
            "regional": _take(reg.transpose("time", "individual", "region").values, rows),
        }
        if "valid" in kin:  # NaN (no kinematics row) counts as valid: nothing to grey
            valid = kin["valid"].transpose("time", "individual").values.astype(np.float64)
            out["valid"] = _take(valid, rows) != 0.0
        return out

    @property
    def has_angles(self) -> bool:
        """True when kinematics were given."""
        return self._angles is not None

    def has_frame(self, frame_index: int) -> bool:
        """True when the frame is part of the analysed range."""
        return int(frame_index) in self._row_of_frame

    def row_of(self, frame_index: int) -> int | None:
        """The poses row of a video frame index, or None."""
        return self._row_of_frame.get(int(frame_index))

    def at_frame(self, frame_index: int) -> FrameOverlayData | None:
        """The tracks visible at a frame (a box or any keypoint), or None."""
        t = self._row_of_frame.get(int(frame_index))
        if t is None:
            return None
        present = np.isfinite(self._xyxy[t]).all(axis=-1)
        if not present.any():
            return None
        angles = None
        if self._angles is not None:
            a = self._angles
            angles = FrameAngles(
                segmental=a["segmental"][t][present],
                trunk=a["trunk"][t][present],
                regional=a["regional"][t][present],
                valid=a["valid"][t][present] if "valid" in a else None,
            )
        return FrameOverlayData(
            xyxy=self._xyxy[t][present],
            track_id=self.track_ids[present],
            xy=self._xy[t][present],
            score=self._score[t][present],
            angles=angles,
            trails=self._trails(t, present) if self.trail_s > 0 else None,
        )

    def _trails(self, t: int, present: np.ndarray) -> np.ndarray:
        """``(n, L, 2)`` px: the trail keypoint over the last ``trail_s`` s up to row t."""
        first = int(np.searchsorted(self.times, self.times[t] - self.trail_s, side="left"))
        k = KEYPOINT_INDEX[TRAIL_KEYPOINT]
        path = self._xy[first : t + 1, :, k, :]  # (L, N, 2)
        return np.ascontiguousarray(np.transpose(path, (1, 0, 2))[present])


__all__ = ["FrameLookup", "FrameOverlayData"]
