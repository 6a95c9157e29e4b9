"""A validity flag on every frame of every track, with its reasons (pure numpy).

A frame of a track is **valid** when the track is seen in it and none of these checks
fails (:data:`QUALITY_CHECKS`):

* ``low_confidence``: a spine chain point is missing or below ``min_confidence``
  (:data:`~spinepose_sports.skeleton.MIN_KEYPOINT_CONFIDENCE` by default);
* ``implausible_angle``: a segmental angle beyond its level's anatomical limit
  (:data:`SEGMENTAL_LIMITS_DEG`);
* ``segment_length``: a spine segment's share of the chain length differs from the
  track's median share by more than a factor :data:`SEGMENT_LENGTH_FACTOR` (a point
  jumped along or off the chain);
* ``facing_uncertain``: the body did not say which way the athlete faces (mid-turn, see
  :mod:`.facing`): the in-plane angles of the frame have no sign.

Invalid frames keep their values (shown greyed, never hidden); summaries, ranges of
motion and repetitions use valid frames only and say how many they used.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import SPINE_LEVELS

QUALITY_CHECKS: tuple[str, ...] = (
    "low_confidence",
    "implausible_angle",
    "segment_length",
    "facing_uncertain",
)
#: Largest |segmental angle| (deg) accepted at each level.  Each SpinePose level spans
#: several motion segments (L5-L3, L3-T12/L1, ...) whose in-plane range is at most
#: 30-40 deg in flexion-extension; the limits are about twice that, so only impossible
#: bends (a point thrown off the chain) are flagged.  The head level (C1 -> top of head)
#: is freer.
SEGMENTAL_LIMITS_DEG: dict[str, float] = {
    "spine_01": 60.0,
    "spine_02": 60.0,
    "spine_03": 60.0,
    "spine_04": 60.0,
    "spine_05": 60.0,
    "neck": 75.0,
    "neck_02": 75.0,
    "neck_03": 90.0,
}
#: A segment whose share of the chain length is more than this factor away from the
#: track's median share (either way) is implausible.
SEGMENT_LENGTH_FACTOR = 2.0

assert tuple(SEGMENTAL_LIMITS_DEG) == SPINE_LEVELS


def _median_over_time(a: np.ndarray) -> np.ndarray:
    """NaN-ignoring median over axis 0 of ``(T, N, K)`` without warnings (NaN if empty)."""
    out = np.full(a.shape[1:], np.nan)
    ok = np.isfinite(a).any(axis=0)
    if ok.any():
        out[ok] = np.nanmedian(a[:, ok], axis=0)
    return out


def length_ratio(segment_length: np.ndarray) -> np.ndarray:
    """``(T, N, 9)`` px -> each segment's share of the chain length over its track's
    median share, ``(T, N, 9)`` (1 = typical; NaN where a length is missing)."""
    total = segment_length.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, segment_length / total, np.nan)
        return share / _median_over_time(share)[None]


def quality_flags(
    chain_ok: np.ndarray,
    present: np.ndarray,
    segmental: np.ndarray,
    segment_length: np.ndarray,
    facing_uncertain: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The checks of every frame and the resulting validity.

    chain_ok: ``(T, N, 10)`` bool, chain point present with enough confidence;
    present: ``(T, N)`` bool, the track is seen in the frame; segmental: ``(T, N, 8)`` deg;
    segment_length: ``(T, N, 9)`` px; facing_uncertain: ``(T, N)`` bool.
    Returns ``flags (T, N, C)`` bool (C = :data:`QUALITY_CHECKS`, False where the track is
    not seen) and ``valid (T, N)`` bool.
    """
    limits = np.array(list(SEGMENTAL_LIMITS_DEG.values()))
    with np.errstate(invalid="ignore"):
        wild = (np.abs(segmental) > limits).any(axis=-1)
        ratio = length_ratio(segment_length)
        bad_len = ((ratio > SEGMENT_LENGTH_FACTOR) | (ratio < 1 / SEGMENT_LENGTH_FACTOR)).any(-1)
    checks = [~chain_ok.all(axis=-1), wild, bad_len, facing_uncertain.astype(bool)]
    flags = np.stack(checks, axis=-1) & present[..., None]
    return flags, present & ~flags.any(axis=-1)


def reason_strings(flags: np.ndarray) -> np.ndarray:
    """``(..., C)`` bool -> ``(...)`` str: the failed checks joined by ``;`` (``""``)."""
    names = np.array(QUALITY_CHECKS, dtype=object)
    flat = flags.reshape(-1, flags.shape[-1])
    out = np.array([";".join(names[row]) for row in flat], dtype=object)
    return out.reshape(flags.shape[:-1]).astype(str)
