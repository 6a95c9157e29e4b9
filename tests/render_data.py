"""Synthetic results folders for the render and dashboard tests: known angles, real files.

A deadlift-like athlete seen from the side (repetitions of trunk flexion) and a second one
seen from the front (lateral bending), drawn by the analytic generator of
``kinematics_generator``; their kinematics are computed and saved as ``analyze`` would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from kinematics_generator import Motion, default_motion, render, repetition_motion

from spinepose_sports.data import make_boxes, make_poses, save_netcdf
from spinepose_sports.kinematics import compute_kinematics, save_kinematics
from spinepose_sports.video import probe


def _trimmed(m: Motion, n: int) -> Motion:
    sl = slice(0, n)
    return Motion(
        m.time_s[sl],
        m.theta[sl],
        thigh={k: v[sl] for k, v in m.thigh.items()},
        knee={k: v[sl] for k, v in m.knee.items()},
        ankle={k: v[sl] for k, v in m.ankle.items()},
        shoulder={k: v[sl] for k, v in m.shoulder.items()},
        elbow={k: v[sl] for k, v in m.elbow.items()},
    )


def synthetic_poses(
    n_frames: int, fps: float, width: int, height: int, source_file: str | Path
) -> xr.Dataset:
    """Poses of two athletes, ``n_frames`` frames at ``fps``, sized for a WxH px video.

    track_3: side view facing left, repetitions of trunk flexion (hip at 30 % of the
    width); track_7: front view, a smooth sway (hip at 72 % of the width).
    """
    reps, _, _ = repetition_motion(n_reps=8, fps=fps, seed=3)
    reps = _trimmed(reps, min(n_frames, len(reps.time_s)))
    n = len(reps.time_s)
    sway = default_motion(n, fps, seed=1)
    scale = 0.75 * height
    hip_y = 0.62 * height
    side = render(reps, "left_side", "left", scale=scale, origin=(0.3 * width, hip_y))
    front = render(sway, "front", "left", scale=0.8 * scale, origin=(0.72 * width, hip_y))
    position = np.stack([side[0], front[0]], axis=-1)
    confidence = np.stack([side[1], front[1]], axis=-1)
    return make_poses(
        position,
        confidence,
        np.arange(n) / fps,
        [3, 7],
        fps=fps,
        source_file=str(source_file),
        frame_width=width,
        frame_height=height,
        pose_model="analytic-generator",
    )


def boxes_of(poses: xr.Dataset, pad: float = 0.05) -> xr.Dataset:
    """Boxes around the keypoints (padded by ``pad`` of their size), as a tracker gives."""
    pos = poses["position"].transpose("time", "space", "individual", "keypoint").values
    lo, hi = np.nanmin(pos, axis=-1), np.nanmax(pos, axis=-1)
    size = (hi - lo) * (1 + 2 * pad)
    ids = [int(str(i).rsplit("_", 1)[1]) for i in poses["individual"].values]
    return make_boxes(
        (lo + hi) / 2,
        size,
        np.full((pos.shape[0], pos.shape[2]), 0.9),
        poses["time"].values,
        ids,
        **{k: poses.attrs[k] for k in ("fps", "source_file", "frame_width", "frame_height")},
    )


def make_results_folder(
    folder: Path,
    video: Path | None,
    n_frames: int | None = None,
    *,
    kinematics: bool = True,
) -> Path:
    """Write ``poses.nc``, ``boxes.nc`` and the kinematics files for ``video`` into ``folder``.

    Without a video: 240 frames at 30 fps of a 1280x720 px video ``missing.mp4``.
    """
    if video is None:
        n, fps, width, height = n_frames or 240, 30.0, 1280, 720
    else:
        info = probe(video)
        n = info.frame_count if n_frames is None else min(n_frames, info.frame_count)
        fps, width, height = info.fps, info.width, info.height
    poses = synthetic_poses(n, fps, width, height, video or "missing.mp4")
    folder.mkdir(parents=True, exist_ok=True)
    save_netcdf(poses, folder / "poses.nc")
    save_netcdf(boxes_of(poses), folder / "boxes.nc")
    if kinematics:
        save_kinematics(compute_kinematics(poses), folder)
    return folder
