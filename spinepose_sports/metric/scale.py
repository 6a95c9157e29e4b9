"""From a :class:`Calibration` and the keypoints to numbers: m per px and the floor line.

* :func:`stature_px`: an athlete's standing height in the image (px), the sum of the
  median lengths of the segments on the path head -> spine chain -> pelvis -> hip ->
  knee -> ankle -> heel (legs: mean of the sides seen).  Segment lengths do not change
  when the athlete bends in the image plane, so it is measured in any posture; motion out
  of the image plane shortens segments (foreshortening) and the median resists that only
  while most frames are in the plane.
* :func:`estimate_floor`: the floor line, from the lowest foot point of every frame
  (the feet touch the floor in stance, are above it in flight): the line through the
  90th-percentile (lowest) foot height of x-bins; level (0 deg) when the feet do not
  travel far enough across the image to show a tilt.
* :func:`resolve`: per-athlete m/px and the floor line of a poses dataset.

Image coordinates are px, y down; angles are in a y-up frame, anticlockwise positive.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..skeleton import KEYPOINT_INDEX, SPINE_CHAIN
from .calibration import Calibration, CalibrationError

#: The stature path: spine chain from head to pelvis, then per leg.
SPINE_PATH: tuple[str, ...] = tuple(reversed(SPINE_CHAIN))
LEG_PATH: tuple[str, ...] = ("hip", "knee", "ankle", "heel")
#: Foot points that touch the floor.
FOOT_POINTS: tuple[str, ...] = tuple(
    f"{s}_{p}" for s in ("left", "right") for p in ("heel", "big_toe", "small_toe")
)
DEFAULT_MIN_CONFIDENCE = 0.3
ASSUMPTIONS = (
    "2D calibration: one scale per athlete, valid in the plane of motion (parallel to the "
    "image plane, at the athlete's distance from the camera); motion toward or away from "
    "the camera and lens distortion are not corrected; x to the right, y up, y = 0 on the "
    "floor line; height method: the height is the head-to-heel keypoint path"
)


@dataclass(frozen=True)
class FloorLine:
    """The floor in the image: ``y_px = slope * x_px + intercept_px`` (y down).

    angle_deg: its angle in a y-up frame (anticlockwise positive: rising to the right);
    source: ``"given"``, ``"estimated"`` (from the feet) or ``"level"`` (assumed
    horizontal: the feet did not travel far enough to show a tilt).
    """

    angle_deg: float
    intercept_px: float
    source: str

    @property
    def slope(self) -> float:
        return -math.tan(math.radians(self.angle_deg))


@dataclass(frozen=True)
class ResolvedCalibration:
    """A calibration applied to one video: m/px and the floor line of every individual
    (athletes at different distances from the camera stand on different image lines)."""

    calibration: Calibration
    m_per_px: dict[str, float]
    floor: dict[str, FloorLine]
    stature_px: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record for ``run.json`` (inputs, results and assumptions)."""
        return {
            "calibration": self.calibration.to_dict(),
            "m_per_px": dict(self.m_per_px),
            "stature_px": dict(self.stature_px),
            "floor": {
                i: {"angle_deg": f.angle_deg, "intercept_px": f.intercept_px, "source": f.source}
                for i, f in self.floor.items()
            },
            "assumptions": ASSUMPTIONS,
        }


def _xy(poses: xr.Dataset, min_confidence: float) -> np.ndarray:
    """``(T, N, 37, 2)`` px with low-confidence points set to NaN."""
    xy = np.asarray(
        poses["position"].transpose("time", "individual", "keypoint", "space").values,
        dtype=np.float64,
    ).copy()
    conf = poses["confidence"].transpose("time", "individual", "keypoint").values
    xy[~(conf >= min_confidence)] = np.nan
    return xy


def _median_length(xy: np.ndarray, a: str, b: str) -> np.ndarray:
    """Median over time of the ``a``-``b`` distance, ``(N,)`` px (NaN if never seen)."""
    d = np.linalg.norm(xy[:, :, KEYPOINT_INDEX[a]] - xy[:, :, KEYPOINT_INDEX[b]], axis=-1)
    out = np.full(d.shape[1], np.nan)
    for j in range(d.shape[1]):
        ok = np.isfinite(d[:, j])
        if ok.any():
            out[j] = float(np.median(d[ok, j]))
    return out


def stature_px(poses: xr.Dataset, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> xr.DataArray:
    """Standing height in the image of every individual, ``(individual,)`` px.

    Sum of the median segment lengths along head -> ... -> pelvis (the spine chain) and
    the mean over the legs seen of hip -> knee -> ankle -> heel.  NaN when the spine
    chain or both legs are never seen.
    """
    xy = _xy(poses, min_confidence)
    spine = sum(_median_length(xy, a, b) for a, b in itertools.pairwise(SPINE_PATH))
    legs = []
    for side in ("left", "right"):
        names = [f"{side}_{p}" for p in LEG_PATH]
        legs.append(sum(_median_length(xy, a, b) for a, b in itertools.pairwise(names)))
    both = np.stack(legs)
    n_seen = np.isfinite(both).sum(axis=0)
    leg = np.where(n_seen > 0, np.nansum(both, axis=0) / np.maximum(n_seen, 1), np.nan)
    da = xr.DataArray(
        spine + leg,
        coords={"individual": poses["individual"].values},
        dims="individual",
        name="stature_px",
    )
    da.attrs.update(units="px", description="head-to-heel keypoint path (standing height)")
    return da


def lowest_foot_px(poses: xr.Dataset, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> np.ndarray:
    """The lowest foot point of every frame and individual: ``(T, N, 2)`` px (x, y)."""
    xy = _xy(poses, min_confidence)[:, :, [KEYPOINT_INDEX[n] for n in FOOT_POINTS]]
    y = np.where(np.isfinite(xy[..., 1]), xy[..., 1], -np.inf)
    k = np.argmax(y, axis=-1)
    out = np.take_along_axis(xy, k[..., None, None], axis=2)[:, :, 0]
    out[~np.isfinite(y.max(axis=-1))] = np.nan
    return out


def _floor_points(foot: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per x-bin, the median x and the 90th-percentile y (lowest) of the foot points."""
    x, y = foot[..., 0].ravel(), foot[..., 1].ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    edges = np.linspace(x.min(), x.max(), n_bins + 1)
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, n_bins - 1)
    bx, by = [], []
    for b in range(n_bins):
        sel = idx == b
        if sel.sum() >= 3:
            bx.append(float(np.median(x[sel])))
            by.append(float(np.percentile(y[sel], 90)))
    return np.asarray(bx), np.asarray(by)


def estimate_floor(
    poses: xr.Dataset,
    angle_deg: float | None = None,
    *,
    individual: str | None = None,
    min_travel_px: float | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    n_bins: int = 8,
) -> FloorLine:
    """The floor line under one athlete's feet (see the module doc).

    angle_deg: a known tilt (only the height of the line is estimated).  individual: the
    athlete (default: all feet pooled, right only when they stand at one distance).
    min_travel_px: the x range the feet must cover to estimate a tilt (default: a quarter
    of the frame width).  Raises :class:`CalibrationError` when no foot point is seen.
    """
    if individual is not None:
        poses = poses.sel(individual=[individual])
    foot = lowest_foot_px(poses, min_confidence)
    if not np.isfinite(foot).any():
        who = individual or "the results"
        raise CalibrationError(f"floor: no foot point (heel, toe) of {who} is ever seen")
    travel = float(np.nanmax(foot[..., 0]) - np.nanmin(foot[..., 0]))
    if min_travel_px is None:
        min_travel_px = 0.25 * float(poses.attrs.get("frame_width", 1000))
    source = "given"
    if angle_deg is None:
        bx, by = _floor_points(foot, n_bins) if travel > 0 else (np.zeros(0), np.zeros(0))
        if travel >= min_travel_px and bx.size >= 3:
            slope = float(np.polyfit(bx, by, 1)[0])
            angle_deg, source = math.degrees(math.atan(-slope)), "estimated"
        else:
            angle_deg, source = 0.0, "level"
    slope = -math.tan(math.radians(angle_deg))
    resid = foot[..., 1] - slope * foot[..., 0]
    intercept = float(np.nanpercentile(resid, 90))
    return FloorLine(float(angle_deg), intercept, source)


def resolve(
    poses: xr.Dataset,
    calibration: Calibration,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> ResolvedCalibration:
    """Apply ``calibration`` to ``poses``: m/px of every individual and the floor line.

    Raises :class:`CalibrationError` for a per-athlete height of an unknown track, an
    athlete without a height, or one whose stature cannot be measured in the image.
    """
    individuals = [str(i) for i in poses["individual"].values]
    calibration.check_individuals(individuals)
    scales: dict[str, float] = {}
    statures: dict[str, float] = {}
    if calibration.method == "height":
        heights = stature_px(poses, min_confidence)
        for ind in individuals:
            h_m = calibration.height_of(ind)
            if h_m is None:
                raise CalibrationError(f"{ind}: no height given for this athlete")
            h_px = float(heights.sel(individual=ind))
            if not (math.isfinite(h_px) and h_px > 0):
                raise CalibrationError(
                    f"{ind}: its height in the image cannot be measured (spine or legs unseen)"
                )
            statures[ind] = h_px
            scales[ind] = h_m / h_px
    else:
        if calibration.method == "points":
            (x1, y1), (x2, y2) = calibration.points_px or ((0.0, 0.0), (1.0, 0.0))
            scale = float(calibration.distance_m or 0.0) / math.hypot(x2 - x1, y2 - y1)
        else:
            scale = float(calibration.m_per_px or 0.0)
        scales = {ind: scale for ind in individuals}
    return ResolvedCalibration(
        calibration, scales, _floors(poses, calibration, min_confidence), statures
    )


def _floors(
    poses: xr.Dataset, calibration: Calibration, min_confidence: float
) -> dict[str, FloorLine]:
    """Each athlete's floor line; an athlete who does not travel takes the median tilt
    of those who do (source ``"others"``), or a level floor."""
    individuals = [str(i) for i in poses["individual"].values]
    angle = calibration.floor_angle_deg
    floors = {
        i: estimate_floor(poses, angle, individual=i, min_confidence=min_confidence)
        for i in individuals
    }
    tilts = [f.angle_deg for f in floors.values() if f.source == "estimated"]
    if angle is None and tilts:
        median = float(np.median(tilts))
        for i, f in floors.items():
            if f.source == "level":
                again = estimate_floor(poses, median, individual=i, min_confidence=min_confidence)
                floors[i] = FloorLine(again.angle_deg, again.intercept_px, "others")
    return floors


def floor_frame(xy_px: np.ndarray, floor: FloorLine) -> np.ndarray:
    """Image points ``(..., 2)`` px -> floor-aligned px ``(..., 2)``: x along the floor,
    y up from the floor line (the image rotated so that the floor is horizontal)."""
    a = math.radians(floor.angle_deg)
    x, y_up = xy_px[..., 0], floor.intercept_px - xy_px[..., 1]  # y up, floor at x=0 -> 0
    along = x * math.cos(a) + y_up * math.sin(a)
    # height above the floor line: perpendicular distance, positive up
    height = (y_up - x * math.tan(a)) * math.cos(a)
    return np.stack([along, height], axis=-1)
