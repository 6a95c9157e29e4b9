"""Offline track post-processing: one athlete, one id.

After the online tracking pass (whole video known), :func:`postprocess_tracks`:

1. stitches the fragments of each person's track into one id (:mod:`.stitch`), using
   motion, box size and, where given, a torso colour descriptor (:mod:`.appearance`);
2. assesses every track and drops those too short, too small, static or low-confidence
   (:mod:`.quality`), reporting each with its reasons;
3. optionally keeps only the selected athletes (:mod:`.select`) and names them.

Each step records its parameters in the datasets' ``attrs["log"]`` and returns a
JSON-serialisable report for ``run.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..data import track_id_of
from .appearance import (
    DESCRIPTOR_SIZE,
    AppearanceCollector,
    appearance_similarity,
    torso_descriptor,
)
from .mapping import apply_mapping
from .quality import QualityParams, assess_tracks, dropped_tracks, filter_tracks, quality_summary
from .select import (
    RANKINGS,
    Point,
    Selection,
    apply_names,
    describe_selection,
    names_of,
    parse_names,
    parse_selection,
    restrict,
    select_athletes,
)
from .stitch import StitchParams, StitchResult, stitch_tracks

__all__ = [
    "DEFAULT_QUALITY",
    "DEFAULT_STITCH",
    "DESCRIPTOR_SIZE",
    "RANKINGS",
    "AppearanceCollector",
    "Point",
    "QualityParams",
    "StitchParams",
    "StitchResult",
    "appearance_similarity",
    "apply_mapping",
    "apply_names",
    "assess_tracks",
    "count_tracks",
    "dropped_tracks",
    "filter_tracks",
    "names_of",
    "parse_names",
    "parse_selection",
    "postprocess_tracks",
    "quality_summary",
    "restrict",
    "select_athletes",
    "stitch_tracks",
    "torso_descriptor",
]

DEFAULT_STITCH = StitchParams()
DEFAULT_QUALITY = QualityParams()


def count_tracks(data: xr.Dataset, min_seen_s: float = 0.0) -> int:
    """Number of tracks of a boxes or poses dataset seen in more than ``min_seen_s``
    seconds' worth of frames (``attrs["fps"]``)."""
    var = data["position"]
    seen = var.notnull().all([d for d in var.dims if d not in ("time", "individual")])
    frames = seen.sum("time").values
    return int(np.sum(frames > min_seen_s * float(data.attrs["fps"]) + 1e-9))


def _as_selection(select: Selection | tuple[Selection, int]) -> tuple[Selection, int]:
    if isinstance(select, str):
        return parse_selection(select)
    if isinstance(select, Point):
        return select, 1
    if (isinstance(select, tuple) and len(select) == 2 and isinstance(select[1], int)
            and not isinstance(select[0], int)):
        return select[0], select[1]
    return list(select), 1


def _translate_ids(by: Selection, mapping: Mapping[int, int]) -> Selection:
    """Ids given before stitching -> the ids they were merged into."""
    if isinstance(by, (str, Point)):
        return by
    return [mapping.get(track_id_of(str(i)) if str(i).startswith("track_") else int(i),
                        int(str(i).removeprefix("track_"))) for i in by]


def _names_after(
    names: Mapping[int, str], mapping: Mapping[int, int], present: list[str]
) -> tuple[dict[int, str], dict[str, str]]:
    """Names keyed by the ids after stitching; and the names whose track is gone."""
    known = set(mapping) | {track_id_of(i) for i in present}
    unknown = sorted(int(k) for k in names if int(k) not in known)
    if unknown:
        raise ValueError(f"names: no track with id(s) {unknown}; tracks: {sorted(known)}")
    kept = {track_id_of(i) for i in present}
    moved = {int(mapping.get(int(k), int(k))): str(v) for k, v in names.items()}
    return ({k: v for k, v in moved.items() if k in kept},
            {str(k): v for k, v in moved.items() if k not in kept})


def postprocess_tracks(
    poses: xr.Dataset | None,
    boxes: xr.Dataset,
    appearance: xr.DataArray | None = None,
    *,
    stitch: StitchParams | None = DEFAULT_STITCH,
    quality: QualityParams | None = DEFAULT_QUALITY,
    select: Selection | tuple[Selection, int] | None = None,
    names: Mapping[int, str] | None = None,
) -> tuple[xr.Dataset | None, xr.Dataset, dict[str, Any]]:
    """Stitch, filter, select and name the tracks of one video, right after tracking.

    poses: ``position (time, space, keypoint, individual)`` or None; boxes: the matching
    boxes dataset (same time axis and individuals); appearance: ``(time, feature,
    individual)`` from :meth:`AppearanceCollector.to_dataarray`, or None. stitch / quality:
    parameters, or None to skip the step. select: a ranking (``"longest"``, ...), a list of
    ids, a :class:`Point`, a ``(by, n)`` pair or a command-line string (``"longest:2"``,
    ``"id:3,5"``, ``"point:1.5,640,360"``); ids may be given before or after stitching.
    names: track id -> display name (a ``name`` coordinate along ``individual``).

    Returns ``(poses, boxes, report)``; report (JSON-serialisable) has the track counts,
    the stitch links and mapping, the quality table with verdicts and reasons, the
    selection and the names.
    """
    report: dict[str, Any] = {
        "tracks_in": count_tracks(boxes),
        "tracks_in_over_1s": count_tracks(boxes, 1.0),
    }
    mapping = {track_id_of(i): track_id_of(i) for i in boxes["individual"].values}
    if stitch is not None:
        result = stitch_tracks(boxes, poses, appearance, stitch)
        mapping = result.mapping
        boxes = result.apply(boxes)
        poses = None if poses is None else result.apply(poses)
        report["stitch"] = result.report()
    if quality is not None:
        table = assess_tracks(boxes, poses, params=quality)
        boxes = filter_tracks(boxes, table)
        poses = None if poses is None else filter_tracks(poses, table)
        report["quality"] = quality_summary(table)
    if select is not None:
        by, n = _as_selection(select)
        by = _translate_ids(by, mapping)
        chosen = select_athletes(boxes, poses, by, n)
        boxes = restrict(boxes, chosen)
        poses = None if poses is None else restrict(poses, chosen)
        report["selection"] = {**describe_selection(by, n), "individuals": chosen}
    if names:
        present = [str(i) for i in boxes["individual"].values]
        named, gone = _names_after(names, mapping, present)
        boxes = apply_names(boxes, named)
        poses = None if poses is None else apply_names(poses, named)
        report["names"] = {str(k): v for k, v in named.items()}
        if gone:
            report["names_not_applied"] = gone
    report["tracks_out"] = count_tracks(boxes)
    report["tracks_out_over_1s"] = count_tracks(boxes, 1.0)
    report["individuals"] = [str(i) for i in boxes["individual"].values]
    return poses, boxes, report
