"""Seeded synthetic motion with known truth, for smoothing and kinematics tests.

A standing athlete seen from the side bends the 10-point spine chain in flexion cycles;
the other 27 keypoints ride on the chain (shoulders, clavicles, latissimus on the upper
trunk, face on the head segment, arms hanging from the shoulders) or stand on the ground
(legs and feet).  Several tracks stand side by side, alternately facing right and left.

Public API (other tests and the benchmarks may import it):

* :func:`synthetic_motion` -> :class:`SyntheticMotion` (truth and noisy poses datasets built
  with :func:`spinepose_sports.data.make_poses`, plus the masks of injected outliers and
  dropouts and the facing of each track);
* :func:`synthetic_poses` -> ``(truth, noisy)`` datasets only;
* :func:`spine_segment_angles` -> the 9 spine segment orientations (deg) of a position array;
* :func:`truth_segment_angles` -> the same, exact, from the generator's angle model.

Conventions: image coordinates in px (y down), time in s; a segment orientation is the angle
of the segment (pelvis to head) from the image vertical in a y-up frame, positive toward the
athlete's facing direction (forward flexion), as in design §5.

Noise model of the noisy dataset (per keypoint and track unless said):

* a base confidence ``c0 ~ U(0.6, 1.0)`` and a Gaussian noise std that falls linearly from
  ``noise_px[1]`` at ``c0 = 0.6`` to ``noise_px[0]`` at ``c0 = 1`` (default 2-5 px);
* dropouts: a two-state Markov chain per series with stationary rate ``dropout_rate`` and
  mean burst ``dropout_burst_s``; a dropped point has NaN position and confidence 0;
* outliers: a fraction ``outlier_rate`` of the remaining points is moved by
  ``U(*outlier_px)`` px in a random direction;
* confidence per frame ``clip(c0 * exp(-err / 40 px) + N(0, 0.03), 0, 1)``, ``err`` the
  point's error: lower where the error is larger;
* ``never_seen`` keypoints are NaN (confidence 0) in every frame of the noisy data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import xarray as xr

from spinepose_sports.data import make_poses
from spinepose_sports.skeleton import KEYPOINT_INDEX, NUM_KEYPOINTS, SPINE_CHAIN_INDICES

#: Spine segment lengths (pelvis to head) as fractions of the standing height.
SEGMENT_FRACTIONS = np.array([0.03, 0.05, 0.062, 0.07, 0.075, 0.045, 0.04, 0.03, 0.1])
#: Upright posture: segment orientations (deg) at the neutral point of the cycle.
BASE_ANGLES_DEG = np.array([15.0, 6.0, -4.0, -8.0, 2.0, 10.0, 12.0, 8.0, 4.0])
#: Share of the flexion amplitude each segment takes.
FLEXION_WEIGHTS = np.array([0.6, 1.0, 1.0, 0.8, 0.6, 0.5, 0.6, 0.6, 0.5])


class SyntheticMotion(NamedTuple):
    """truth, noisy: poses datasets; outlier, dropped: ``(T, 37, N)`` bool; facing: ``(N,)``."""

    truth: xr.Dataset
    noisy: xr.Dataset
    outlier: np.ndarray
    dropped: np.ndarray
    facing: np.ndarray
    angles_deg: np.ndarray  # (T, 9, N) exact segment orientations


def _segment_angles(
    time_s: np.ndarray, n_tracks: int, flexion_hz: float, amplitude_deg: float
) -> np.ndarray:
    """``(T, 9, N)`` deg: base posture plus ``amplitude * weight * (1 - cos)/2`` cycles."""
    phase = 0.7 * np.arange(n_tracks)
    s = 0.5 * (1.0 - np.cos(2 * np.pi * flexion_hz * time_s[:, None] + phase[None, :]))
    nod = np.sin(2 * np.pi * flexion_hz * time_s[:, None] + phase[None, :] + 1.0)
    ang = (
        BASE_ANGLES_DEG[None, :, None]
        + amplitude_deg * FLEXION_WEIGHTS[None, :, None] * s[:, None, :]
    )
    ang[:, -3:, :] += 0.15 * amplitude_deg * nod[:, None, :]  # the neck nods a little
    return ang


def _local(p: np.ndarray, u: np.ndarray, n: np.ndarray, a: float, b: float) -> np.ndarray:
    """Point ``p + a*u + b*n`` (px) for ``(T, 2, N)`` arrays."""
    return p + a * u + b * n


def _body(
    angles: np.ndarray,
    time_s: np.ndarray,
    height: np.ndarray,
    facing: np.ndarray,
    origin_x: np.ndarray,
    ground_y: float,
) -> np.ndarray:
    """``(T, 2, 37, N)`` px truth positions for segment orientations ``(T, 9, N)`` deg."""
    n_time, _, n_tracks = angles.shape
    pos = np.full((n_time, 2, NUM_KEYPOINTS, n_tracks), np.nan)
    sway = np.stack(
        [15.0 * np.sin(2 * np.pi * 0.2 * time_s), 3.0 * np.sin(2 * np.pi * 0.3 * time_s)]
    )
    hip = np.stack(
        [
            np.broadcast_to(origin_x, (n_time, n_tracks)),
            np.broadcast_to(ground_y - 0.5 * height, (n_time, n_tracks)),
        ],
        axis=1,
    )
    hip = hip + sway.T[:, :, None]
    th = np.deg2rad(angles)
    u_all = np.stack([facing[None, None, :] * np.sin(th), -np.cos(th)], axis=1)  # (T,2,9,N)
    n_all = np.stack([facing[None, None, :] * np.cos(th), np.sin(th)], axis=1)  # forward normal
    chain = [hip]
    for i, frac in enumerate(SEGMENT_FRACTIONS):
        chain.append(chain[-1] + frac * height[None, None, :] * u_all[:, :, i])
    for idx, p in zip(SPINE_CHAIN_INDICES, chain, strict=True):
        pos[:, :, idx] = p
    _upper_body(pos, chain, u_all, n_all, height)
    _limbs(pos, hip, angles, height, facing)
    return pos


def _put(pos: np.ndarray, name: str, p: np.ndarray) -> None:
    pos[:, :, KEYPOINT_INDEX[name]] = p


def _upper_body(
    pos: np.ndarray,
    chain: list[np.ndarray],
    u_all: np.ndarray,
    n_all: np.ndarray,
    height: np.ndarray,
) -> None:
    """Clavicles, shoulders and latissimus on the upper trunk; the face on the head segment."""
    u5, n5, u4, n4 = u_all[:, :, 4], n_all[:, :, 4], u_all[:, :, 3], n_all[:, :, 3]
    u9, n9 = u_all[:, :, 8], n_all[:, :, 8]
    sp5, sp4, c1 = chain[5], chain[4], chain[8]
    hh = height[None, None, :]
    for side, lat in (("left", 1.0), ("right", 0.8)):
        _put(pos, f"{side}_clavicle", _local(sp5, u5, n5, 0.01 * hh, 0.04 * lat * hh))
        _put(pos, f"{side}_shoulder", _local(sp5, u5, n5, -0.005 * hh, 0.05 * lat * hh))
        _put(pos, f"{side}_latissimus", _local(sp4, u4, n4, 0.0, 0.045 * lat * hh))
    head_len = SEGMENT_FRACTIONS[-1] * hh
    for name, a, b in (
        ("nose", 0.4, 0.09),
        ("left_eye", 0.55, 0.07),
        ("right_eye", 0.55, 0.06),
        ("left_ear", 0.45, 0.0),
        ("right_ear", 0.45, -0.01),
    ):
        _put(pos, name, _local(c1, u9, n9, a * head_len, b * hh))


def _limbs(
    pos: np.ndarray, hip: np.ndarray, angles: np.ndarray, height: np.ndarray, facing: np.ndarray
) -> None:
    """Arms hanging from the shoulders (swinging with the trunk); legs and feet standing."""
    fx = facing[None, :]
    hh = height[None, None, :]

    def vec(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """``(T, 2, N)`` px from image-right-facing components."""
        return np.stack(np.broadcast_arrays(fx * x, y + 0 * fx), axis=1)

    swing = np.deg2rad(5.0 + 0.4 * (angles[:, 4, :] - BASE_ANGLES_DEG[4]))  # (T, N)
    for side, dx in (("left", 1.0), ("right", -1.0)):
        sh = pos[:, :, KEYPOINT_INDEX[f"{side}_shoulder"]]
        a, b = swing + 0.05 * dx, swing + 0.35 + 0.05 * dx
        elbow = sh + 0.17 * hh * vec(np.sin(a), np.cos(a))
        _put(pos, f"{side}_elbow", elbow)
        _put(pos, f"{side}_wrist", elbow + 0.15 * hh * vec(np.sin(b), np.cos(b)))
        hp = hip + vec(0.004 * dx * height, 0.002 * dx * height)
        _put(pos, f"{side}_hip", hp)
        _put(pos, f"{side}_knee", hp + vec(0.02 * height, 0.25 * height))
        ankle = hp + vec(0.0 * height, 0.48 * height)
        _put(pos, f"{side}_ankle", ankle)
        for name, ax, ay in (
            ("heel", -0.03, 0.015),
            ("big_toe", 0.09, 0.02),
            ("small_toe", 0.08, 0.02),
        ):
            _put(pos, f"{side}_{name}", ankle + vec(ax * height, ay * height))


def _dropouts(
    rng: np.random.Generator, shape: tuple[int, ...], rate: float, burst_frames: float
) -> np.ndarray:
    """``shape = (T, ...)`` bool bursts: a two-state Markov chain per series."""
    if rate <= 0:
        return np.zeros(shape, bool)
    p_end = 1.0 / max(burst_frames, 1.0)
    p_start = rate / (1.0 - rate) * p_end
    out = np.zeros(shape, bool)
    state = rng.random(shape[1:]) < rate
    for t in range(shape[0]):
        u = rng.random(shape[1:])
        state = np.where(state, u >= p_end, u < p_start)
        out[t] = state
    return out


def synthetic_motion(
    *,
    fps: float = 30.0,
    duration_s: float = 10.0,
    n_tracks: int = 1,
    flexion_hz: float = 1.0,
    amplitude_deg: float = 40.0,
    height_px: float = 600.0,
    noise_px: tuple[float, float] = (2.0, 5.0),
    dropout_rate: float = 0.05,
    dropout_burst_s: float = 0.2,
    outlier_rate: float = 0.01,
    outlier_px: tuple[float, float] = (30.0, 100.0),
    time_jitter: float = 0.0,
    never_seen: Sequence[str] = (),
    seed: int = 0,
) -> SyntheticMotion:
    """Truth and noisy poses of ``n_tracks`` athletes bending in flexion cycles.

    fps: frame rate (Hz); duration_s: length (s); flexion_hz: cycle frequency (Hz);
    amplitude_deg: peak flexion of the most mobile segments (deg); height_px: standing
    height of the first track (px, later ones 10% smaller each); time_jitter: frame times
    are ``i/fps + U(-j, j)/fps`` (irregular timestamps, ``j < 0.5``); never_seen: keypoint
    names missing from every frame of the noisy data.  Everything is seeded by ``seed``.
    """
    rng = np.random.default_rng(seed)
    n_time = round(duration_s * fps)
    time_s = np.arange(n_time) / fps
    if time_jitter > 0:
        time_s = time_s + rng.uniform(-time_jitter, time_jitter, n_time) / fps
    facing = np.where(np.arange(n_tracks) % 2 == 0, 1.0, -1.0)
    height = height_px * (1.0 - 0.1 * np.arange(n_tracks))
    origin_x = 400.0 + 500.0 * np.arange(n_tracks)
    angles = _segment_angles(time_s, n_tracks, flexion_hz, amplitude_deg)
    truth = _body(angles, time_s, height, facing, origin_x, ground_y=1000.0)

    noisy, conf, outlier, dropped = _corrupt(
        rng, truth, noise_px, dropout_rate, dropout_burst_s * fps, outlier_rate, outlier_px
    )
    for name in never_seen:
        dropped[:, KEYPOINT_INDEX[name], :] = True
    noisy = np.where(dropped[:, None], np.nan, noisy)
    conf = np.where(dropped, 0.0, conf)
    attrs = dict(
        fps=fps,
        source_file="synthetic",
        frame_width=1920,
        frame_height=1080,
        pose_model="synthetic",
    )
    ids = list(range(1, n_tracks + 1))
    truth_ds = make_poses(truth, np.ones(conf.shape), time_s, ids, **attrs)
    noisy_ds = make_poses(noisy, conf, time_s, ids, **attrs)
    return SyntheticMotion(truth_ds, noisy_ds, outlier, dropped, facing, angles)


def _corrupt(
    rng: np.random.Generator,
    truth: np.ndarray,
    noise_px: tuple[float, float],
    dropout_rate: float,
    burst_frames: float,
    outlier_rate: float,
    outlier_px: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The noise model of the module docstring: ``(noisy, conf, outlier, dropped)``."""
    n_time, _, n_kp, n_tracks = truth.shape
    shape = (n_time, n_kp, n_tracks)
    base = rng.uniform(0.6, 1.0, shape[1:])
    sigma = noise_px[0] + (noise_px[1] - noise_px[0]) * (1.0 - base) / 0.4
    err = rng.normal(size=(n_time, 2, *shape[1:])) * sigma[None, None]
    dropped = _dropouts(rng, shape, dropout_rate, burst_frames)
    outlier = (rng.random(shape) < outlier_rate) & ~dropped
    mag = rng.uniform(*outlier_px, shape)
    ang = rng.uniform(0, 2 * np.pi, shape)
    jump = np.stack([mag * np.cos(ang), mag * np.sin(ang)], axis=1)
    err = np.where(outlier[:, None], jump, err)
    size = np.sqrt((err**2).sum(1))
    conf = np.clip(base * np.exp(-size / 40.0) + rng.normal(0, 0.03, shape), 0.0, 1.0)
    return truth + err, conf, outlier, dropped


def synthetic_poses(**kwargs: object) -> tuple[xr.Dataset, xr.Dataset]:
    """``(truth, noisy)`` poses datasets; keyword arguments as :func:`synthetic_motion`."""
    motion = synthetic_motion(**kwargs)  # type: ignore[arg-type]
    return motion.truth, motion.noisy


def spine_segment_angles(position: np.ndarray, facing: np.ndarray) -> np.ndarray:
    """``(T, 9, N)`` deg: spine segment orientations of ``position (T, 2, 37, N)`` px.

    Angle of each chain segment (proximal to distal) from the image vertical in a y-up
    frame, positive toward ``facing`` (``(N,)``, +1 facing image right, -1 left).  NaN
    where an end point is missing.
    """
    chain = position[:, :, list(SPINE_CHAIN_INDICES)]
    seg = np.diff(chain, axis=2)
    dx = seg[:, 0] * np.asarray(facing)[None, None, :]
    dy_up = -seg[:, 1]
    return np.degrees(np.arctan2(dx, dy_up))


def truth_segment_angles(motion: SyntheticMotion) -> np.ndarray:
    """``(T, 9, N)`` deg: the exact orientations the truth positions were built from."""
    return motion.angles_deg
