"""Repetitions and phases of cyclic movements, and the lumbopelvic rhythm.

A repetition is one prominent peak of a driving signal (default: trunk flexion) with its
rise and return.  Detection per track, on the samples of the signal (no resampling):

1. NaN gaps up to ``max_gap_s`` are bridged linearly (for detection only); longer gaps
   split the series into runs that are searched separately.
2. Peaks: :func:`scipy.signal.find_peaks` with a prominence of at least
   ``max(min_prominence_deg, min_prominence_fraction × (p95 − p5 of the signal))`` degrees
   and at least ``min_duration_s`` between peaks.  Prominence is a hysteresis in degrees:
   noise wiggles smaller than it never count as repetitions, however many there are.
3. Around each peak the lowest sample before it (back to the previous peak) and after it
   (up to the next peak) are its troughs; the repetition *starts* at the last sample
   before the peak still within ``onset_fraction`` of the rise above the first trough, and
   *ends* at the first sample after the peak back within ``onset_fraction`` of the fall
   above the second trough (so rests between repetitions are not counted in them).

Per repetition: start, peak and end times (s), duration, time to peak, the signal at the
start and at the peak ("peak flexion"), its range of motion over the repetition's window
from trough to trough (max − min), and the lumbopelvic rhythm: the change of the lumbar
angle and of the pelvis orientation ("pelvis rotation") from start to peak, their ratio,
the lumbar share of their sum, and the same share over the first and second half (in
time) of the rise.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.signal import find_peaks

#: Phase labels of the per-frame ``phase`` variable.
PHASES: tuple[str, ...] = ("none", "to_peak", "from_peak")


@dataclass(frozen=True)
class RepetitionParams:
    """How repetitions are found (see the module doc).

    signal: ``"trunk_flexion"``, ``"pelvis_tilt"``, a region (``"lumbar"``...), a joint
    (``"right_knee"``...), or ``"variable:label"`` (``"segment_angle:spine_02-spine_03"``).
    polarity: ``"max"`` when a repetition is a peak of the signal, ``"min"`` a trough.
    """

    signal: str = "trunk_flexion"
    polarity: str = "max"
    min_prominence_deg: float = 10.0
    min_prominence_fraction: float = 0.2
    min_duration_s: float = 0.3
    onset_fraction: float = 0.05
    max_gap_s: float = 0.25

    def __post_init__(self) -> None:
        if self.polarity not in ("max", "min"):
            raise ValueError(f"polarity: expected 'max' or 'min', received {self.polarity!r}")
        if not 0.0 <= self.onset_fraction < 1.0:
            raise ValueError(f"onset_fraction: expected [0, 1), received {self.onset_fraction}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Repetition:
    """Sample indices of one repetition (into the track's time axis).

    ``trough_before`` <= ``start`` <= ``peak`` <= ``end`` <= ``trough_after``: the range of
    motion is measured over the troughs, the timing between start and end.
    """

    start: int
    peak: int
    end: int
    trough_before: int
    trough_after: int


def bridge_gaps(values: np.ndarray, time_s: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly fill NaN runs of ``values (T,)`` lasting at most ``max_gap_s`` seconds.

    The duration of a gap is the time between the valid samples around it minus one
    sample step; gaps at either end are left NaN.
    """
    v = np.asarray(values, dtype=np.float64).copy()
    valid = np.flatnonzero(np.isfinite(v))
    if valid.size < 2:
        return v
    for a, b in itertools.pairwise(valid):
        if b - a > 1:
            step = (time_s[b] - time_s[a]) / (b - a)
            if time_s[b] - time_s[a] - step <= max_gap_s + 1e-12:
                idx = np.arange(a + 1, b)
                v[idx] = np.interp(time_s[idx], time_s[[a, b]], v[[a, b]])
    return v


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, stop) runs of True."""
    padded = np.concatenate([[False], valid, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _prominence_threshold(x: np.ndarray, params: RepetitionParams) -> float:
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return float(params.min_prominence_deg)
    spread = float(np.percentile(finite, 95) - np.percentile(finite, 5))
    return max(float(params.min_prominence_deg), params.min_prominence_fraction * spread)


def _bounds(x: np.ndarray, peak: int, lo: int, hi: int, frac: float) -> tuple[int, int, int, int]:
    """(trough before, start, end, trough after) of the repetition around ``peak``.

    The troughs are the lowest samples in [lo, peak] and [peak, hi).
    """
    before = x[lo : peak + 1]
    t0 = lo + int(np.argmin(before))
    level = x[t0] + frac * (x[peak] - x[t0])
    start = t0 + int(np.flatnonzero(x[t0 : peak + 1] <= level)[-1])
    after = x[peak:hi]
    t1 = peak + int(np.argmin(after))
    level = x[t1] + frac * (x[peak] - x[t1])
    end = peak + int(np.flatnonzero(x[peak : t1 + 1] <= level)[0])
    return t0, start, end, t1


def find_repetitions(
    values: np.ndarray, time_s: np.ndarray, params: RepetitionParams | None = None
) -> list[Repetition]:
    """Repetitions of one track's driving signal.

    values: ``(T,)`` deg (NaN where missing); time_s: ``(T,)`` s, increasing.
    Returns the repetitions in time order (sample indices into ``values``).
    """
    params = params or RepetitionParams()
    t = np.asarray(time_s, dtype=np.float64)
    x = bridge_gaps(values, t, params.max_gap_s)
    if params.polarity == "min":
        x = -x
    threshold = _prominence_threshold(x, params)
    dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    distance = max(1, round(params.min_duration_s / dt)) if dt > 0 else 1
    reps: list[Repetition] = []
    for a, b in _runs(np.isfinite(x)):
        if b - a < 3:
            continue
        seg = x[a:b]
        peaks, _ = find_peaks(seg, prominence=threshold, distance=distance)
        for i, p in enumerate(peaks):
            lo = peaks[i - 1] if i > 0 else 0
            hi = peaks[i + 1] + 1 if i + 1 < len(peaks) else len(seg)
            t0, start, end, t1 = _bounds(seg, int(p), int(lo), int(hi), params.onset_fraction)
            reps.append(Repetition(a + start, a + int(p), a + end, a + t0, a + t1))
    return reps


def _ratio(num: float, den: float) -> float:
    return num / den if np.isfinite(num) and np.isfinite(den) and den != 0 else float("nan")


def _share(lumbar: float, pelvis: float) -> float:
    return _ratio(lumbar, lumbar + pelvis)


def describe_repetition(
    rep: Repetition,
    time_s: np.ndarray,
    signal: np.ndarray,
    lumbar: np.ndarray,
    pelvis: np.ndarray,
) -> dict[str, float]:
    """Timing, range and lumbopelvic rhythm of one repetition (deg, s).

    signal, lumbar, pelvis: ``(T,)`` deg of the track (the driving signal, the lumbar
    regional angle, the pelvis tilt).  NaN where a value needed is missing.
    """
    s, p, e = rep.start, rep.peak, rep.end
    window = signal[rep.trough_before : rep.trough_after + 1]
    window = window[np.isfinite(window)]
    mid = int(np.argmin(np.abs(time_s[s : p + 1] - (time_s[s] + time_s[p]) / 2))) + s
    d_lumbar = float(lumbar[p] - lumbar[s])
    d_pelvis = float(pelvis[p] - pelvis[s])
    return {
        "window_start_s": float(time_s[rep.trough_before]),
        "window_end_s": float(time_s[rep.trough_after]),
        "start_s": float(time_s[s]),
        "peak_s": float(time_s[p]),
        "end_s": float(time_s[e]),
        "duration_s": float(time_s[e] - time_s[s]),
        "time_to_peak_s": float(time_s[p] - time_s[s]),
        "start_value": float(signal[s]),
        "peak_value": float(signal[p]),
        "end_value": float(signal[e]),
        "rom": float(window.max() - window.min()) if window.size else float("nan"),
        "lumbar_change": d_lumbar,
        "pelvis_rotation": d_pelvis,
        "lumbopelvic_ratio": _ratio(d_lumbar, d_pelvis),
        "lumbar_share": _share(d_lumbar, d_pelvis),
        "lumbar_share_early": _share(
            float(lumbar[mid] - lumbar[s]), float(pelvis[mid] - pelvis[s])
        ),
        "lumbar_share_late": _share(float(lumbar[p] - lumbar[mid]), float(pelvis[p] - pelvis[mid])),
    }


#: Columns of :func:`describe_repetition`, in order, with their meaning.
REPETITION_DESCRIPTIONS: dict[str, str] = {
    "window_start_s": "time of the trough before the peak",
    "window_end_s": "time of the trough after the peak",
    "start_s": "start: last sample before the peak within onset_fraction of the rise",
    "peak_s": "time of the peak",
    "end_s": "end: first sample after the peak within onset_fraction of the fall",
    "duration_s": "end - start",
    "time_to_peak_s": "peak - start",
    "start_value": "driving signal at the start",
    "peak_value": "driving signal at the peak (peak flexion for a flexion signal)",
    "end_value": "driving signal at the end",
    "rom": "range of motion: max - min of the driving signal from trough to trough",
    "lumbar_change": "lumbar regional angle at the peak minus at the start",
    "pelvis_rotation": "pelvis tilt at the peak minus at the start",
    "lumbopelvic_ratio": "lumbar_change / pelvis_rotation",
    "lumbar_share": "lumbar_change / (lumbar_change + pelvis_rotation)",
    "lumbar_share_early": "lumbar share over the first half (in time) of start -> peak",
    "lumbar_share_late": "lumbar share over the second half (in time) of start -> peak",
    "n_valid_frames": "valid frames from start to end (repetitions use valid frames only)",
}
REPETITION_COLUMNS: tuple[str, ...] = tuple(REPETITION_DESCRIPTIONS)


def phase_labels(reps: list[Repetition], n_time: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame repetition number (1-based, 0 outside) and phase label (:data:`PHASES`).

    Returns ``((T,) int32, (T,) str)``; a peak frame belongs to ``to_peak``.
    """
    number = np.zeros(n_time, np.int32)
    phase = np.full(n_time, PHASES[0], dtype=object)
    for i, rep in enumerate(reps, start=1):
        number[rep.start : rep.end + 1] = i
        phase[rep.start : rep.peak + 1] = PHASES[1]
        phase[rep.peak + 1 : rep.end + 1] = PHASES[2]
    return number, phase.astype(str)
