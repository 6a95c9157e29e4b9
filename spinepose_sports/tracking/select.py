"""Athlete selection and naming.

:func:`select_athletes` picks the tracks to analyse: by id, by a ranking (the longest, the
largest, the most central or the most moving track) or by a point clicked on a frame
(:class:`Point`: time, x, y). :func:`apply_names` gives tracks names, stored as a
non-dimension coordinate ``name`` along ``individual`` (empty string: no name), which
overlays, dashboards and exports show instead of the id. :func:`parse_selection` and
:func:`parse_names` read the command line's forms (``longest:2``, ``id:3,5``,
``point:1.5,640,360``; ``3=Anna,5=Ben``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
import xarray as xr

from ..data import append_log, individual_names, track_id_of
from ._tracks import TrackArrays, track_arrays

__all__ = [
    "RANKINGS",
    "Point",
    "apply_names",
    "names_of",
    "parse_names",
    "parse_selection",
    "restrict",
    "select_athletes",
]

RANKINGS = ("longest", "largest", "central", "moving")
NAME_COORD = "name"
MOTION_STEP_S = 0.2
Data = TypeVar("Data", xr.Dataset, xr.DataArray)


class Point(NamedTuple):
    """A point clicked on a frame: time (s) and image position (px)."""

    time_s: float
    x: float
    y: float


Selection = str | Point | Sequence[int | str]


# --------------------------------------------------------------------------------------
# Rankings
# --------------------------------------------------------------------------------------


def _moving(tr: TrackArrays) -> np.ndarray:
    """``(N,)`` path length of each track's anchor (plus its keypoints' motion around it,
    with poses), box heights, sampled every :data:`MOTION_STEP_S` s so that detection
    jitter does not grow with the frame rate."""
    step = max(1, round(MOTION_STEP_S * tr.fps))
    total = np.zeros(len(tr.ids))
    for offset in range(step):
        rows = np.arange(offset, len(tr.time), step)
        a, h = tr.anchor[rows], tr.height[rows]
        unit = np.sqrt(h[1:] * h[:-1])
        moves = [np.hypot(*np.moveaxis(np.diff(a, axis=0), -1, 0)) / unit]
        if tr.keypoints is not None:
            rel = tr.keypoints[rows] - a[:, :, None, :]
            d = np.hypot(*np.moveaxis(np.diff(rel, axis=0), -1, 0))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # frames without keypoints
                moves.append(np.nanmedian(d, axis=-1) / unit)
        for m in moves:
            total += np.nansum(m, axis=0)
    return total / step


def _scores(tr: TrackArrays, by: str) -> np.ndarray:
    """``(N,)`` score of each track for ranking ``by`` (higher is better); absent frames
    count as zero, so tracks seen longer score higher."""
    n_time = max(len(tr.time), 1)
    if by == "longest":
        return tr.valid.sum(0).astype(float)
    if by == "largest":
        frame_h = float(tr.frame_size[1]) or float(np.nanmax(tr.height, initial=1.0))
        return np.nansum(np.where(tr.valid, tr.height, 0.0), axis=0) / frame_h / n_time
    if by == "central":
        w, h = (float(v) for v in tr.frame_size)
        if w <= 0 or h <= 0:
            w, h = (float(v) for v in np.nanmax(tr.centre.reshape(-1, 2), axis=0) * 2)
        half_diag = 0.5 * float(np.hypot(w, h))
        dist = np.hypot(tr.centre[..., 0] - w / 2, tr.centre[..., 1] - h / 2) / half_diag
        return np.nansum(np.where(tr.valid, 1.0 - np.clip(dist, 0, 1), 0.0), axis=0) / n_time
    if by == "moving":
        return _moving(tr)
    raise ValueError(f"by: expected one of {RANKINGS}, a list of ids or a Point; got {by!r}")


def _by_point(tr: TrackArrays, point: Point, n: int, max_dt_s: float = 0.5) -> list[str]:
    """The ``n`` tracks whose boxes are nearest ``point`` (at the nearest time each track
    is seen, within ``max_dt_s``), nearest first; distances in half box sizes, a point
    inside the box is at most 1."""
    found = []
    for j, name in enumerate(tr.individuals):
        seen = np.flatnonzero(tr.valid[:, j])
        if not len(seen):
            continue
        t = seen[np.argmin(np.abs(tr.time[seen] - point.time_s))]
        if abs(tr.time[t] - point.time_s) > max_dt_s:
            continue
        offset = np.abs(np.array([point.x, point.y]) - tr.centre[t, j])
        dist = float(np.max(2 * offset / np.maximum(tr.size[t, j], 1e-9)))
        if dist <= 1.5:
            found.append((dist, name))
    if not found:
        raise ValueError(
            f"no track at x={point.x:.0f}, y={point.y:.0f} px near t={point.time_s:.2f} s"
        )
    return [name for _, name in sorted(found)[:n]]


def _by_ids(tr: TrackArrays, ids: Sequence[int | str]) -> list[str]:
    wanted = [str(i) if str(i).startswith("track_") else individual_names([int(i)])[0]
              for i in ids]
    missing = [w for w in wanted if w not in tr.individuals]
    if missing:
        raise ValueError(f"tracks {missing} not found; the tracks are {tr.individuals}")
    return list(dict.fromkeys(wanted))


def select_athletes(
    boxes: xr.Dataset,
    poses: xr.Dataset | None = None,
    by: Selection = "longest",
    n: int = 1,
) -> list[str]:
    """Names of the selected tracks (``["track_3", ...]``), best first.

    by: ``"longest"`` (most frames), ``"largest"`` (box height over the frame's, summed over
    the video), ``"central"`` (nearness to the frame's centre, summed over the video),
    ``"moving"`` (path length of the pelvis or box centre plus, with poses, the keypoints'
    motion around it, box heights), a list of track ids (ints or ``track_<id>`` names; all
    of them are returned, ``n`` is ignored) or a :class:`Point` ``(time_s, x, y)``: the
    track(s) whose box holds or is nearest the point. n: how many to return for rankings
    and points.
    """
    if n < 1:
        raise ValueError(f"n: expected at least 1, got {n}")
    tr = track_arrays(boxes, poses, with_keypoints=by == "moving")
    if isinstance(by, Point):
        return _by_point(tr, by, n)
    if isinstance(by, str):
        if by not in RANKINGS:
            raise ValueError(f"by: expected one of {RANKINGS}, a list of ids or a Point; "
                             f"got {by!r}")
        score = _scores(tr, by)
        order = sorted(range(len(tr.ids)), key=lambda j: (-score[j], -tr.valid[:, j].sum(), j))
        return [tr.individuals[j] for j in order[:n] if tr.valid[:, j].any()]
    return _by_ids(tr, list(by))


def restrict(data: Data, individuals: Sequence[str], *, log: bool = True) -> Data:
    """``data`` with only ``individuals`` (in that order); recorded in ``attrs["log"]``."""
    out = data.sel(individual=list(individuals))
    if log and isinstance(out, xr.Dataset):
        out = append_log(out, "select_athletes", individuals=list(individuals))
    return out


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------


def apply_names(data: Data, names: Mapping[int, str] | Mapping[str, str]) -> Data:
    """``data`` with a ``name`` coordinate along ``individual``: ``names`` maps track ids
    (or ``track_<id>``) to display names; other tracks keep their current name or ``""``.

    Ids not in ``data`` raise ValueError (a typo should not pass silently).
    """
    present = [str(i) for i in data["individual"].values]
    by_name = {str(k) if str(k).startswith("track_") else individual_names([int(k)])[0]: str(v)
               for k, v in names.items()}
    unknown = sorted(set(by_name) - set(present))
    if unknown:
        raise ValueError(f"names for tracks {unknown} not in the data; tracks: {present}")
    current = names_of(data)
    values = [by_name.get(i, current.get(track_id_of(i), "")) for i in present]
    out = data.assign_coords({NAME_COORD: ("individual", np.array(values, dtype=str))})
    if isinstance(out, xr.Dataset):
        out = append_log(out, "apply_names", names={k: v for k, v in by_name.items()})
    return out


def names_of(data: xr.Dataset | xr.DataArray) -> dict[int, str]:
    """Track id -> display name, for the tracks that have a non-empty ``name``."""
    if NAME_COORD not in data.coords:
        return {}
    return {track_id_of(i): str(v)
            for i, v in zip(data["individual"].values, data[NAME_COORD].values, strict=True)
            if str(v)}


# --------------------------------------------------------------------------------------
# Command-line forms
# --------------------------------------------------------------------------------------


def parse_selection(spec: str) -> tuple[Selection, int]:
    """``"longest"``, ``"moving:2"``, ``"id:3,5"`` (or ``"3,5"``), ``"point:1.5,640,360"``
    (time s, x px, y px) -> (``by``, ``n``) for :func:`select_athletes`."""
    text = spec.strip()
    kind, _, arg = text.partition(":")
    kind = kind.strip().lower()
    try:
        if kind in RANKINGS:
            return kind, int(arg) if arg.strip() else 1
        if kind in ("id", "ids"):
            return [int(v) for v in arg.split(",") if v.strip()], 1
        if kind == "point":
            t, x, y = (float(v) for v in arg.split(","))
            return Point(t, x, y), 1
        if not arg and all(v.strip().isdigit() for v in kind.split(",")):
            return [int(v) for v in kind.split(",")], 1
    except ValueError as exc:
        raise ValueError(f"athletes {spec!r}: {exc}") from exc
    raise ValueError(
        f"athletes {spec!r}: expected one of {', '.join(f'{r}[:N]' for r in RANKINGS)}, "
        "id:3,5 or point:TIME_S,X,Y"
    )


def parse_names(spec: str | None) -> dict[int, str]:
    """``"3=Anna,5=Ben"`` -> ``{3: "Anna", 5: "Ben"}``; ids may be written ``3``, ``#3``
    or ``track_3``.  ValueError when malformed."""
    out: dict[int, str] = {}
    for item in (s for s in (spec or "").split(",") if s.strip()):
        key, sep, value = item.partition("=")
        track = key.strip().removeprefix("track_").removeprefix("#")
        if not sep or not track.isdigit() or not value.strip():
            raise ValueError(f"names {spec!r}: expected ID=NAME pairs such as 3=Anna,5=Ben")
        out[int(track)] = value.strip()
    return out


def describe_selection(by: Selection, n: int) -> Any:
    """JSON-serialisable form of a selection (for ``run.json``)."""
    if isinstance(by, Point):
        return {"point": {"time_s": by.time_s, "x": by.x, "y": by.y}, "n": n}
    if isinstance(by, str):
        return {"by": by, "n": n}
    return {"ids": [str(i) for i in by]}
