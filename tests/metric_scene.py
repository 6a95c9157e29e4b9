"""A synthetic athlete of known height moving in metres, filmed by a known camera.

The body is the analytic body of ``kinematics_generator`` (side view: a spine that leans
and bends, swinging arms), with the feet flat under the ankles, scaled so that its
standing height (head top to floor, upright) is ``height_m``; it walks along the floor at
``speed_m_s`` and jumps (a ballistic flight of known height) in the middle of the clip.

World frame: X along the walk, D toward the far side (depth), Z up, floor at Z = 0.  The
camera is either orthographic (``px_per_m``: every point in the image plane) or a pinhole
(``focal_px`` at ``distance_m`` from the walking line, at ``camera_height_m``); the image
may be rolled by ``roll_deg`` (a tilted floor).  ``walk_angle_deg`` turns the walk out of
the image plane (0: parallel to it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from kinematics_generator import F, Motion, U, body_points_3d, poses_dataset

from spinepose_sports.skeleton import KEYPOINT_INDEX

#: Generator units: head top 0.5 above the hip, hip 0.49 + 0.06 above the floor.
BODY_HEIGHT_UNITS = 0.5 + 0.245 + 0.245 + 0.06
ANKLE_HEIGHT_UNITS = 0.06
G = 9.80665


@dataclass
class Scene:
    height_m: float = 1.78
    n_frames: int = 150
    fps: float = 50.0
    speed_m_s: float = 1.5
    jump_height_m: float = 0.3
    jump_start_s: float = 1.2
    walk_angle_deg: float = 0.0
    px_per_m: float = 250.0
    focal_px: float | None = None
    distance_m: float = 8.0
    camera_height_m: float = 1.0
    roll_deg: float = 0.0
    origin_px: tuple[float, float] = (300.0, 900.0)
    noise_px: float = 0.0
    seed: int = 0

    @property
    def time_s(self) -> np.ndarray:
        return np.arange(self.n_frames) / self.fps

    @property
    def flight_s(self) -> float:
        return 2 * np.sqrt(2 * self.jump_height_m / G)

    def jump(self) -> np.ndarray:
        """Height of the body above its standing position (m), ``(T,)``."""
        t = self.time_s - self.jump_start_s
        z = self.flight_s / 2 * G * t - G * t**2 / 2
        return np.where((t > 0) & (t < self.flight_s), z, 0.0)


def _motion(scene: Scene) -> Motion:
    t = scene.time_s
    lean = 12.0 * np.sin(2 * np.pi * 0.8 * t)
    theta = lean[:, None] + np.linspace(0.0, 6.0, 9) * np.sin(2 * np.pi * 0.5 * t)[:, None]
    swing = 25.0 * np.sin(2 * np.pi * 1.0 * t)
    return Motion(
        t,
        theta,
        shoulder={"right": swing, "left": -swing},
        elbow={"right": 20 + 0 * t, "left": 20 + 0 * t},
    )


def world_points(scene: Scene) -> np.ndarray:
    """Keypoints ``(T, 37, 3)`` in metres (X, D, Z); the truth."""
    body = body_points_3d(_motion(scene), frontal=False)  # (T, 37, 3) in (f, r, u) units
    for side in ("left", "right"):  # feet flat, heel under the ankle, toes ahead
        ankle = body[:, KEYPOINT_INDEX[f"{side}_ankle"]]
        heel = ankle - ANKLE_HEIGHT_UNITS * U
        body[:, KEYPOINT_INDEX[f"{side}_heel"]] = heel
        body[:, KEYPOINT_INDEX[f"{side}_big_toe"]] = heel + 0.2 * F
        small = heel + 0.18 * F + (0.03 if side == "right" else -0.03) * np.array([0, 1, 0])
        body[:, KEYPOINT_INDEX[f"{side}_small_toe"]] = small
    k = scene.height_m / BODY_HEIGHT_UNITS
    f, r, u = body[..., 0] * k, body[..., 1] * k, body[..., 2] * k
    a = np.radians(scene.walk_angle_deg)
    travel = scene.speed_m_s * scene.time_s[:, None]
    x = (travel + f) * np.cos(a) - r * np.sin(a)
    d = (travel + f) * np.sin(a) + r * np.cos(a)
    z = u + (BODY_HEIGHT_UNITS - 0.5) * k + scene.jump()[:, None]
    return np.stack([x, d, z], axis=-1)


def project(scene: Scene, world: np.ndarray) -> np.ndarray:
    """World points ``(T, 37, 3)`` m -> image points ``(T, 2, 37)`` px (y down)."""
    x, d, z = world[..., 0], world[..., 1], world[..., 2]
    if scene.focal_px is None:
        u, v = x * scene.px_per_m, z * scene.px_per_m
    else:
        s = scene.focal_px / (scene.distance_m + d)
        u, v = (
            x * s,
            (z - scene.camera_height_m) * s
            + scene.camera_height_m * (scene.focal_px / scene.distance_m),
        )
    r = np.radians(scene.roll_deg)
    ur, vr = u * np.cos(r) - v * np.sin(r), u * np.sin(r) + v * np.cos(r)
    xy = np.stack([scene.origin_px[0] + ur, scene.origin_px[1] - vr], axis=1)
    if scene.noise_px:
        xy = xy + np.random.default_rng(scene.seed).normal(0, scene.noise_px, xy.shape)
    return xy


def scene_poses(scene: Scene, track_id: int = 1):
    """``(poses dataset, world truth (T, 37, 3) m)``; all points confidence 0.9."""
    world = world_points(scene)
    xy = project(scene, world)
    conf = np.full((scene.n_frames, xy.shape[2]), 0.9)
    poses = poses_dataset([(xy, conf)], scene.time_s, [track_id], fps=scene.fps)
    return poses, world
