"""Sessions side by side: range of motion and peaks per repetition, time-normalised curves.

A *session* is one athlete in one results folder (a video of `spinepose-sports analyze`):
today and last month, before and after, two athletes.  This module reads the saved
kinematics and computes what the comparison shows; :mod:`spinepose_sports.plots.compare`
draws it (``compare.html``).  Pure analysis: no model runs, nothing is written here.

Per repetition (the rows of ``repetitions.csv`` of the athlete; a session without
repetitions counts its whole track as one, numbered 0), over the movement from its
``start_s`` to its ``end_s`` (rests excluded, as in ``repetitions.csv``):

* ``rom``: largest minus smallest angle, deg;
* ``peak``: largest angle (flexion / bending to the right is positive), deg;

for the trunk (``trunk_flexion``), the pelvis (``pelvis_tilt``), the three regions
(``regional_angle``) and the 8 vertebral levels (``segmental_angle``).  Note that
``repetitions.csv`` gives the ROM of the driving signal from trough to trough (its
``rom`` column), a slightly longer window than the one used here.

Time-normalised curves: each repetition's angle from its start (0 %) to its end (100 %),
resampled at ``n_points`` evenly spaced instants by linear interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .data import track_id_of
from .kinematics.spine import REGIONS
from .skeleton import SPINE_LEVELS

#: The regional quantities compared: name -> (kinematics variable, region or None).
REGION_QUANTITIES: dict[str, tuple[str, str | None]] = {
    "trunk": ("trunk_flexion", None),
    "pelvis": ("pelvis_tilt", None),
    **{r: ("regional_angle", r) for r in REGIONS},
}
#: Samples of a time-normalised repetition curve (0, 1, ..., 100 %).
N_POINTS = 101
#: A repetition needs this many finite samples to be resampled.
MIN_SAMPLES = 3
#: Tolerance on the repetition times read from ``repetitions.csv`` (written to 0.1 ms), s.
TIME_TOLERANCE_S = 1e-3


@dataclass(frozen=True)
class Session:
    """One athlete of one results folder.

    label: the name shown in the comparison; folder: the results folder; individual: the
    athlete (``track_3``); kinematics: the folder's kinematics dataset (every track);
    repetitions: this athlete's rows of ``repetitions.csv`` (maybe empty).
    """

    label: str
    folder: Path
    individual: str
    kinematics: xr.Dataset
    repetitions: pd.DataFrame

    @property
    def time_s(self) -> np.ndarray:
        """``(T,)`` frame times, s."""
        return np.asarray(self.kinematics["time"].values, dtype=np.float64)

    def series(self, name: str) -> np.ndarray:
        """``(T,)`` deg: a regional quantity (:data:`REGION_QUANTITIES`) or a vertebral
        level (``spine_01`` ... ``neck_03``, its segmental angle) of the athlete; NaN on
        frames that fail the kinematics quality checks (``valid``)."""
        kin = self.kinematics
        if name in REGION_QUANTITIES:
            var, region = REGION_QUANTITIES[name]
            da = kin[var].sel(individual=self.individual)
            if region is not None:
                da = da.sel(region=region)
        elif name in SPINE_LEVELS:
            da = kin["segmental_angle"].sel(individual=self.individual, level=name)
        else:
            known = [*REGION_QUANTITIES, *SPINE_LEVELS]
            raise ValueError(f"unknown quantity {name!r}; expected one of {known}")
        values = np.asarray(da.values, dtype=np.float64).copy()
        if "valid" in kin:
            values[~kin["valid"].sel(individual=self.individual).values.astype(bool)] = np.nan
        return values

    def windows(self) -> list[tuple[int, float, float]]:
        """``(number, start s, end s)`` of each repetition; the whole track as number 0
        when there is none."""
        reps = self.repetitions
        out = [
            (int(r["number"]), float(r["start_s"]), float(r["end_s"]))
            for _, r in reps.iterrows()
            if np.isfinite(r["start_s"]) and np.isfinite(r["end_s"])
        ]
        if out:
            return out
        t = self.time_s
        return [(0, float(t[0]), float(t[-1]))] if t.size else []


def choose_individual(kin: xr.Dataset, athlete: str | int | None = None) -> str:
    """The athlete to compare: ``athlete`` (``track_3``, ``3``, or a name given with
    ``--names``), else the track with the most frames with a trunk angle.

    Raises:
        ValueError: no such athlete, or no track has a trunk angle.
    """
    individuals = [str(i) for i in kin["individual"].values]
    if athlete is None:
        counts = np.isfinite(kin["trunk_flexion"].transpose("individual", "time").values).sum(1)
        if not individuals or counts.max() == 0:
            raise ValueError("no track has a valid trunk angle")
        best = max(zip(counts, individuals, strict=True), key=lambda c: (c[0], -track_id_of(c[1])))
        return best[1]
    text = str(athlete).strip()
    if text in individuals:
        return text
    if text.isdigit() and f"track_{int(text)}" in individuals:
        return f"track_{int(text)}"
    if "name" in kin.coords:
        for ind, name in zip(individuals, kin["name"].values, strict=True):
            if str(name) == text:
                return ind
    raise ValueError(f"no athlete {text!r}; the tracks are {', '.join(individuals)}")


def load_session(
    folder: str | Path, athlete: str | int | None = None, label: str | None = None
) -> Session:
    """Read one athlete of a results folder (its kinematics are computed from the poses
    when ``kinematics.nc`` is missing).  label: default ``<folder name> <athlete>``."""
    from .report import load_results

    results = load_results(folder)
    kin = results.kinematics
    if kin is None:
        from .kinematics import compute_kinematics, repetitions_table

        kin = compute_kinematics(results.poses)
        results.repetitions = repetitions_table(kin)
    individual = choose_individual(kin, athlete)
    reps = results.repetitions
    track = track_id_of(individual)
    mine = (
        reps[reps["track"] == track].reset_index(drop=True)
        if reps is not None and not reps.empty
        else pd.DataFrame(columns=["track", "number", "start_s", "end_s"])
    )
    shown = label or f"{results.folder.name} {individual}"
    return Session(shown, results.folder, individual, kin, mine)


def load_sessions(
    folders: Sequence[str | Path],
    athletes: Sequence[str | int | None] | None = None,
    labels: Sequence[str] | None = None,
) -> list[Session]:
    """One session per folder; ``athletes``: one for every folder, or one per folder;
    ``labels``: one per folder.  Labels shared by two sessions get ``#2``, ``#3`` ..."""
    n = len(folders)
    picks = list(athletes or [None])
    if len(picks) == 1:
        picks *= n
    if len(picks) != n:
        raise ValueError(f"{len(picks)} athletes for {n} results folders: give 1 or {n}")
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} results folders")
    sessions = [
        load_session(f, a, labels[i] if labels else None)
        for i, (f, a) in enumerate(zip(folders, picks, strict=True))
    ]
    seen: dict[str, int] = {}
    out = []
    for s in sessions:
        seen[s.label] = seen.get(s.label, 0) + 1
        label = s.label if seen[s.label] == 1 else f"{s.label} #{seen[s.label]}"
        out.append(Session(label, s.folder, s.individual, s.kinematics, s.repetitions))
    return out


def _window(time_s: np.ndarray, start_s: float, end_s: float) -> slice:
    i0, i1 = np.searchsorted(time_s, [start_s - TIME_TOLERANCE_S, end_s + TIME_TOLERANCE_S])
    return slice(int(i0), int(max(i1, i0)))


def repetition_metrics(sessions: Sequence[Session]) -> pd.DataFrame:
    """ROM and peak per session, quantity and repetition.

    Columns: ``session, part`` (``region`` or ``level``), ``label`` (``trunk``,
    ``lumbar`` ..., ``spine_01`` ...), ``repetition`` (number; 0 = the whole track),
    ``start_s, end_s``, ``rom``, ``peak`` (deg; NaN without a finite sample).
    """
    rows = []
    names = [("region", n) for n in REGION_QUANTITIES] + [("level", v) for v in SPINE_LEVELS]
    for s in sessions:
        t = s.time_s
        for part, name in names:
            values = s.series(name)
            for number, start, end in s.windows():
                w = values[_window(t, start, end)]
                w = w[np.isfinite(w)]
                rom = float(w.max() - w.min()) if w.size else np.nan
                peak = float(w.max()) if w.size else np.nan
                rows.append({"session": s.label, "part": part, "label": name,
                             "repetition": number, "start_s": start, "end_s": end,
                             "rom": rom, "peak": peak})
    return pd.DataFrame(rows, columns=["session", "part", "label", "repetition", "start_s",
                                       "end_s", "rom", "peak"])


def metrics_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over the repetitions of :func:`repetition_metrics`.

    Columns: ``session, part, label, n`` (repetitions with a value), ``rom_mean,
    rom_sd, peak_mean, peak_sd`` (deg; the sd is the sample sd, NaN for one repetition).
    Rows keep the order of ``metrics``.
    """
    keys = ["session", "part", "label"]
    grouped = metrics.groupby(keys, sort=False)
    out = grouped.agg(
        n=("rom", "count"), rom_mean=("rom", "mean"), rom_sd=("rom", "std"),
        peak_mean=("peak", "mean"), peak_sd=("peak", "std"),
    )
    return out.reset_index()


def normalised_repetitions(
    session: Session, name: str, n_points: int = N_POINTS
) -> xr.DataArray:
    """The repetitions of one quantity, each resampled from its start (0 %) to its end
    (100 %): ``(repetition, percent)`` deg.  A repetition with fewer than
    :data:`MIN_SAMPLES` finite samples is all NaN; gaps inside one are interpolated."""
    t = session.time_s
    values = session.series(name)
    percent = np.linspace(0.0, 100.0, n_points)
    windows = session.windows()
    curves = np.full((len(windows), n_points), np.nan)
    for k, (_, start, end) in enumerate(windows):
        sl = _window(t, start, end)
        tw, vw = t[sl], values[sl]
        ok = np.isfinite(vw)
        if ok.sum() < MIN_SAMPLES or end <= start:
            continue
        t0, t1 = tw[0], tw[-1]  # the frames at the start and end (times as saved)
        curves[k] = np.interp(t0 + percent / 100.0 * (t1 - t0), tw[ok], vw[ok])
    return xr.DataArray(
        curves,
        dims=("repetition", "percent"),
        coords={"repetition": [w[0] for w in windows], "percent": percent},
        name=name,
        attrs={"units": "deg", "session": session.label,
               "long_name": f"{name} angle over the repetition (0-100 % of start to end)"},
    )


__all__ = [
    "N_POINTS",
    "REGION_QUANTITIES",
    "Session",
    "choose_individual",
    "load_session",
    "load_sessions",
    "metrics_summary",
    "normalised_repetitions",
    "repetition_metrics",
]
