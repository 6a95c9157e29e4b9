"""Offline track stitching: join the fragments of one person's track into one id.

An online tracker cuts a person's track when they turn, crouch, flip or pass behind
someone. Since the whole video is known, the fragments can be joined afterwards:

1. *Fill*: a short fragment that lies wholly inside a hole of a longer track, and that the
   track's motion leads into and out of, is put into that hole.
2. *Link*: each fragment's end is linked to at most one later fragment's start, chosen by
   one global assignment (Hungarian, with a "no link" option at ``max_cost``) over the
   gated candidates. A candidate must start after the end, within ``max_gap_s``, where
   the motion of both fragments (constant velocity fitted over ``window_s``, at most
   ``max_speed`` box heights per second) extrapolates within a tolerance that grows with
   the gap, with a similar size and, where descriptors are given, a similar torso colour.

Two fragments seen at the same time are never joined, with one bounded exception: a
*handover*, where the old fragment's last frames overlap the new one's first frames for at
most ``max_overlap_s`` while their boxes lie one inside the other (the tracker held on
to a box that swallowed the person while a new id started on them). In the overlap, the
observation nearer the path between the two fragments is kept and the other one is listed
in :attr:`StitchResult.dropped`; a joined track never holds two observations at one time.

All parameters are in seconds and box heights, so results do not depend on the frame
rate or the resolution.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from ..skeleton import MIN_KEYPOINT_CONFIDENCE
from ._tracks import TrackArrays, appearance_matrix, track_arrays
from .mapping import apply_mapping

__all__ = ["StitchParams", "StitchResult", "stitch_tracks"]

BIG = 1e9
Data = TypeVar("Data", xr.Dataset, xr.DataArray)


@dataclass(frozen=True)
class StitchParams:
    """Settings of :func:`stitch_tracks`; physical units (s, box heights), never frames or px.

    max_gap_s: longest time a person may go unseen between two fragments, s.
    max_overlap_s: longest handover overlap (from the new fragment's first observation to
        the old one's last) of two fragments that may still be joined, s; 0 forbids any.
    min_containment: in a handover, the intersection of the two boxes over the smaller
        box's area, at every overlapping frame.
    window_s: time at each end of a fragment used to fit its position, velocity, size and
        appearance, s.
    max_speed: fastest image motion of a person, box heights per second.
    position_tolerance: allowed miss of the extrapolated position at a gap of 0, box heights.
    tolerance_rate: growth of that tolerance with the gap, box heights per second.
    max_extrapolation_s: velocities are extrapolated over at most this time, s.
    max_scale_ratio: largest ratio of the box scales (square root of the area) at the
        two ends.
    min_appearance: smallest torso-colour similarity (cosine, 0 to 1) of a link where both
        ends have descriptors.
    motion_weight, appearance_weight, scale_weight, gap_weight: weights of the normalised
        costs (each 0 to 1 for a gated candidate) in a link's cost.
    max_cost: links whose weighted mean cost reaches this are not made.
    min_keypoint_score: keypoints at least this confident may anchor the body (pelvis).
    """

    max_gap_s: float = 1.5
    max_overlap_s: float = 0.2
    min_containment: float = 0.6
    window_s: float = 0.5
    max_speed: float = 4.0
    position_tolerance: float = 0.5
    tolerance_rate: float = 1.0
    max_extrapolation_s: float = 1.0
    max_scale_ratio: float = 1.8
    min_appearance: float = 0.75
    motion_weight: float = 1.0
    appearance_weight: float = 1.0
    scale_weight: float = 0.5
    gap_weight: float = 0.5
    max_cost: float = 1.0
    min_keypoint_score: float = MIN_KEYPOINT_CONFIDENCE

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"StitchParams.{name}: expected a finite value >= 0, got {value}")
        if self.max_scale_ratio < 1:
            raise ValueError(
                f"StitchParams.max_scale_ratio: expected >= 1, got {self.max_scale_ratio}"
            )

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass
class StitchResult:
    """What :func:`stitch_tracks` decided.

    mapping: every old track id -> its new id (the id of the earliest fragment of its
    person; unchanged ids map to themselves). dropped: old track id -> frame indices of
    handover observations to drop before merging. links: one record per join (kind
    ``fill``/``link``/``handover``, from, to, gap_s, cost and its parts).
    """

    mapping: dict[int, int]
    dropped: dict[int, list[int]] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    params: StitchParams = field(default_factory=StitchParams)

    @property
    def n_before(self) -> int:
        return len(self.mapping)

    @property
    def n_after(self) -> int:
        return len(set(self.mapping.values()))

    def apply(self, data: Data) -> Data:
        """:func:`apply_mapping` with this result's mapping and dropped observations."""
        return apply_mapping(data, self.mapping, dropped=self.dropped,
                             params=self.params.to_dict())

    def report(self) -> dict[str, Any]:
        """JSON-serialisable summary for ``run.json``."""
        return {
            "tracks_before": self.n_before,
            "tracks_after": self.n_after,
            "mapping": {str(k): v for k, v in sorted(self.mapping.items())},
            "dropped_observations": {str(k): v for k, v in sorted(self.dropped.items())},
            "links": self.links,
            "params": self.params.to_dict(),
        }


# --------------------------------------------------------------------------------------
# End states: where a fragment is, how it moves, its size and colour, at one of its ends
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """One end of a fragment. t: s; p, v: ``(2,)`` px, px/s; height: px; scale:
    sqrt(box area), px; app: ``(D,)`` unit descriptor or None; fit: v was fitted;
    border: a box of the window touches the frame's edge (its size is cut off)."""

    t: float
    p: np.ndarray
    v: np.ndarray
    height: float
    scale: float
    app: np.ndarray | None
    fit: bool
    border: bool = False


def _state(
    tr: TrackArrays, app: np.ndarray | None, col: int, idx: np.ndarray, at_end: bool,
    params: StitchParams,
) -> _State:
    """The state of column ``col`` at the last (``at_end``) or first of the time indices
    ``idx`` (sorted, all valid), fitted over ``window_s``."""
    t = tr.time[idx]
    t_ref = float(t[-1] if at_end else t[0])
    sel = idx[(t >= t_ref - params.window_s) if at_end else (t <= t_ref + params.window_s)]
    ts, ps = tr.time[sel] - t_ref, tr.anchor[sel, col]
    height = float(np.median(tr.height[sel, col]))
    scale = float(np.median(np.sqrt(np.prod(tr.size[sel, col], axis=-1))))
    fit = len(sel) >= 3 and float(np.ptp(ts)) >= 0.5 * params.window_s
    if fit:
        coef = np.polyfit(ts, ps, 1)  # (2, 2): slope, intercept per coordinate
        v, p = coef[0], coef[1]
        speed = float(np.hypot(*v))
        v_max = params.max_speed * height
        if speed > v_max:
            v = v * (v_max / speed)
    else:
        v, p = np.zeros(2), ps[-1 if at_end else 0].astype(float)
    desc = None
    if app is not None:
        rows = app[sel, col]
        rows = rows[np.isfinite(rows).all(-1)]
        if len(rows):
            mean = rows.mean(0)
            desc = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return _State(t_ref, np.asarray(p, float), np.asarray(v, float), height, scale, desc, fit,
                  _touches_border(tr, sel, col))


def _touches_border(tr: TrackArrays, sel: np.ndarray, col: int, margin: float = 0.01) -> bool:
    """True when a box of column ``col`` at time indices ``sel`` lies within ``margin``
    (fraction of the frame size) of the frame's edge."""
    width, height = tr.frame_size
    if width <= 0 or height <= 0:
        return False
    frame = np.array([width, height], float)
    lo = tr.centre[sel, col] - tr.size[sel, col] / 2
    hi = tr.centre[sel, col] + tr.size[sel, col] / 2
    return bool(np.any(lo <= margin * frame) or np.any(hi >= (1 - margin) * frame))


def _link_cost(
    end: _State, start: _State, params: StitchParams
) -> tuple[float, dict[str, float]] | None:
    """Cost in [0, 1] of ``end`` continuing as ``start``, with its parts; None if refused."""
    gap = start.t - end.t
    if gap <= 0 or gap > params.max_gap_s + 1e-9:
        return None
    cut = end.border or start.border  # a box cut by the frame's edge: its size says little
    ratio = float(np.exp(abs(np.log(max(start.scale, 1e-9) / max(end.scale, 1e-9)))))
    if ratio > params.max_scale_ratio and not cut:
        return None
    unit = (max(end.height, start.height) if cut
            else float(np.sqrt(max(end.height, 1e-9) * max(start.height, 1e-9))))
    disp = float(np.hypot(*(start.p - end.p))) / unit
    if disp > params.position_tolerance + params.max_speed * gap:
        return None
    te = min(gap, params.max_extrapolation_s)
    errs = []
    if end.fit:
        errs.append(float(np.hypot(*(end.p + end.v * te - start.p))))
    if start.fit:
        errs.append(float(np.hypot(*(start.p - start.v * te - end.p))))
    err = float(np.mean(errs)) / unit if errs else disp
    tol = params.position_tolerance + params.tolerance_rate * gap
    if err > tol:
        return None
    parts = {"motion": err / tol, "gap": gap / params.max_gap_s if params.max_gap_s > 0 else 0.0}
    weights = {"motion": params.motion_weight, "gap": params.gap_weight}
    if not cut and params.max_scale_ratio > 1:
        parts["scale"] = float(np.log(ratio) / np.log(params.max_scale_ratio))
        weights["scale"] = params.scale_weight
    if end.app is not None and start.app is not None:
        sim = float(np.clip(np.dot(end.app, start.app), 0.0, 1.0))
        if sim < params.min_appearance:
            return None
        parts["appearance"] = (1.0 - sim) / max(1.0 - params.min_appearance, 1e-9)
        parts["similarity"] = sim
        weights["appearance"] = params.appearance_weight
    total = sum(weights.values())
    cost = sum(weights[k] * parts[k] for k in weights) / total if total > 0 else 0.0
    parts.update(gap_s=gap, error=err, displacement=disp)
    return cost, parts


# --------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------


def _valid_indices(tr: TrackArrays) -> list[np.ndarray]:
    return [np.flatnonzero(tr.valid[:, j]) for j in range(len(tr.ids))]


def _fill_candidates(
    tr: TrackArrays, app: np.ndarray | None, params: StitchParams
) -> list[tuple[float, int, int, dict[str, Any]]]:
    """(cost, host column, fill column, parts) for fragments that fit a hole of a track."""
    idx = _valid_indices(tr)
    out = []
    for a, ia in enumerate(idx):
        for b, ib in enumerate(idx):
            if a == b or len(ia) < 2 or not len(ib) or not ia[0] < ib[0] <= ib[-1] < ia[-1]:
                continue
            if np.any((ia >= ib[0]) & (ia <= ib[-1])):
                continue  # a is seen while b is: not a hole
            pre, post = ia[ia < ib[0]], ia[ia > ib[-1]]
            into = _link_cost(
                _state(tr, app, a, pre, True, params), _state(tr, app, b, ib, False, params),
                params,
            )
            if into is None:
                continue
            out_of = _link_cost(
                _state(tr, app, b, ib, True, params), _state(tr, app, a, post, False, params),
                params,
            )
            if out_of is None:
                continue
            cost = 0.5 * (into[0] + out_of[0])
            if cost < params.max_cost:
                out.append((cost, a, b, {"into": into[1], "out_of": out_of[1]}))
    return sorted(out, key=lambda c: c[0])


def _containment(tr: TrackArrays, t: int, a: int, b: int) -> float:
    """Intersection of the boxes of columns a and b at time index t over the smaller area."""
    lo_a, hi_a = tr.centre[t, a] - tr.size[t, a] / 2, tr.centre[t, a] + tr.size[t, a] / 2
    lo_b, hi_b = tr.centre[t, b] - tr.size[t, b] / 2, tr.centre[t, b] + tr.size[t, b] / 2
    inter = np.clip(np.minimum(hi_a, hi_b) - np.maximum(lo_a, lo_b), 0, None).prod()
    smaller = min(tr.size[t, a].prod(), tr.size[t, b].prod())
    return float(inter / smaller) if smaller > 0 else 0.0


def _split_handover(
    tr: TrackArrays, ia: np.ndarray, ib: np.ndarray, a: int, b: int, params: StitchParams
) -> tuple[np.ndarray, np.ndarray] | None:
    """For a ending after b starts: a's samples before b and b's after a, if the overlap is
    a handover (short, boxes inside each other); else None."""
    if params.max_overlap_s <= 0:
        return None
    span = tr.time[ia[-1]] - tr.time[ib[0]]  # from b's first to a's last observation
    if span > params.max_overlap_s + 1e-9:
        return None
    common = np.intersect1d(ia[ia >= ib[0]], ib[ib <= ia[-1]])
    if any(_containment(tr, int(t), a, b) < params.min_containment for t in common):
        return None
    pre, post = ia[ia < ib[0]], ib[ib > ia[-1]]
    return (pre, post) if len(pre) and len(post) else None


def _link_matrix(
    tr: TrackArrays, app: np.ndarray | None, params: StitchParams
) -> tuple[np.ndarray, dict[tuple[int, int], dict[str, Any]]]:
    """``(N, N)`` cost of end i -> start j (BIG where refused) and the parts of each.

    Only pairs whose times allow a link are evaluated; the end and start states of whole
    fragments are computed once (handovers fit theirs on the non-overlapping parts)."""
    idx = _valid_indices(tr)
    n = len(idx)
    cost = np.full((n, n), BIG)
    parts: dict[tuple[int, int], dict[str, Any]] = {}
    live = [j for j in range(n) if len(idx[j])]
    first = {j: tr.time[idx[j][0]] for j in live}
    last = {j: tr.time[idx[j][-1]] for j in live}
    ends: dict[int, _State] = {}
    starts: dict[int, _State] = {}
    for a in live:
        for b in live:
            ia, ib = idx[a], idx[b]
            if a == b or ib[0] <= ia[0] or ib[-1] <= ia[-1]:
                continue
            if not -params.max_overlap_s - 1e-9 <= first[b] - last[a] <= params.max_gap_s + 1e-9:
                continue
            handover = first[b] <= last[a]
            if handover:
                split = _split_handover(tr, ia, ib, a, b, params)
                if split is None:
                    continue
                pre, post = split
                if tr.time[post[0]] - tr.time[pre[-1]] > params.max_gap_s + 1e-9:
                    continue
                end = _state(tr, app, a, pre, True, params)
                start = _state(tr, app, b, post, False, params)
            else:
                if a not in ends:
                    ends[a] = _state(tr, app, a, ia, True, params)
                if b not in starts:
                    starts[b] = _state(tr, app, b, ib, False, params)
                end, start = ends[a], starts[b]
            found = _link_cost(end, start, params)
            if found is not None and found[0] < params.max_cost:
                cost[a, b] = found[0]
                parts[(a, b)] = {**found[1], "handover": bool(handover)}
                if handover:
                    parts[(a, b)]["overlap_s"] = float(last[a] - first[b])
    return cost, parts


def _assign(cost: np.ndarray, max_cost: float) -> list[tuple[int, int]]:
    """One-to-one end -> start links minimising the total cost, where leaving an end or a
    start unlinked costs ``max_cost / 2`` each (so a link is made only below ``max_cost``)."""
    from scipy.optimize import linear_sum_assignment

    n = cost.shape[0]
    if n == 0 or not np.any(cost < BIG):
        return []
    big = np.full((2 * n, 2 * n), BIG)
    big[:n, :n] = cost
    no_link = np.full((n, n), BIG)
    np.fill_diagonal(no_link, max_cost / 2)
    big[:n, n:] = no_link
    big[n:, :n] = no_link
    big[n:, n:] = 0.0
    rows, cols = linear_sum_assignment(big)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)
            if r < n and c < n and cost[r, c] < max_cost]


def _chains(n: int, links: list[tuple[int, int]]) -> list[list[int]]:
    nxt = dict(links)
    heads = sorted(set(range(n)) - set(nxt.values()))
    chains = []
    for h in heads:
        chain = [h]
        while chain[-1] in nxt:
            chain.append(nxt[chain[-1]])
        chains.append(chain)
    return chains


def _break_conflicts(
    tr: TrackArrays, links: list[tuple[int, int]], cost: np.ndarray
) -> list[tuple[int, int]]:
    """Drop the costliest link of any chain whose non-neighbouring members overlap in time."""
    links = list(links)
    while True:
        idx = _valid_indices(tr)
        bad = None
        for chain in _chains(len(tr.ids), links):
            for i in range(len(chain)):
                for j in range(i + 2, len(chain)):
                    if idx[chain[j]][0] <= idx[chain[i]][-1]:
                        bad = chain[i : j + 1]
                        break
                if bad:
                    break
            if bad:
                break
        if bad is None:
            return links
        worst = max(itertools.pairwise(bad), key=lambda ab: cost[ab])
        links.remove(worst)


def _accept_fills(
    tr: TrackArrays, app: np.ndarray | None, params: StitchParams
) -> list[tuple[int, int, float, dict[str, Any]]]:
    """Greedy, cheapest first: each fragment fills at most one hole; hosts are not fills;
    fills of one host never share a frame."""
    accepted: list[tuple[int, int, float, dict[str, Any]]] = []
    fills: set[int] = set()
    hosts: dict[int, np.ndarray] = {}
    for cost, a, b, parts in _fill_candidates(tr, app, params):
        if b in fills or b in hosts or a in fills:
            continue
        occupied = hosts.get(a, np.zeros(len(tr.time), bool))
        if np.any(occupied & tr.valid[:, b]):
            continue
        hosts[a] = occupied | tr.valid[:, b]
        fills.add(b)
        accepted.append((a, b, cost, parts))
    return accepted


def _handover_drops(
    tr: TrackArrays, a: int, b: int
) -> list[tuple[int, int]]:
    """(column, time index) of the observations to drop where a and b overlap: at each
    common frame, the box farther from the straight path between a's last own box and b's
    first own box."""
    ia, ib = np.flatnonzero(tr.valid[:, a]), np.flatnonzero(tr.valid[:, b])
    last_a, first_b = ia[ia < ib[0]][-1], ib[ib > ia[-1]][0]
    t0, t1 = tr.time[last_a], tr.time[first_b]
    drops = []
    for t in np.intersect1d(ia, ib):
        w = (tr.time[t] - t0) / (t1 - t0)
        ref_c = (1 - w) * tr.centre[last_a, a] + w * tr.centre[first_b, b]
        ref_s = (1 - w) * tr.size[last_a, a] + w * tr.size[first_b, b]
        dist = [np.abs(tr.centre[t, c] - ref_c).sum() + np.abs(tr.size[t, c] - ref_s).sum()
                for c in (a, b)]
        drops.append((a if dist[0] > dist[1] else b, int(t)))
    return drops


def _record(kind: str, src: int, dst: int, cost: float, parts: Mapping[str, Any]) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {k: clean(x) for k, x in v.items()}
        return round(float(v), 4) if isinstance(v, (float, np.floating)) else v

    return {"kind": kind, "from": int(src), "to": int(dst), "cost": round(float(cost), 4),
            **{k: clean(v) for k, v in parts.items()}}


def stitch_tracks(
    boxes: xr.Dataset,
    poses: xr.Dataset | None = None,
    appearance: xr.DataArray | None = None,
    params: StitchParams | None = None,
) -> StitchResult:
    """Decide which track fragments belong to one person (nothing is changed yet).

    boxes: a boxes dataset (``position``/``shape (time, space, individual)``, px); poses:
    the matching poses dataset or None (its confident pelvis anchors the motion); appearance:
    ``(time, feature, individual)`` descriptors from :class:`AppearanceCollector` or None.
    Returns a :class:`StitchResult`; apply it with ``result.apply(ds)`` to boxes, poses and
    appearance alike.
    """
    params = params or StitchParams()
    tr0 = track_arrays(boxes, poses, params.min_keypoint_score)
    app0 = appearance_matrix(appearance, tr0.individuals)
    ids0 = [int(i) for i in tr0.ids]
    mapping = {i: i for i in ids0}
    records: list[dict[str, Any]] = []
    fills = _accept_fills(tr0, app0, params)
    for a, b, cost, parts in fills:
        mapping[ids0[b]] = ids0[a]
        records.append(_record("fill", ids0[a], ids0[b], cost, parts))
    tr1, app1 = tr0, app0
    if fills:
        merged = apply_mapping(boxes, mapping, log=False)
        tr1 = track_arrays(
            merged,
            None if poses is None else apply_mapping(poses, mapping, log=False),
            params.min_keypoint_score,
        )
        app1 = None if appearance is None else appearance_matrix(
            apply_mapping(appearance, mapping, log=False), tr1.individuals
        )
    costs, link_parts = _link_matrix(tr1, app1, params)
    links = _break_conflicts(tr1, _assign(costs, params.max_cost), costs)
    ids1 = [int(i) for i in tr1.ids]
    head = {ids1[m]: ids1[chain[0]] for chain in _chains(len(ids1), links) for m in chain}
    dropped: dict[int, list[int]] = {}
    for a, b in sorted(links, key=lambda ab: tr1.time[tr1.valid[:, ab[1]]][0]):
        info = link_parts[(a, b)]
        records.append(_record("handover" if info["handover"] else "link",
                               ids1[a], ids1[b], costs[a, b], info))
        if info["handover"]:
            for col, t in _handover_drops(tr1, a, b):
                owner = next(o for o in ids0 if mapping[o] == ids1[col]
                             and tr0.valid[t, ids0.index(o)])
                dropped.setdefault(owner, []).append(int(tr0.frame[t]))
    final = {o: head.get(mapping[o], mapping[o]) for o in ids0}
    return StitchResult(final, dropped, records, params)
