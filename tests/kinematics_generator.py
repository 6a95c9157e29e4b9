"""Analytic generator for the kinematics tests: a body with prescribed angles, rendered.

The body lives in a 3D body frame ``(f, r, u)``: f forward, r the athlete's right, u up,
with a height of about 1 unit.  The spine chain (hip -> ... -> head, the 9 segment
lengths of :data:`SPINE_LENGTHS`) is built from prescribed segment orientations θᵢ(t)
(deg, from the vertical) in the plane the view shows: the sagittal plane (f, u) for side
views, θ positive forward; the frontal plane (r, u) for front/back views, θ positive to
the athlete's right.  Legs and arms move in the sagittal plane with prescribed Sports2D
joint angles; hips, shoulders, clavicles, latissimus, eyes and ears sit at lateral
offsets, the nose in front of the head.  All 37 points are placed.

Rendering is orthographic: ``x = cx + scale * s * c``, ``y = cy - scale * u`` where c is
the f (side views) or r (front/back views) coordinate and ``s`` is +1 when ``facing`` is
"right", -1 when "left".  ``facing`` therefore means what it means in
:mod:`spinepose_sports.kinematics.view`: the image direction of the athlete's front (side
views) or right side (front/back views); every view takes either value (the pairs
left_side/right, right_side/left, front/right, back/left are mirrored recordings).
Confidences mimic a real model: far-side limb points 0.6 in side views, a hidden face
(nose, eyes) 0.3 in back views, half-hidden ears 0.7 in front views, 0.9 elsewhere.

Everything is deterministic; the only randomness (noise, repetition tempo) comes from
seeded ``numpy.random.default_rng`` generators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spinepose_sports.data import make_poses
from spinepose_sports.skeleton import KEYPOINT_INDEX, NUM_KEYPOINTS

#: Segment lengths (body units), hip-spine_01 ... neck_03-head; sum 0.5.
SPINE_LENGTHS = np.array([0.04, 0.05, 0.05, 0.07, 0.08, 0.04, 0.04, 0.035, 0.095])
THIGH, SHANK = 0.245, 0.245
ARM, FOREARM = 0.17, 0.15
HIP_HALF_WIDTH, SHOULDER_HALF_WIDTH = 0.09, 0.17
SIDE_VIEWS = ("left_side", "right_side")
VIEWS = ("left_side", "right_side", "front", "back")
NORMAL_FACING = {"left_side": "left", "right_side": "right", "front": "left", "back": "right"}


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n)


@dataclass
class Motion:
    """Prescribed angles over time (deg); every array ``(T,)`` except ``theta (T, 9)``.

    thigh: thigh from the vertical, knee forward positive; knee: flexion; ankle:
    dorsiflexion; shoulder: flexion relative to the trunk line (neck - hip); elbow: flexion.
    """

    time_s: np.ndarray
    theta: np.ndarray
    thigh: dict[str, np.ndarray] = field(default_factory=dict)
    knee: dict[str, np.ndarray] = field(default_factory=dict)
    ankle: dict[str, np.ndarray] = field(default_factory=dict)
    shoulder: dict[str, np.ndarray] = field(default_factory=dict)
    elbow: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.time_s)
        for d in (self.thigh, self.knee, self.ankle, self.shoulder, self.elbow):
            for side in ("left", "right"):
                d.setdefault(side, _zeros(n))


def default_motion(n_frames: int = 40, fps: float = 30.0, seed: int = 0) -> Motion:
    """A smooth, non-trivial motion: every segment and joint moves differently."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / fps
    phase = rng.uniform(0, 2 * np.pi, size=9)
    base = np.array([-15.0, -5.0, 5.0, 12.0, 20.0, 10.0, -8.0, -3.0, 6.0])
    theta = base + 25.0 * np.sin(2 * np.pi * 0.7 * t[:, None] + phase)
    wave = np.sin(2 * np.pi * 0.5 * t)
    return Motion(
        t,
        theta,
        thigh={"right": 20 + 30 * wave, "left": -10 - 20 * wave},
        knee={"right": 30 + 25 * wave, "left": 10 + 40 * wave**2},
        ankle={"right": 10 - 15 * wave, "left": -5 + 10 * wave},
        shoulder={"right": 40 + 30 * wave, "left": 10 - 20 * wave},
        elbow={"right": 60 + 20 * wave, "left": 15 + 10 * wave},
    )


def _unit(angle_deg: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sin * a + cos * b`` for angles ``(T,)`` and axes ``(3,)`` -> ``(T, 3)``."""
    r = np.radians(angle_deg)[:, None]
    return np.sin(r) * a + np.cos(r) * b


F, R, U = np.eye(3)


def spine_chain_3d(theta: np.ndarray, frontal: bool) -> np.ndarray:
    """Chain points ``(T, 10, 3)`` from θ ``(T, 9)``, hip at the origin."""
    plane = R if frontal else F
    steps = [SPINE_LENGTHS[i] * _unit(theta[:, i], plane, U) for i in range(9)]
    return np.concatenate(
        [np.zeros((theta.shape[0], 1, 3)), np.cumsum(steps, axis=0).transpose(1, 0, 2)], axis=1
    )


def trunk_lean(theta: np.ndarray) -> np.ndarray:
    """The hip -> neck line from the vertical (deg, positive like θ), ``(T,)``."""
    s = (SPINE_LENGTHS[:6] * np.sin(np.radians(theta[:, :6]))).sum(axis=1)
    c = (SPINE_LENGTHS[:6] * np.cos(np.radians(theta[:, :6]))).sum(axis=1)
    return np.degrees(np.arctan2(s, c))


def _place_leg(pts: dict[str, np.ndarray], m: Motion, side: str, hip: np.ndarray) -> None:
    lat = (1 if side == "right" else -1) * R
    joint = hip + HIP_HALF_WIDTH * lat
    thigh = m.thigh[side]
    shank = thigh - m.knee[side]
    knee = joint + THIGH * _unit(thigh, F, -U)
    ankle = knee + SHANK * _unit(shank, F, -U)
    psi = np.radians(shank + m.ankle[side])[:, None]  # direction of big_toe - heel in (f, u)
    fwd = np.cos(psi) * F + np.sin(psi) * U
    up = -np.sin(psi) * F + np.cos(psi) * U
    heel = ankle - 0.05 * fwd - 0.06 * up
    pts[f"{side}_hip"], pts[f"{side}_knee"], pts[f"{side}_ankle"] = joint, knee, ankle
    pts[f"{side}_heel"] = heel
    pts[f"{side}_big_toe"] = heel + 0.2 * fwd
    pts[f"{side}_small_toe"] = heel + 0.18 * fwd + 0.03 * lat


def _place_arm(
    pts: dict[str, np.ndarray], m: Motion, side: str, neck: np.ndarray, lean: np.ndarray
) -> None:
    lat = (1 if side == "right" else -1) * R
    shoulder = neck - 0.02 * U + SHOULDER_HALF_WIDTH * lat
    arm = m.shoulder[side] - lean  # from the downward vertical, forward positive
    elbow = shoulder + ARM * _unit(arm, F, -U)
    wrist = elbow + FOREARM * _unit(arm + m.elbow[side], F, -U)
    pts[f"{side}_shoulder"], pts[f"{side}_elbow"], pts[f"{side}_wrist"] = shoulder, elbow, wrist


def _place_head(
    pts: dict[str, np.ndarray], chain: np.ndarray, theta8: np.ndarray, frontal: bool
) -> None:
    base = chain[:, 8]
    up = (chain[:, 9] - base) / SPINE_LENGTHS[8]
    r8 = np.radians(theta8)[:, None]
    if frontal:
        fwd = np.broadcast_to(F, up.shape)
        right = np.cos(r8) * R - np.sin(r8) * U
    else:
        fwd = np.cos(r8) * F - np.sin(r8) * U
        right = np.broadcast_to(R, up.shape)
    pts["nose"] = base + 0.035 * up + 0.09 * fwd
    for side, s in (("right", 1.0), ("left", -1.0)):
        pts[f"{side}_eye"] = base + 0.06 * up + 0.07 * fwd + 0.03 * s * right
        pts[f"{side}_ear"] = base + 0.045 * up - 0.01 * fwd + 0.075 * s * right


def body_points_3d(m: Motion, frontal: bool) -> np.ndarray:
    """All 37 points ``(T, 37, 3)`` in the body frame (hip at the origin)."""
    chain = spine_chain_3d(m.theta, frontal)
    names = (
        "hip",
        "spine_01",
        "spine_02",
        "spine_03",
        "spine_04",
        "spine_05",
        "neck",
        "neck_02",
        "neck_03",
        "head",
    )
    pts = {n: chain[:, i] for i, n in enumerate(names)}
    lean = np.zeros(len(m.time_s)) if frontal else trunk_lean(m.theta)
    for side, s in (("right", 1.0), ("left", -1.0)):
        _place_leg(pts, m, side, pts["hip"])
        _place_arm(pts, m, side, pts["neck"], lean)
        pts[f"{side}_clavicle"] = pts["spine_05"] + 0.08 * s * R + 0.01 * F
        pts[f"{side}_latissimus"] = pts["spine_04"] + 0.1 * s * R - 0.02 * F
    _place_head(pts, chain, m.theta[:, 8], frontal)
    out = np.zeros((len(m.time_s), NUM_KEYPOINTS, 3))
    for name, p in pts.items():
        out[:, KEYPOINT_INDEX[name]] = p
    return out


def confidences(view: str, n_frames: int) -> np.ndarray:
    """``(T, 37)`` confidences that mimic a model (see the module doc)."""
    conf = np.full(NUM_KEYPOINTS, 0.9)
    far = {"left_side": "right_", "right_side": "left_"}.get(view)
    for name, k in KEYPOINT_INDEX.items():
        if far and name.startswith(far):
            conf[k] = 0.6
        if view == "back" and name in ("nose", "left_eye", "right_eye"):
            conf[k] = 0.3
        if view == "front" and name in ("left_ear", "right_ear"):
            conf[k] = 0.7
    return np.broadcast_to(conf, (n_frames, NUM_KEYPOINTS)).copy()


def render(
    m: Motion,
    view: str,
    facing: str,
    scale: float = 300.0,
    origin: tuple[float, float] = (640.0, 360.0),
    noise_px: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Image points ``(T, 2, 37)`` px (y down) and confidences ``(T, 37)`` of one track.

    scale: px per body unit (the body is about ``scale`` px tall); origin: image position
    of the hip point; noise_px: sd of Gaussian noise added to every coordinate.
    """
    if view not in VIEWS or facing not in ("left", "right"):
        raise ValueError(f"view {view!r} / facing {facing!r}")
    frontal = view not in SIDE_VIEWS
    p3 = body_points_3d(m, frontal)
    s = 1.0 if facing == "right" else -1.0
    lateral = p3[..., 1] if frontal else p3[..., 0]
    x = origin[0] + scale * s * lateral
    y = origin[1] - scale * p3[..., 2]
    xy = np.stack([x, y], axis=1)
    if noise_px:
        xy = xy + np.random.default_rng(seed).normal(0.0, noise_px, xy.shape)
    return xy, confidences(view, len(m.time_s))


def poses_dataset(
    renders: list[tuple[np.ndarray, np.ndarray]],
    time_s: np.ndarray,
    track_ids: list[int] | None = None,
    fps: float = 30.0,
):  # -> xr.Dataset
    """Stack rendered tracks into a validated poses dataset."""
    position = np.stack([r[0] for r in renders], axis=-1)
    confidence = np.stack([r[1] for r in renders], axis=-1)
    ids = track_ids or list(range(1, len(renders) + 1))
    return make_poses(
        position,
        confidence,
        np.asarray(time_s),
        ids,
        fps=fps,
        source_file="synthetic.mp4",
        frame_width=1920,
        frame_height=1080,
        pose_model="analytic-generator",
    )


# ------------------------------------------------------------------------------------
# Ground truth of the spine quantities (independent of the library's implementation)
# ------------------------------------------------------------------------------------


def truth_segmental(theta: np.ndarray) -> np.ndarray:
    return np.diff(theta, axis=1)


def truth_regional(theta: np.ndarray) -> np.ndarray:
    """Lumbar: levels spine_01..spine_03 (T12/L1); thoracic: spine_04, spine_05;
    cervical: neck (C7)..neck_03; they add up to theta_8 - theta_0."""
    return np.stack(
        [theta[:, 3] - theta[:, 0], theta[:, 5] - theta[:, 3], theta[:, 8] - theta[:, 5]], axis=1
    )


def truth_curvature(theta: np.ndarray) -> np.ndarray:
    total = SPINE_LENGTHS.sum()
    share = (SPINE_LENGTHS[:-1] + SPINE_LENGTHS[1:]) / 2 / total
    return truth_segmental(theta) / share


def truth_flexion_curve(theta: np.ndarray, n_arc: int = 21) -> np.ndarray:
    mids = (np.cumsum(SPINE_LENGTHS) - SPINE_LENGTHS / 2) / SPINE_LENGTHS.sum()
    grid = np.linspace(0, 1, n_arc)
    return np.stack([np.interp(grid, mids, row - row[0]) for row in theta])


# ------------------------------------------------------------------------------------
# Repetitions
# ------------------------------------------------------------------------------------


@dataclass
class RepetitionTruth:
    """Per repetition: start, peak and end times (s) and the command amplitude (deg)."""

    start_s: np.ndarray
    peak_s: np.ndarray
    end_s: np.ndarray
    amplitude: np.ndarray


def repetition_command(
    n_reps: int = 10, fps: float = 30.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, RepetitionTruth]:
    """A flexion command (deg) with ``n_reps`` repetitions of varying tempo and amplitude.

    Each repetition lasts 1.0-3.0 s with its peak at 35-65 % of it, an amplitude of
    30-80 deg, raised-cosine rise and return, and 0-1 s of rest before it (0 s: back to
    back).  Returns ``(time_s (T,), command (T,), truth)``.
    """
    rng = np.random.default_rng(seed)
    dur = rng.uniform(1.0, 3.0, n_reps)
    rise = rng.uniform(0.35, 0.65, n_reps) * dur
    amp = rng.uniform(30.0, 80.0, n_reps)
    rest = rng.uniform(0.0, 1.0, n_reps)
    rest[[2, 6]] = 0.0  # some repetitions back to back
    starts = 0.5 + np.cumsum(rest + np.concatenate([[0.0], dur[:-1]]))
    t = np.arange(0.0, starts[-1] + dur[-1] + 0.7, 1.0 / fps)
    cmd = np.zeros_like(t)
    for s0, d, r, a in zip(starts, dur, rise, amp, strict=True):
        up = (t >= s0) & (t < s0 + r)
        down = (t >= s0 + r) & (t <= s0 + d)
        cmd[up] = a * (1 - np.cos(np.pi * (t[up] - s0) / r)) / 2
        cmd[down] = a * (1 + np.cos(np.pi * (t[down] - s0 - r) / (d - r))) / 2
    return t, cmd, RepetitionTruth(starts, starts + rise, starts + dur, amp)


#: Share of a flexion command taken by each spine segment's orientation (cumulative).
REP_WEIGHTS = np.array([0.35, 0.45, 0.6, 0.75, 0.85, 0.9, 0.95, 1.0, 1.0])
REP_BASE = np.array([-10.0, -4.0, 2.0, 8.0, 12.0, 8.0, -2.0, 0.0, 4.0])


def repetition_motion(
    n_reps: int = 10, fps: float = 30.0, seed: int = 0
) -> tuple[Motion, np.ndarray, RepetitionTruth]:
    """A deadlift-like motion: θᵢ = base + wᵢ · command; returns (motion, command, truth)."""
    t, cmd, truth = repetition_command(n_reps, fps, seed)
    theta = REP_BASE + REP_WEIGHTS * cmd[:, None]
    knee = 0.4 * cmd
    m = Motion(
        t,
        theta,
        thigh={"right": 0.5 * knee, "left": 0.5 * knee},
        knee={"right": knee, "left": knee},
    )
    return m, cmd, truth


# ------------------------------------------------------------------------------------
# Athletes who turn round, and somersaults
# ------------------------------------------------------------------------------------

#: The view an athlete shows after turning round in front of an ordinary camera.
TURNED = {"left_side": "right_side", "right_side": "left_side", "front": "back", "back": "front"}
MIRRORED = {"left": "right", "right": "left"}


def render_turn(
    m: Motion,
    before: tuple[str, str],
    after: tuple[str, str],
    turn_index: int,
    scale: float = 300.0,
    origin: tuple[float, float] = (640.0, 360.0),
) -> tuple[np.ndarray, np.ndarray]:
    """An athlete seen as ``before = (view, facing)`` up to frame ``turn_index`` (excluded)
    and as ``after`` from it on (an instant turn round): ``(T, 2, 37)`` px, ``(T, 37)``.

    Every frame is an exact render of :func:`render`, so the truth of each frame is the
    truth of its (view, facing) pair.
    """
    xy1, c1 = render(m, *before, scale=scale, origin=origin)
    xy2, c2 = render(m, *after, scale=scale, origin=origin)
    xy1[turn_index:], c1[turn_index:] = xy2[turn_index:], c2[turn_index:]
    return xy1, c1


def render_heading(
    m: Motion,
    heading_deg: np.ndarray,
    scale: float = 300.0,
    origin: tuple[float, float] = (640.0, 360.0),
) -> tuple[np.ndarray, np.ndarray]:
    """A body bending in its sagittal plane, turning about the vertical: heading ψ(t)
    ``(T,)`` deg.  Image x = ``cx + scale * (cos ψ · f + sin ψ · r)``: ψ = 0 is a side
    view facing image right, 180 facing image left, 90 the back (the athlete's right on
    the image right), -90 the front.  Confidences of the nearest of the four views.
    """
    p3 = body_points_3d(m, frontal=False)
    psi = np.radians(np.asarray(heading_deg, dtype=np.float64))[:, None]
    x = origin[0] + scale * (np.cos(psi) * p3[..., 0] + np.sin(psi) * p3[..., 1])
    y = origin[1] - scale * p3[..., 2]
    conf = np.empty((len(m.time_s), NUM_KEYPOINTS))
    for t, a in enumerate(psi[:, 0]):
        c, s = np.cos(a), np.sin(a)
        view = ("right_side" if c > 0 else "left_side") if abs(c) >= abs(s) else (
            "back" if s > 0 else "front")
        conf[t] = confidences(view, 1)[0]
    return np.stack([x, y], axis=1), conf


def somersault_motion(n_frames: int = 90, fps: float = 30.0, turns: float = 1.0) -> Motion:
    """The whole body turns forward ``turns`` times at a constant rate (spine, legs and
    arms together) while the spine keeps a fixed bend: θᵢ = base + φ(t), thighs -φ(t)."""
    t = np.arange(n_frames) / fps
    phi = 360.0 * turns * t / t[-1]
    base = np.array([-10.0, -4.0, 2.0, 8.0, 12.0, 8.0, -2.0, 0.0, 4.0])
    return Motion(t, base + phi[:, None], thigh={"right": -phi, "left": -phi})
