"""OpenPose-style JSON, one file per frame, with the track id of every person.

``<stem>_<frame:012d>_keypoints.json`` (OpenPose's naming, the video frame index)::

    {"version": 1.3,
     "people": [{"person_id": [3], "track_id": 3,
                 "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...],   # 37 x 3, px
                 "face_keypoints_2d": [], "hand_left_keypoints_2d": [], ...}]}

Keypoints: the 37 SpineTrack points in model order (the first 26 are Halpe-26, what
OpenPose-format readers of Halpe expect), image pixels (y down); an unseen point is
``0, 0, 0`` as in OpenPose.  ``person_id`` (OpenPose's field, ``[-1]`` there) and
``track_id`` both hold the track id, so tracks survive the round trip.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from ..data import track_id_of
from ._files import write_text

OPENPOSE_VERSION = 1.3
_EMPTY = (
    "face_keypoints_2d",
    "hand_left_keypoints_2d",
    "hand_right_keypoints_2d",
    "pose_keypoints_3d",
    "face_keypoints_3d",
    "hand_left_keypoints_3d",
    "hand_right_keypoints_3d",
)


def openpose_frames(poses: xr.Dataset) -> list[dict]:
    """One OpenPose dict per time sample of ``poses`` (px)."""
    xy = np.asarray(
        poses["position"].transpose("time", "individual", "keypoint", "space").values, np.float64
    )
    conf = np.asarray(poses["confidence"].transpose("time", "individual", "keypoint").values)
    ids = [track_id_of(i) for i in poses["individual"].values]
    out = []
    for t in range(xy.shape[0]):
        people = []
        for j, tid in enumerate(ids):
            seen = np.isfinite(xy[t, j]).all(axis=-1)
            if not seen.any():
                continue
            c = np.where(seen & np.isfinite(conf[t, j]), conf[t, j], 0.0)
            flat = np.where(seen[:, None], np.c_[xy[t, j], c], 0.0).ravel()
            person = {"person_id": [tid], "track_id": tid, "pose_keypoints_2d": flat.tolist()}
            person.update({k: [] for k in _EMPTY})
            people.append(person)
        out.append({"version": OPENPOSE_VERSION, "people": people})
    return out


def write_openpose(poses: xr.Dataset, folder: str | Path, stem: str) -> list[Path]:
    """Write one JSON file per frame into ``folder`` (atomically each); returns the paths."""
    folder = Path(folder)
    frames = poses["frame"].values if "frame" in poses.coords else np.arange(poses.sizes["time"])
    paths = []
    for f, doc in zip(frames, openpose_frames(poses), strict=True):
        path = folder / f"{stem}_{int(f):012d}_keypoints.json"
        paths.append(write_text(path, json.dumps(doc)))
    return paths
