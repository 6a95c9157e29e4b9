"""Synthetic box sequences with known identities, for the tracking post-processing tests.

A scene is a list of :class:`Fragment`: one tracker id seen from ``t0`` to ``t1`` (s,
inclusive) along a straight path ``(x0, y0) + (vx, vy) * t`` px, with a box of ``w x h``
px. Sampling the same scene at any frame rate gives the same fragments, so results can be
compared across frame rates. A person's fragments share ``person``; the right answer of
stitching is "fragments of one person share one id".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from spinepose_sports.data import make_boxes, make_poses
from spinepose_sports.skeleton import NUM_KEYPOINTS

FRAME_W, FRAME_H = 1280, 720


@dataclass(frozen=True)
class Fragment:
    track_id: int
    person: int
    t0: float
    t1: float
    x0: float
    y0: float
    vx: float = 0.0
    vy: float = 0.0
    w: float = 80.0
    h: float = 200.0
    conf: float = 0.8

    def at(self, t: np.ndarray) -> np.ndarray:
        """``(n, 2)`` box centre at times ``t``, px."""
        return np.stack([self.x0 + self.vx * t, self.y0 + self.vy * t], axis=-1)


def scene_boxes(
    fragments: Sequence[Fragment],
    fps: float,
    duration_s: float,
    jitter_px: float = 1.0,
    seed: int = 0,
) -> xr.Dataset:
    """A boxes dataset of ``fragments`` sampled at ``fps`` for ``duration_s`` seconds,
    with Gaussian jitter of ``jitter_px`` on the centres (seeded)."""
    rng = np.random.default_rng(seed)
    times = np.arange(round(duration_s * fps)) / fps
    ids = sorted({f.track_id for f in fragments})
    centre = np.full((len(times), 2, len(ids)), np.nan, np.float32)
    shape = np.full_like(centre, np.nan)
    conf = np.full((len(times), len(ids)), np.nan, np.float32)
    for f in fragments:
        j = ids.index(f.track_id)
        seen = (times >= f.t0 - 1e-9) & (times <= f.t1 + 1e-9)
        c = f.at(times[seen]) + rng.normal(0, jitter_px, (int(seen.sum()), 2))
        centre[seen, :, j] = c
        shape[seen, :, j] = (f.w, f.h)
        conf[seen, j] = f.conf
    return make_boxes(
        centre, shape, conf, times, ids, fps=fps, source_file="synthetic.mp4",
        frame_width=FRAME_W, frame_height=FRAME_H,
    )


def poses_from_boxes(boxes: xr.Dataset, seed: int = 0) -> xr.Dataset:
    """A poses dataset whose 37 keypoints are a fixed template inside each box."""
    rng = np.random.default_rng(seed)
    template = rng.uniform(-0.4, 0.4, (2, NUM_KEYPOINTS))
    centre = boxes["position"].transpose("time", "space", "individual").values
    size = boxes["shape"].transpose("time", "space", "individual").values
    position = centre[:, :, None, :] + template[None, :, :, None] * size[:, :, None, :]
    seen = np.isfinite(centre[:, 0, :])
    confidence = np.where(seen[:, None, :], 0.9, np.nan) * np.ones((1, NUM_KEYPOINTS, 1))
    return make_poses(
        position.astype(np.float32), confidence.astype(np.float32), boxes["time"].values,
        [int(i.split("_")[1]) for i in boxes["individual"].values],
        frame_index=boxes["frame"].values, fps=boxes.attrs["fps"],
        source_file="synthetic.mp4", frame_width=FRAME_W, frame_height=FRAME_H,
    )


def persons(fragments: Sequence[Fragment]) -> dict[int, int]:
    """Track id -> person of the scene (the truth)."""
    return {f.track_id: f.person for f in fragments}


def same_partition(mapping: dict[int, int], truth: dict[int, int]) -> bool:
    """True when ``mapping`` (old id -> new id) groups the ids exactly as ``truth`` does."""
    def groups(m: dict[int, int]) -> set[frozenset[int]]:
        out: dict[int, set[int]] = {}
        for k, v in m.items():
            out.setdefault(v, set()).add(k)
        return {frozenset(g) for g in out.values()}

    return groups(mapping) == groups(truth)


# --------------------------------------------------------------------------------------
# Scenes (fps-independent: every time lies on a 0.1 s grid)
# --------------------------------------------------------------------------------------

SPEED = 200.0  # px/s: one box height per second


def occlusion_scene(gap_s: float = 0.5, jump_px: float = 0.0) -> list[Fragment]:
    """Person 1 walks right, unseen for ``gap_s`` (behind something), then seen again on
    the extrapolated path (shifted by ``jump_px`` upward); person 2 walks left, far away."""
    t_cut = 2.0
    return [
        Fragment(1, 1, 0.0, t_cut, 100, 400, vx=SPEED),
        Fragment(3, 1, t_cut + gap_s, 5.0, 100, 400 - jump_px, vx=SPEED),
        Fragment(2, 2, 0.0, 5.0, 1200, 150, vx=-SPEED / 2, w=60, h=150),
    ]


def crossing_scene(both_lost: bool = True) -> list[Fragment]:
    """Two people walk towards each other on one line and cross at t = 2 s, x = 640.

    both_lost: both tracks end at 1.8 s and two new ids start at 2.2 s on the far side
    (a tracker that lost both); else person 2 is tracked through and only person 1's track
    is cut. Standing still, each new track starts where the *other* person was last seen:
    only the motion tells who is who.
    """
    a = dict(x0=640 - 2 * SPEED, y0=400, vx=SPEED)
    b = dict(x0=640 + 2 * SPEED, y0=410, vx=-SPEED)
    frags = [Fragment(1, 1, 0.0, 1.8, **a), Fragment(3, 1, 2.2, 4.0, **a)]
    if both_lost:
        frags += [Fragment(2, 2, 0.0, 1.8, **b), Fragment(4, 2, 2.2, 4.0, **b)]
    else:
        frags += [Fragment(2, 2, 0.0, 4.0, **b)]
    return frags


def handover_scene() -> list[Fragment]:
    """Person 1's track 1 ends at 2.1 s; track 2 took the person over at 2.0 s (the old
    track held on for two frames at 10 fps with a box around the person)."""
    return [
        Fragment(1, 1, 0.0, 2.1, 300, 400, vx=SPEED / 2, w=110, h=240),
        Fragment(2, 1, 2.0, 5.0, 300, 400, vx=SPEED / 2),
    ]


def duplicate_scene() -> list[Fragment]:
    """Person 1 walks right with two tracks on him for 3 s: track 1 (his box) and track 5
    (a looser box from another class, 20 % larger, slightly offset); person 2 walks left
    apart from him.  The right answer: one track for person 1 (track 1), and person 2."""
    return [
        Fragment(1, 1, 0.0, 4.0, 200, 400, vx=SPEED / 2),
        Fragment(5, 1, 0.5, 3.5, 205, 395, vx=SPEED / 2, w=96, h=240, conf=0.5),
        Fragment(2, 2, 0.0, 4.0, 1100, 300, vx=-SPEED / 2),
    ]
