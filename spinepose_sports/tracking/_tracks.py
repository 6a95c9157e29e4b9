"""Per-track arrays shared by stitching, quality assessment and selection (internal).

Everything here reads a boxes dataset (``position``/``shape (time, space, individual)``,
``confidence (time, individual)``) and, optionally, the matching poses dataset, and returns
plain numpy arrays in a fixed layout: time first, individual last.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..data import track_id_of
from ..skeleton import MIN_KEYPOINT_CONFIDENCE

# SpineTrack indices used as the body's anchor: the pelvis point, then the two hips
HIP, LEFT_HIP, RIGHT_HIP = 19, 11, 12


@dataclass(frozen=True)
class TrackArrays:
    """The tracks of one video as arrays.

    time: ``(T,)`` s; frame: ``(T,)`` frame indices; ids: ``(N,)`` track ids;
    individuals: ``N`` names; valid: ``(T, N)`` bool (a box is there); anchor: ``(T, N, 2)``
    px, the pelvis keypoint where the pose is confident, else the box centre; centre:
    ``(T, N, 2)`` px box centre; size: ``(T, N, 2)`` px box width and height; confidence:
    ``(T, N)``; keypoints: ``(T, N, 37, 2)`` float32 px (NaN where not confident), only
    when asked for (``with_keypoints``), else None;
    fps: frames per second; frame_size: (width, height) px.
    """

    time: np.ndarray
    frame: np.ndarray
    ids: np.ndarray
    individuals: list[str]
    valid: np.ndarray
    anchor: np.ndarray
    centre: np.ndarray
    size: np.ndarray
    confidence: np.ndarray
    keypoints: np.ndarray | None
    fps: float
    frame_size: tuple[int, int]

    @property
    def height(self) -> np.ndarray:
        """``(T, N)`` box height, px (NaN where absent)."""
        return self.size[..., 1]

    def column(self, individual: str) -> int:
        return self.individuals.index(individual)


def _fps(ds: xr.Dataset) -> float:
    fps = float(ds.attrs.get("fps", 0.0) or 0.0)
    if fps > 0:
        return fps
    t = np.asarray(ds["time"].values, dtype=float)
    return float(1.0 / np.median(np.diff(t))) if len(t) > 1 else 1.0


def _pose_keypoints(
    poses: xr.Dataset, individuals: list[str], min_score: float, which: list[int] | None = None
) -> np.ndarray:
    """``(T, N, K, 2)`` float32 keypoints ``which`` (all 37 if None) of ``poses`` for
    ``individuals``, NaN where their confidence is below ``min_score``."""
    p = poses.reindex(individual=individuals)
    if which is not None:
        p = p.isel(keypoint=which)
    xy = p["position"].transpose("time", "individual", "keypoint", "space").values
    score = p["confidence"].transpose("time", "individual", "keypoint").values
    xy = np.array(xy, dtype=np.float32)
    xy[~(score >= min_score)] = np.nan
    return xy


def _anchor(centre: np.ndarray, hips: np.ndarray | None) -> np.ndarray:
    """``(T, N, 2)``: the pelvis where confident, else the mean of the confident left/right
    hips, else the box centre. hips: ``(T, N, 3, 2)`` pelvis, left hip, right hip."""
    anchor = centre.copy()
    if hips is None:
        return anchor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without confident hips
        sides = np.nanmean(hips[:, :, 1:], axis=2)
    for source in (sides, hips[:, :, 0]):
        ok = np.isfinite(source).all(-1) & np.isfinite(centre).all(-1)
        anchor[ok] = source[ok]
    return anchor


def track_arrays(
    boxes: xr.Dataset,
    poses: xr.Dataset | None = None,
    min_score: float = MIN_KEYPOINT_CONFIDENCE,
    with_keypoints: bool = False,
) -> TrackArrays:
    """Arrays of ``boxes`` (and of ``poses``, aligned on ``individual``; same time axis).

    Only the three hip keypoints of ``poses`` are read (for the anchor) unless
    ``with_keypoints``: then all 37 are kept in :attr:`TrackArrays.keypoints`.
    """
    individuals = [str(i) for i in boxes["individual"].values]
    centre = boxes["position"].transpose("time", "individual", "space").values.astype(float)
    size = boxes["shape"].transpose("time", "individual", "space").values.astype(float)
    conf = boxes["confidence"].transpose("time", "individual").values.astype(float)
    valid = np.isfinite(centre).all(-1) & np.isfinite(size).all(-1)
    keypoints = hips = None
    if poses is not None and poses.sizes.get("time") == boxes.sizes["time"]:
        if with_keypoints:
            keypoints = _pose_keypoints(poses, individuals, min_score)
            hips = keypoints[:, :, [HIP, LEFT_HIP, RIGHT_HIP]]
        else:
            hips = _pose_keypoints(poses, individuals, min_score, [HIP, LEFT_HIP, RIGHT_HIP])
    anchor = _anchor(centre, hips)
    frame = boxes["frame"].values if "frame" in boxes.coords else np.arange(boxes.sizes["time"])
    return TrackArrays(
        time=np.asarray(boxes["time"].values, dtype=float),
        frame=np.asarray(frame, dtype=np.int64),
        ids=np.array([track_id_of(i) for i in individuals], dtype=np.int64),
        individuals=individuals,
        valid=valid,
        anchor=anchor,
        centre=centre,
        size=size,
        confidence=conf,
        keypoints=keypoints,
        fps=_fps(boxes),
        frame_size=(
            int(boxes.attrs.get("frame_width", 0)), int(boxes.attrs.get("frame_height", 0))
        ),
    )


def appearance_matrix(appearance: xr.DataArray | None, individuals: list[str]) -> np.ndarray | None:
    """``(T, N, D)`` descriptors aligned with ``individuals`` (NaN where absent), or None."""
    if appearance is None:
        return None
    a = appearance.reindex(individual=individuals)
    return np.asarray(a.transpose("time", "individual", "feature").values, dtype=float)
