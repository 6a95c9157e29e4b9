"""View and facing decided frame by frame, from the body's own cues (design.md §5).

Athletes turn, so the sign of every in-plane angle is decided per frame.  For each track:

1. **Cues per frame**, each offset measured *across the body's own axis* (so an athlete
   upside down in a somersault still faces the same way) and divided by the hip-neck
   distance:

   * width: the spread of the shoulders and of the hips across the trunk axis (hip ->
     neck); about 0 in side views, 0.5-1 in front and back views;
   * side cue: toes ahead of the heel across the shank axis (ankle -> knee), each foot,
     and the nose ahead of the ears across the head axis (neck -> head): positive when the
     athlete's front is on the image right;
   * frontal cue: the ``right_*`` points relative to their ``left_*`` partners across the
     trunk axis: positive when the athlete's right side is on the image right.

2. **Window**: each cue is a centred running median over :data:`WINDOW_S` seconds
   (missing frames ignored), so one bad frame never flips anything.

3. **Kind with hysteresis**: a frame is frontal when the width rises above
   ``FRONTAL_WIDTH_RATIO + KIND_HYSTERESIS`` and side again when it falls below
   ``FRONTAL_WIDTH_RATIO - KIND_HYSTERESIS``; in between the previous kind holds.

4. **Facing with hysteresis**: the cue of the frame's kind is *clear* beyond
   ±:data:`FACING_MARGIN`.  A run of frames without a clear cue takes the facing of the
   clear frames around it when both sides agree (or only one side exists); when they
   disagree the athlete turned somewhere inside the run and the body does not say
   where: those frames are **uncertain** and get no sign (their angles are NaN).  A track
   without any clear frame falls back on the sign of its median cue (or image right) and
   all its frames are flagged uncertain.

The user may fix the view (then the kind is fixed) and/or the facing (then nothing is
uncertain) per track, as in :func:`~spinepose_sports.kinematics.view.detect_orientations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..skeleton import KEYPOINT_INDEX
from .view import (
    _LR_PAIRS,
    _SIDE_LIMBS,
    _WIDTH_PAIRS,
    CONFIDENCE_MARGIN,
    FACINGS,
    FRONTAL_WIDTH_RATIO,
    MOTION_PLANES,
    SIDE_VIEWS,
    VIEWS,
    ViewArg,
    _check_choice,
    _per_track,
)

#: Length of the centred running median applied to every cue, s.
WINDOW_S = 0.2
#: Half-width of the hysteresis band around FRONTAL_WIDTH_RATIO.
KIND_HYSTERESIS = 0.05
#: A facing cue (offset over the hip-neck distance) is clear beyond this.
FACING_MARGIN = 0.1

_K = KEYPOINT_INDEX


@dataclass(frozen=True)
class FrameOrientation:
    """Per-frame orientation of N tracks over T frames.

    frontal ``(T, N)`` bool: front/back kind; sign ``(T, N)`` float: +1 when positive
    angles point to image right, -1 to image left, NaN where uncertain (no sign);
    uncertain ``(T, N)`` bool: the body did not say which way it faces (NaN sign, or a
    track-wide fallback); view ``(T, N)`` str (one of :data:`VIEWS`, ``""`` where the
    track has no data); view_source / facing_source ``(N,)``: ``user``, ``body`` or
    ``default``.
    """

    frontal: np.ndarray
    sign: np.ndarray
    uncertain: np.ndarray
    view: np.ndarray
    view_source: list[str]
    facing_source: list[str]

    @property
    def flip(self) -> np.ndarray:
        """``(T, N)``: -1 in side views facing image left, +1 otherwise, NaN if uncertain
        in a side view (Sports2D's body-frame mirroring)."""
        side_left = ~self.frontal & (self.sign < 0)
        return np.where(~self.frontal & np.isnan(self.sign), np.nan,
                        np.where(side_left, -1.0, 1.0))

    @property
    def facing(self) -> np.ndarray:
        """``(T, N)`` str: ``left``, ``right`` or ``""`` (uncertain / no data)."""
        return np.where(self.sign > 0, "right", np.where(self.sign < 0, "left", ""))


def _across(axis: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Component of ``vec`` across ``axis`` (both ``(..., 2)``, image y down), px.

    Positive when ``vec`` points to the image right of an upward ``axis``; the axis is
    normalised, so the result is in the units of ``vec``.
    """
    ax, ay = axis[..., 0], -axis[..., 1]  # y up
    vx, vy = vec[..., 0], -vec[..., 1]
    norm = np.hypot(ax, ay)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (ay * vx - ax * vy) / norm, np.nan)


def _mean(stacked: list[np.ndarray]) -> np.ndarray:
    a = np.stack(stacked)
    ok = np.isfinite(a)
    n = ok.sum(axis=0)
    return np.where(n > 0, np.where(ok, a, 0.0).sum(axis=0) / np.maximum(n, 1), np.nan)


def _p(xy: np.ndarray, name: str) -> np.ndarray:
    return xy[:, :, _K[name], :]


def frame_cues(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw per-frame cues ``(width, side, frontal)``, each ``(T, N)`` (see the module doc).

    xy: ``(T, N, 37, 2)`` image px (y down), NaN where missing.
    """
    trunk_vec = _p(xy, "neck") - _p(xy, "hip")
    trunk = np.hypot(trunk_vec[..., 0], trunk_vec[..., 1])
    trunk = np.where(trunk > 0, trunk, np.nan)
    widths = [np.abs(_across(trunk_vec, _p(xy, a) - _p(xy, b))) for a, b in _WIDTH_PAIRS]
    votes = []
    for side in ("left", "right"):
        toes = (_p(xy, f"{side}_big_toe") + _p(xy, f"{side}_small_toe")) / 2
        shank = _p(xy, f"{side}_knee") - _p(xy, f"{side}_ankle")
        votes.append(_across(shank, toes - _p(xy, f"{side}_heel")))
    ears = (_p(xy, "left_ear") + _p(xy, "right_ear")) / 2
    votes.append(_across(_p(xy, "head") - _p(xy, "neck"), _p(xy, "nose") - ears))
    diffs = [_across(trunk_vec, _p(xy, r) - _p(xy, lft)) for lft, r in _LR_PAIRS]
    return _mean(widths) / trunk, _mean(votes) / trunk, _mean(diffs) / trunk


def running_median(a: np.ndarray, n_frames: int) -> np.ndarray:
    """Centred running median along axis 0 of ``a (T, N)`` over ``n_frames`` frames,
    NaN ignored (NaN only where the whole window is NaN)."""
    if n_frames <= 1 or a.shape[0] == 0:
        return a.astype(np.float64)
    df = pd.DataFrame(np.asarray(a, dtype=np.float64))
    return df.rolling(int(n_frames), center=True, min_periods=1).median().to_numpy()


def window_frames(time_s: np.ndarray, window_s: float = WINDOW_S) -> int:
    """Odd number of frames spanning about ``window_s`` seconds at the median frame rate."""
    if time_s.size < 2:
        return 1
    dt = float(np.median(np.diff(time_s)))
    n = max(1, round(window_s / dt)) if dt > 0 else 1
    return n if n % 2 else n + 1


def kind_with_hysteresis(width: np.ndarray) -> np.ndarray:
    """``(T,)`` windowed width -> ``(T,)`` bool frontal, with the hysteresis band."""
    hi, lo = FRONTAL_WIDTH_RATIO + KIND_HYSTERESIS, FRONTAL_WIDTH_RATIO - KIND_HYSTERESIS
    finite = np.flatnonzero(np.isfinite(width))
    state = bool(finite.size and width[finite[0]] > FRONTAL_WIDTH_RATIO)
    out = np.zeros(width.shape, bool)
    for t, w in enumerate(width):
        if w > hi:
            state = True
        elif w < lo:
            state = False
        out[t] = state
    return out


def facing_with_hysteresis(cue: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(T,)`` windowed cue -> ``((T,) sign with NaN where uncertain, any_clear)``.

    present: ``(T,)`` bool, frames where the track has data (others stay NaN).
    """
    clear = np.where(cue > FACING_MARGIN, 1.0, np.where(cue < -FACING_MARGIN, -1.0, 0.0))
    idx = np.flatnonzero(clear != 0)
    sign = np.full(cue.shape, np.nan)
    if idx.size == 0:
        return sign, False
    prev = np.maximum.accumulate(np.where(clear != 0, np.arange(cue.size), -1))
    nxt = np.minimum.accumulate(np.where(clear != 0, np.arange(cue.size), cue.size)[::-1])[::-1]
    before = np.where(prev >= 0, clear[np.clip(prev, 0, None)], 0.0)
    after = np.where(nxt < cue.size, clear[np.clip(nxt, None, cue.size - 1)], 0.0)
    agreed = np.where(before == 0, after, np.where((after == 0) | (after == before), before, 0))
    sign = np.where(agreed != 0, agreed, np.nan)
    return np.where(present, sign, np.nan), True


def _view_labels(
    frontal: np.ndarray, sign: np.ndarray, conf: np.ndarray, n_win: int
) -> tuple[np.ndarray, bool]:
    """``(T,)`` view names of one track from its kind, sign and windowed confidences.

    conf: ``(T, 37)``.  Side kind: the side with the more confident limbs is nearer the
    camera; frontal kind: a more confident face than ears means ``front``.  Where the
    confidences do not differ by CONFIDENCE_MARGIN an ordinary camera is assumed (as in
    :mod:`.view`).  Returns the labels and whether any came from the body.
    """
    def m(names: list[str]) -> np.ndarray:
        return _mean([conf[:, _K[n]] for n in names])

    near = running_median(
        (m([f"left_{p}" for p in _SIDE_LIMBS]) - m([f"right_{p}" for p in _SIDE_LIMBS]))[:, None],
        n_win)[:, 0]
    face = running_median(
        (m(["nose", "left_eye", "right_eye"]) - m(["left_ear", "right_ear"]))[:, None], n_win
    )[:, 0]
    facing_left = sign < 0
    side_default = np.where(facing_left, "left_side", "right_side")
    front_default = np.where(facing_left, "front", "back")
    side = np.where(np.abs(near) >= CONFIDENCE_MARGIN,
                    np.where(near > 0, "left_side", "right_side"), side_default)
    front = np.where(np.abs(face) >= CONFIDENCE_MARGIN,
                     np.where(face > 0, "front", "back"), front_default)
    from_body = np.where(frontal, np.abs(face), np.abs(near)) >= CONFIDENCE_MARGIN
    return np.where(frontal, front, side), bool(from_body.any())


def _track(
    xy: np.ndarray, conf: np.ndarray, time_s: np.ndarray, view: str, facing: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str, str]:
    """One track: ``frontal, sign, uncertain, view (T,)`` and the two sources."""
    _check_choice("view", view, ("auto", *VIEWS))
    _check_choice("facing", facing, ("auto", *FACINGS))
    n_win = window_frames(time_s)
    width, side_cue, front_cue = (running_median(c, n_win)[:, 0] for c in frame_cues(xy[:, None]))
    present = np.isfinite(xy).any(axis=(1, 2))
    n_t = xy.shape[0]
    if view == "auto":
        frontal = kind_with_hysteresis(width)
    else:
        frontal = np.full(n_t, view not in SIDE_VIEWS)
    uncertain = np.zeros(n_t, bool)
    if facing == "auto":
        cue = np.where(frontal, front_cue, side_cue)
        sign, any_clear = facing_with_hysteresis(cue, present)
        facing_source = "body"
        if not any_clear:
            med = np.nanmedian(cue) if np.isfinite(cue).any() else np.nan
            facing_source = "body" if np.isfinite(med) and med != 0 else "default"
            sign = np.full(n_t, -1.0 if facing_source == "body" and med < 0 else 1.0)
            uncertain[:] = True
        uncertain |= np.isnan(sign)
    else:
        sign, facing_source = np.full(n_t, 1.0 if facing == "right" else -1.0), "user"
    if view == "auto":
        labels, from_body = _view_labels(frontal, sign, conf, n_win)
        view_source = "body" if from_body else "default"
    else:
        labels, view_source = np.full(n_t, view), "user"
    labels = np.where(present, labels, "")
    sign = np.where(present, sign, np.nan)
    return frontal, sign, uncertain & present, labels, view_source, facing_source


def detect_frame_orientations(
    xy: np.ndarray,
    conf: np.ndarray,
    time_s: np.ndarray,
    individuals: Sequence[str],
    view: ViewArg = "auto",
    facing: ViewArg = "auto",
) -> FrameOrientation:
    """Per-frame orientation of every track.

    xy: ``(T, N, 37, 2)`` image px (y down), NaN where missing; conf: ``(T, N, 37)``;
    time_s: ``(T,)`` s; view / facing: one value for all tracks or ``{individual: value}``
    (tracks left out are ``"auto"``).
    """
    views = _per_track(view, individuals, "view")
    facings = _per_track(facing, individuals, "facing")
    n_t, n = xy.shape[0], len(individuals)
    frontal = np.zeros((n_t, n), bool)
    sign = np.full((n_t, n), np.nan)
    uncertain = np.zeros((n_t, n), bool)
    labels = np.full((n_t, n), "", dtype=object)
    vsrc: list[str] = []
    fsrc: list[str] = []
    for j in range(n):
        f, s, u, lab, vs, fs = _track(xy[:, j], conf[:, j], time_s, views[j], facings[j])
        frontal[:, j], sign[:, j], uncertain[:, j], labels[:, j] = f, s, u, lab
        vsrc.append(vs)
        fsrc.append(fs)
    return FrameOrientation(frontal, sign, uncertain, labels.astype(str), vsrc, fsrc)


def _majority(values: np.ndarray) -> str:
    vals = [str(v) for v in values if str(v)]
    if not vals:
        return ""
    uniq, counts = np.unique(vals, return_counts=True)
    return str(uniq[int(np.argmax(counts))])


def orientation_vars(orient: FrameOrientation) -> dict[str, Any]:
    """Dataset variables of a :class:`FrameOrientation`.

    Per frame ``(time, individual)``: ``view_per_frame``, ``facing_per_frame``,
    ``motion_plane_per_frame`` (str, ``""`` where none), ``facing_sign`` (+1 / -1 / NaN)
    and ``facing_uncertain`` (bool).  Per track ``(individual,)``: ``view``, ``facing``,
    ``motion_plane`` (the most frequent per-frame value), ``view_source``,
    ``facing_source``.
    """
    facing = orient.facing
    planes = np.vectorize(lambda v: MOTION_PLANES.get(v, ""), otypes=[object])(orient.view)
    planes = planes.astype(str)
    tn = ("time", "individual")

    def per_track(a: np.ndarray) -> np.ndarray:
        return np.array([_majority(a[:, j]) for j in range(a.shape[1])], dtype=str)

    track_view = per_track(orient.view)
    return {
        "view_per_frame": (tn, orient.view, {
            "description": "left_side, right_side, front or back in this frame"}),
        "facing_per_frame": (tn, facing, {
            "description": "image direction (left/right) of positive in-plane angles in this "
                           "frame; empty where uncertain"}),
        "motion_plane_per_frame": (tn, planes, {
            "description": "flexion-extension (side views) or lateral-bending (front/back)"}),
        "facing_sign": (tn, orient.sign, {
            "units": "1", "description": "+1 positive angles toward image right, -1 toward "
                                         "image left, NaN where the facing is uncertain"}),
        "facing_uncertain": (tn, orient.uncertain, {
            "units": "1",
            "description": "the body did not say which way the athlete faces (mid-turn)"}),
        "view": ("individual", track_view, {
            "description": "the track's most frequent view (see view_per_frame)"}),
        "facing": ("individual", per_track(facing), {
            "description": "the track's most frequent facing (see facing_per_frame)"}),
        "motion_plane": ("individual", np.array([MOTION_PLANES.get(v, "") for v in track_view],
                                                dtype=str), {
            "description": "what the in-plane spine angles mostly measure"}),
        "view_source": ("individual", np.array(orient.view_source, dtype=str), {
            "description": "user, body or default"}),
        "facing_source": ("individual", np.array(orient.facing_source, dtype=str), {
            "description": "user, body or default"}),
    }
