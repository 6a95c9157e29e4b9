"""Track quality: find tracks that are too short, too small, static, low-confidence, or a
duplicate of another track.

Such tracks are mostly false detections (equipment, posters, shadows), the last few
frames of someone leaving, or a second box on the same athlete (another class, a loose
box) that would double the athlete in every table.  A track is a **duplicate** when its
box overlaps another track's box with an IoU of at least ``duplicate_iou`` for longer
than a handover (``duplicate_min_s``) and for at least ``duplicate_fraction`` of its own
frames; of the two, the one seen in fewer frames (then: the lower mean confidence, then:
the higher id) is the duplicate and is dropped, its report row naming the track it
duplicates (``duplicate_of``). :func:`assess_tracks` measures every track and gives a verdict
with its reasons; :func:`filter_tracks` removes the dropped ones from a dataset and
records what it removed in ``attrs["log"]``. Nothing is removed silently: the table is
the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

from ..data import append_log
from ._tracks import TrackArrays, track_arrays

__all__ = ["REASONS", "QualityParams", "assess_tracks", "filter_tracks", "find_duplicates"]

MIN_MOTION_UNIT = 0.05
REASONS = ("too_short", "too_small", "static", "low_confidence", "low_pose_confidence",
           "duplicate")
COLUMNS = (
    "track", "n_frames", "seen_s", "first_s", "last_s", "duration_s", "height", "motion",
    "confidence", "pose_confidence", "duplicate_of", "overlap_s", "verdict", "reason",
)
Data = TypeVar("Data", xr.Dataset, xr.DataArray)


@dataclass(frozen=True)
class QualityParams:
    """Thresholds of :func:`assess_tracks`; None turns a test off.

    min_seen_s: a track must be seen in at least this many seconds' worth of frames, s.
    min_height: median box height as a fraction of the frame height.
    min_motion: a track whose box centre and size (and pelvis, with poses) all vary by
        less than this (5th to 95th percentile range) is static, box heights (a box height
        counts as at least :data:`MIN_MOTION_UNIT` of the frame height, so that the pixel
        jitter of a tiny box does not pass for motion).
    min_confidence: mean detection confidence (0 to 1).
    min_pose_confidence: mean keypoint confidence (0 to 1), with poses only.
    duplicate_iou: box IoU from which two tracks' boxes are on the same person (None: no
        duplicate test).
    duplicate_min_s: the two must overlap so for longer than this (a handover, where the
        old and the new track briefly share the person, is shorter), s.
    duplicate_fraction: ... and for at least this share of the duplicate's frames.
    drop: the reasons that drop a track; the other reasons only flag it.
    """

    min_seen_s: float | None = 0.5
    min_height: float | None = 0.03
    min_motion: float | None = 0.1
    min_confidence: float | None = 0.2
    min_pose_confidence: float | None = None
    duplicate_iou: float | None = 0.5
    duplicate_min_s: float = 1.0
    duplicate_fraction: float = 0.5
    drop: tuple[str, ...] = REASONS

    def __post_init__(self) -> None:
        unknown = sorted(set(self.drop) - set(REASONS))
        if unknown:
            raise ValueError(f"QualityParams.drop: unknown reason(s) {unknown}; known: {REASONS}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["drop"] = list(self.drop)
        return d


def _motion(values: np.ndarray, unit: float) -> float:
    """Largest 5-95 % range of the columns of ``values`` ``(n, k)``, in units of ``unit``."""
    values = values[np.isfinite(values).all(-1)]
    if len(values) < 2 or unit <= 0:
        return 0.0
    lo, hi = np.percentile(values, [5, 95], axis=0)
    return float(np.max(hi - lo) / unit)


def box_iou(centre: np.ndarray, size: np.ndarray, i: int, j: int) -> np.ndarray:
    """``(T,)`` IoU of the boxes of tracks i and j (centre/size ``(T, N, 2)`` px); NaN
    where either is absent."""
    lo_i, hi_i = centre[:, i] - size[:, i] / 2, centre[:, i] + size[:, i] / 2
    lo_j, hi_j = centre[:, j] - size[:, j] / 2, centre[:, j] + size[:, j] / 2
    inter = np.clip(np.minimum(hi_i, hi_j) - np.maximum(lo_i, lo_j), 0, None).prod(-1)
    union = size[:, i].prod(-1) + size[:, j].prod(-1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def find_duplicates(tr: TrackArrays, params: QualityParams) -> dict[int, tuple[int, float]]:
    """Column of each duplicate track -> (column of the track it duplicates, overlap s).

    See the module doc for the rule; chains (a duplicate of a duplicate) point to the
    track that is kept.
    """
    if params.duplicate_iou is None:
        return {}
    n = len(tr.individuals)
    frames = tr.valid.sum(axis=0)
    conf = np.array([np.nanmean(tr.confidence[tr.valid[:, j], j]) if frames[j] else 0.0
                     for j in range(n)])
    rank = sorted(range(n), key=lambda j: (-frames[j], -conf[j], int(tr.ids[j])))
    out: dict[int, tuple[int, float]] = {}
    for a_pos, keep in enumerate(rank):
        if keep in out:
            continue
        for dup in rank[a_pos + 1:]:
            if dup in out or frames[dup] == 0:
                continue
            with np.errstate(invalid="ignore"):
                same = box_iou(tr.centre, tr.size, keep, dup) >= params.duplicate_iou
            n_same = int(same.sum())
            if (n_same / tr.fps > params.duplicate_min_s
                    and n_same >= params.duplicate_fraction * frames[dup]):
                out[dup] = (keep, n_same / tr.fps)
    return out


def _reasons(row: dict[str, Any], params: QualityParams) -> list[str]:
    tests = [
        ("too_short", params.min_seen_s, row["seen_s"]),
        ("too_small", params.min_height, row["height"]),
        ("static", params.min_motion, row["motion"]),
        ("low_confidence", params.min_confidence, row["confidence"]),
        ("low_pose_confidence", params.min_pose_confidence, row["pose_confidence"]),
    ]
    found = [name for name, limit, value in tests
             if limit is not None and np.isfinite(value) and value < limit]
    return found + (["duplicate"] if np.isfinite(row["duplicate_of"]) else [])


def assess_tracks(
    boxes: xr.Dataset,
    poses: xr.Dataset | None = None,
    fps: float | None = None,
    params: QualityParams | None = None,
) -> pd.DataFrame:
    """One row per track (index: individual name) with its measures and verdict.

    Columns: track (id), n_frames, seen_s (n_frames / fps), first_s, last_s, duration_s
    (first to last, s), height (median box height / frame height), motion (box heights),
    confidence (mean box confidence), pose_confidence (mean keypoint confidence, NaN
    without poses), duplicate_of (the id of the track this one duplicates, else NaN),
    overlap_s (how long their boxes overlapped, s; NaN when not a duplicate), verdict
    (``keep``, ``flag`` or ``drop``) and reason (the failed tests,
    ``;``-separated, empty when none). fps defaults to ``boxes.attrs["fps"]``.
    """
    params = params or QualityParams()
    tr = track_arrays(boxes, poses)
    fps = float(fps or tr.fps)
    frame_h = float(tr.frame_size[1]) or float(np.nanmax(tr.height, initial=1.0))
    pose_conf = None
    if poses is not None:
        pose_conf = poses["confidence"].reindex(individual=tr.individuals).mean(
            ("time", "keypoint"), skipna=True).values
    duplicates = find_duplicates(tr, params)
    rows = []
    for j in range(len(tr.individuals)):
        seen = tr.valid[:, j]
        n = int(seen.sum())
        t = tr.time[seen]
        height = float(np.median(tr.height[seen, j])) if n else 0.0
        parts = [tr.centre[seen, j], tr.size[seen, j], tr.anchor[seen, j]]
        unit = max(height, MIN_MOTION_UNIT * frame_h)
        row: dict[str, Any] = {
            "track": int(tr.ids[j]),
            "n_frames": n,
            "seen_s": n / fps,
            "first_s": float(t[0]) if n else np.nan,
            "last_s": float(t[-1]) if n else np.nan,
            "duration_s": float(t[-1] - t[0] + 1 / fps) if n else 0.0,
            "height": height / frame_h,
            "motion": _motion(np.concatenate(parts, axis=1), unit),
            "confidence": float(np.nanmean(tr.confidence[seen, j])) if n else np.nan,
            "pose_confidence": float(pose_conf[j]) if pose_conf is not None else np.nan,
            "duplicate_of": float(tr.ids[duplicates[j][0]]) if j in duplicates else np.nan,
            "overlap_s": duplicates[j][1] if j in duplicates else np.nan,
        }
        reasons = _reasons(row, params)
        dropping = [r for r in reasons if r in params.drop]
        row["verdict"] = "drop" if dropping else ("flag" if reasons else "keep")
        row["reason"] = "; ".join(reasons)
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(COLUMNS), index=pd.Index(tr.individuals,
                                                                     name="individual"))
    table.attrs["params"] = params.to_dict()
    return table


def dropped_tracks(report: pd.DataFrame) -> list[str]:
    """Individual names whose verdict is ``drop``."""
    return [str(i) for i in report.index[report["verdict"] == "drop"]]


def filter_tracks(data: Data, report: pd.DataFrame, *, log: bool = True) -> Data:
    """``data`` (poses, boxes or appearance) without the tracks ``report`` drops.

    Tracks absent from ``report`` are kept. The removal is recorded in ``attrs["log"]``
    (``filter_tracks``: the dropped tracks with their reasons, and the thresholds).
    """
    present = {str(i) for i in data["individual"].values}
    dropped = [n for n in dropped_tracks(report) if n in present]
    keep = [str(i) for i in data["individual"].values if str(i) not in dropped]
    out = data.sel(individual=keep)
    if not log:
        return out
    params = dict(report.attrs.get("params", {}))
    reasons = {n: str(report.loc[n, "reason"]) for n in dropped}
    if isinstance(out, xr.Dataset):
        return append_log(out, "filter_tracks", dropped=reasons, params=params)
    return _log_dataarray(out, reasons, params)


def _log_dataarray(da: xr.DataArray, reasons: dict[str, str], params: dict[str, Any]
                   ) -> xr.DataArray:
    name = da.name if da.name is not None else "data"
    ds = append_log(da.to_dataset(name=name).assign_attrs(da.attrs), "filter_tracks",
                    dropped=reasons, params=params)
    out = ds[name].rename(da.name)
    out.attrs = dict(da.attrs, log=ds.attrs["log"])
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        return round(float(value), 4) if np.isfinite(value) else None
    return value


def quality_summary(report: pd.DataFrame) -> dict[str, Any]:
    """JSON-serialisable summary of :func:`assess_tracks` for ``run.json``."""
    records: Sequence[dict[str, Any]] = report.reset_index().to_dict("records")
    clean = [{k: _plain(v) for k, v in r.items()} for r in records]
    return {
        "tracks": clean,
        "kept": [str(i) for i in report.index[report["verdict"] != "drop"]],
        "dropped": dropped_tracks(report),
        "flagged": [str(i) for i in report.index[report["verdict"] == "flag"]],
        "params": dict(report.attrs.get("params", {})),
    }
