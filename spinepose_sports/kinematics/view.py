"""View and facing direction of each track: detected from the body, overridable.

Two labels per track decide how an in-plane angle is read:

* ``view``: which part of the athlete the camera sees, ``"left_side"``, ``"right_side"``,
  ``"front"`` or ``"back"``.  Side views give flexion/extension (sagittal plane), front and
  back views lateral bending (frontal plane): see :data:`MOTION_PLANES`.
* ``facing``: the image direction, ``"left"`` or ``"right"``, toward which positive
  in-plane angles point: the athlete's **front** in side views, the athlete's **right side**
  in front and back views.  With an ordinary (not mirrored) camera the pairs are
  ``left_side``/``left``, ``right_side``/``right``, ``front``/``left``, ``back``/``right``;
  the other four pairs are what a mirrored (selfie) recording shows.

Detection, per track over all its frames (medians, so a few bad frames do not flip it):

1. side or frontal: the horizontal spread of the left/right shoulders and hips, divided
   by the hip-neck distance; above :data:`FRONTAL_WIDTH_RATIO` the view is frontal.
2. facing, side views: toes ahead of heels and nose ahead of the ears (both feet and the
   head vote, each normalised by the hip-neck distance).
   facing, frontal views: the image side of the ``right_*`` points relative to their
   ``left_*`` partners (shoulders, hips, ears, eyes, elbows, knees, ankles).
3. the view label within its kind: side views, the side whose points have the higher
   mean confidence is nearer the camera; frontal views, a visible face (nose and eyes more
   confident than the ears) means front.  When the confidences do not differ by
   :data:`CONFIDENCE_MARGIN`, an ordinary (not mirrored) camera is assumed.

The labels only name the view: the sign of every angle comes from ``facing``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..skeleton import KEYPOINT_INDEX

VIEWS: tuple[str, ...] = ("left_side", "right_side", "front", "back")
FACINGS: tuple[str, ...] = ("left", "right")
SIDE_VIEWS: frozenset[str] = frozenset({"left_side", "right_side"})
#: The anatomical plane each view shows.
MOTION_PLANES: dict[str, str] = {
    "left_side": "flexion-extension",
    "right_side": "flexion-extension",
    "front": "lateral-bending",
    "back": "lateral-bending",
}
#: Mean shoulder + hip width over hip-neck distance above which a view is frontal.
FRONTAL_WIDTH_RATIO = 0.3
#: Mean confidence difference needed to call the near side (or a visible face).
CONFIDENCE_MARGIN = 0.1

_K = KEYPOINT_INDEX
_WIDTH_PAIRS = (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"))
_LR_PAIRS = (
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
    ("left_ear", "right_ear"),
    ("left_eye", "right_eye"),
    ("left_elbow", "right_elbow"),
    ("left_knee", "right_knee"),
    ("left_ankle", "right_ankle"),
)
_SIDE_LIMBS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "big_toe")

ViewArg = str | Mapping[str, str]


@dataclass(frozen=True)
class TrackOrientation:
    """The view and facing of one track and where each came from.

    view: one of :data:`VIEWS`; facing: ``"left"``/``"right"`` (see the module doc);
    ``*_source``: ``"user"``, ``"body"`` (detected) or ``"default"`` (no evidence).
    """

    view: str
    facing: str
    view_source: str
    facing_source: str

    @property
    def sign(self) -> float:
        """+1 when positive angles point to image right, -1 to image left."""
        return 1.0 if self.facing == "right" else -1.0

    @property
    def is_side(self) -> bool:
        return self.view in SIDE_VIEWS

    @property
    def motion_plane(self) -> str:
        return MOTION_PLANES[self.view]


def _nanmedian(a: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else float("nan")


def _nanmean(a: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(np.mean(a)) if a.size else float("nan")


def _trunk_length(xy: np.ndarray) -> np.ndarray:
    """xy ``(T, 37, 2)`` px -> hip-neck distance ``(T,)`` px (NaN if missing or zero)."""
    d = np.hypot(*(xy[:, _K["neck"]] - xy[:, _K["hip"]]).T)
    return np.where(d > 0, d, np.nan)


def frontal_score(xy: np.ndarray) -> float:
    """Median over frames of the mean |dx| of shoulders and hips over the hip-neck distance.

    xy: ``(T, 37, 2)`` px of one track.  About 0 in side views, 0.5-0.8 in frontal views.
    """
    trunk = _trunk_length(xy)
    widths = [np.abs(xy[:, _K[a], 0] - xy[:, _K[b], 0]) for a, b in _WIDTH_PAIRS]
    return _nanmedian(_rowwise_nanmean(np.stack(widths)) / trunk)


def side_facing_score(xy: np.ndarray) -> float:
    """Positive when the athlete faces image right in a side view (toes, nose ahead).

    xy: ``(T, 37, 2)`` px of one track.  Median over frames of the mean of the votes
    (left foot, right foot, head), each an x offset over the hip-neck distance.
    """
    trunk = _trunk_length(xy)
    votes = []
    for side in ("left", "right"):
        toes = (xy[:, _K[f"{side}_big_toe"], 0] + xy[:, _K[f"{side}_small_toe"], 0]) / 2
        votes.append((toes - xy[:, _K[f"{side}_heel"], 0]) / trunk)
    ears = (xy[:, _K["left_ear"], 0] + xy[:, _K["right_ear"], 0]) / 2
    votes.append((xy[:, _K["nose"], 0] - ears) / trunk)
    per_frame = _rowwise_nanmean(np.stack(votes))
    return _nanmedian(per_frame)


def frontal_facing_score(xy: np.ndarray) -> float:
    """Positive when the athlete's right side appears on the image right (frontal view).

    xy: ``(T, 37, 2)`` px.  Median over frames of the mean of ``x(right_*) - x(left_*)``
    over the bilateral pairs, divided by the hip-neck distance.
    """
    trunk = _trunk_length(xy)
    diffs = np.stack([xy[:, _K[r], 0] - xy[:, _K[lft], 0] for lft, r in _LR_PAIRS])
    per_frame = _rowwise_nanmean(diffs) / trunk
    return _nanmedian(per_frame)


def _rowwise_nanmean(stacked: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring NaN; NaN (without a warning) where all are NaN."""
    valid = np.isfinite(stacked)
    total = np.where(valid, stacked, 0.0).sum(axis=0)
    count = valid.sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _side_confidence(conf: np.ndarray, side: str) -> float:
    return _nanmean(conf[:, [_K[f"{side}_{p}"] for p in _SIDE_LIMBS]])


def _face_visibility(conf: np.ndarray) -> float:
    face = _nanmean(conf[:, [_K["nose"], _K["left_eye"], _K["right_eye"]]])
    ears = _nanmean(conf[:, [_K["left_ear"], _K["right_ear"]]])
    return face - ears


def _label_side(facing: str, conf: np.ndarray) -> tuple[str, str]:
    diff = _side_confidence(conf, "left") - _side_confidence(conf, "right")
    if np.isfinite(diff) and abs(diff) >= CONFIDENCE_MARGIN:
        return ("left_side" if diff > 0 else "right_side"), "body"
    return ("left_side" if facing == "left" else "right_side"), "default"


def _label_frontal(facing: str, conf: np.ndarray) -> tuple[str, str]:
    vis = _face_visibility(conf)
    if np.isfinite(vis) and abs(vis) >= CONFIDENCE_MARGIN:
        return ("front" if vis > 0 else "back"), "body"
    return ("front" if facing == "left" else "back"), "default"


def detect_track_orientation(
    xy: np.ndarray, conf: np.ndarray, view: str = "auto", facing: str = "auto"
) -> TrackOrientation:
    """Orientation of one track.

    xy: ``(T, 37, 2)`` image px (y down or up: only x is used); conf: ``(T, 37)``;
    view: ``"auto"`` or one of :data:`VIEWS`; facing: ``"auto"``, ``"left"`` or ``"right"``.
    """
    _check_choice("view", view, ("auto", *VIEWS))
    _check_choice("facing", facing, ("auto", *FACINGS))
    if view == "auto":
        side = not (frontal_score(xy) > FRONTAL_WIDTH_RATIO)
    else:
        side = view in SIDE_VIEWS
    if facing == "auto":
        score = side_facing_score(xy) if side else frontal_facing_score(xy)
        facing_source = "body" if np.isfinite(score) and score != 0 else "default"
        facing = "left" if facing_source == "body" and score < 0 else "right"
    else:
        facing_source = "user"
    if view == "auto":
        view, view_source = (_label_side if side else _label_frontal)(facing, conf)
    else:
        view_source = "user"
    return TrackOrientation(view, facing, view_source, facing_source)


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, received {value!r}")


def _per_track(arg: ViewArg, individuals: Sequence[str], name: str) -> list[str]:
    if isinstance(arg, str):
        return [arg] * len(individuals)
    unknown = set(arg) - set(individuals)
    if unknown:
        raise ValueError(f"{name}: unknown individuals {sorted(unknown)}")
    return [str(arg.get(ind, "auto")) for ind in individuals]


def detect_orientations(
    xy: np.ndarray,
    conf: np.ndarray,
    individuals: Sequence[str],
    view: ViewArg = "auto",
    facing: ViewArg = "auto",
) -> list[TrackOrientation]:
    """Orientation of every track.

    xy: ``(T, N, 37, 2)`` px; conf: ``(T, N, 37)``; view / facing: one value for all tracks
    or a mapping ``{individual: value}`` (tracks left out are ``"auto"``).
    """
    views = _per_track(view, individuals, "view")
    facings = _per_track(facing, individuals, "facing")
    return [
        detect_track_orientation(xy[:, j], conf[:, j], views[j], facings[j])
        for j in range(len(individuals))
    ]
