"""Halpe-26 joint and segment angles with Sports2D's definitions (pure numpy).

Sports2D works in a y-up frame, anticlockwise positive, after mirroring the x axis of an
athlete who faces image left, so that every athlete is measured as if facing image right
("body frame").  Here the mirroring is decided frame by frame by the track's orientation
(:mod:`.facing`): ``flip = -1`` for a side view facing left, ``+1`` otherwise (front and
back views are measured unmirrored), NaN in a side view whose facing is unknown (the
body-frame angles of that frame are NaN).  As in Sports2D, the pelvis, trunk and shoulders segment
angles are measured in the unmirrored image frame, and the pelvis and shoulders angles
are axes (period 180°, wrapped into (-90, 90]).

``rot(a -> b)`` is the signed anticlockwise rotation from vector a to vector b (y up).

Joint angles (0 = the neutral pose named, flexion / dorsiflexion positive):

=========  ======================================================  ===================
joint      definition (body frame)                                 zero
=========  ======================================================  ===================
ankle      rot((ankle−knee) -> (heel−big_toe)) + 90                foot ⟂ shank
knee       rot((ankle−knee) -> (hip−knee)) − 180                   straight leg
hip        rot((neck−hip) -> (side_hip−knee))                      thigh along trunk
shoulder   rot((neck−hip) -> (shoulder−elbow))                     arm along trunk, down
elbow      −(rot((wrist−elbow) -> (shoulder−elbow)) + 180)         straight arm
=========  ======================================================  ===================

Segment angles: direction of (first − second) point from the +x axis, anticlockwise:
foot big_toe−heel, shank ankle−knee, thigh knee−hip, arm elbow−shoulder, forearm
wrist−elbow, head head−neck (body frame); pelvis left_hip−right_hip, trunk neck−hip,
shoulders left_shoulder−right_shoulder (image frame, y up).
"""

from __future__ import annotations

import numpy as np

from ..skeleton import KEYPOINT_INDEX
from .angles import direction_deg, rotation_deg, unwrap_time, wrap

_K = KEYPOINT_INDEX

JOINTS: tuple[str, ...] = (
    "right_ankle",
    "left_ankle",
    "right_knee",
    "left_knee",
    "right_hip",
    "left_hip",
    "right_shoulder",
    "left_shoulder",
    "right_elbow",
    "left_elbow",
)

#: Halpe-26 segments: name -> (first point, second point); angle of (first − second).
BODY_SEGMENTS: dict[str, tuple[str, str]] = {
    "right_foot": ("right_big_toe", "right_heel"),
    "left_foot": ("left_big_toe", "left_heel"),
    "right_shank": ("right_ankle", "right_knee"),
    "left_shank": ("left_ankle", "left_knee"),
    "right_thigh": ("right_knee", "right_hip"),
    "left_thigh": ("left_knee", "left_hip"),
    "pelvis": ("left_hip", "right_hip"),
    "trunk": ("neck", "hip"),
    "shoulders": ("left_shoulder", "right_shoulder"),
    "head": ("head", "neck"),
    "right_arm": ("right_elbow", "right_shoulder"),
    "left_arm": ("left_elbow", "left_shoulder"),
    "right_forearm": ("right_wrist", "right_elbow"),
    "left_forearm": ("left_wrist", "left_elbow"),
}
#: Segments measured in the unmirrored image frame (as Sports2D does).
IMAGE_FRAME_SEGMENTS: frozenset[str] = frozenset({"pelvis", "trunk", "shoulders"})
#: Segments that are axes (left−right lines): period 180°, range (-90, 90].
AXIS_SEGMENTS: frozenset[str] = frozenset({"pelvis", "shoulders"})

#: Points each joint angle uses (for the docs and tables).
JOINT_POINTS: dict[str, tuple[str, ...]] = {}
for _side in ("right", "left"):
    JOINT_POINTS[f"{_side}_ankle"] = (
        f"{_side}_knee",
        f"{_side}_ankle",
        f"{_side}_big_toe",
        f"{_side}_heel",
    )
    JOINT_POINTS[f"{_side}_knee"] = (f"{_side}_hip", f"{_side}_knee", f"{_side}_ankle")
    JOINT_POINTS[f"{_side}_hip"] = (f"{_side}_knee", f"{_side}_hip", "hip", "neck")
    JOINT_POINTS[f"{_side}_shoulder"] = (f"{_side}_elbow", f"{_side}_shoulder", "hip", "neck")
    JOINT_POINTS[f"{_side}_elbow"] = (f"{_side}_wrist", f"{_side}_elbow", f"{_side}_shoulder")


def _pt(xy: np.ndarray, name: str) -> np.ndarray:
    return xy[:, :, _K[name], :]


def joint_angle_raw(xy_body: np.ndarray, joint: str) -> np.ndarray:
    """One joint angle ``(T, N)`` deg in (-180, 180], not unwrapped.

    xy_body: ``(T, N, 37, 2)`` px in the body frame (y up, mirrored for left-facing side
    views); joint: one of :data:`JOINTS`.
    """
    side, kind = joint.split("_", 1)

    def p(name: str) -> np.ndarray:
        return _pt(xy_body, f"{side}_{name}")

    trunk = _pt(xy_body, "neck") - _pt(xy_body, "hip")
    if kind == "ankle":
        raw = rotation_deg(p("ankle") - p("knee"), p("heel") - p("big_toe")) + 90.0
    elif kind == "knee":
        raw = rotation_deg(p("ankle") - p("knee"), p("hip") - p("knee")) - 180.0
    elif kind == "hip":
        raw = rotation_deg(trunk, p("hip") - p("knee"))
    elif kind == "shoulder":
        raw = rotation_deg(trunk, p("shoulder") - p("elbow"))
    elif kind == "elbow":
        raw = -(rotation_deg(p("wrist") - p("elbow"), p("shoulder") - p("elbow")) + 180.0)
    else:
        raise ValueError(f"joint: expected one of {list(JOINTS)}, received {joint!r}")
    return wrap(raw)


def segment_angle_raw(xy_body: np.ndarray, xy_image: np.ndarray, segment: str) -> np.ndarray:
    """One Halpe segment angle ``(T, N)`` deg, not unwrapped.

    xy_body / xy_image: ``(T, N, 37, 2)`` px, y up, mirrored / unmirrored.  Range
    (-180, 180], or (-90, 90] for :data:`AXIS_SEGMENTS`.
    """
    first, second = BODY_SEGMENTS[segment]
    xy = xy_image if segment in IMAGE_FRAME_SEGMENTS else xy_body
    angle = direction_deg(_pt(xy, first) - _pt(xy, second))
    return wrap(angle, 180.0) if segment in AXIS_SEGMENTS else angle


def body_frame(xy_up: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Mirror x where ``flip`` is -1 (NaN where it is NaN): ``(T, N, 37, 2)`` -> same shape.

    flip: ``(N,)`` per track or ``(T, N)`` per frame.
    """
    f = np.asarray(flip, dtype=np.float64)
    f = np.broadcast_to(f[None, :] if f.ndim == 1 else f, xy_up.shape[:2])
    out = xy_up.copy()
    out[..., 0] *= f[..., None]
    return out


def halpe_angles(
    xy_up: np.ndarray, flip: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint angles ``(T, N, 10)``, segment angles ``(T, N, 14)`` and the segment angles
    unwrapped over time ``(T, N, 14)``, deg.

    xy_up: ``(T, N, 37, 2)`` px, y up; flip: ``(N,)`` or ``(T, N)``: -1 where seen from
    the side facing image left, +1 otherwise, NaN where unknown.  Joint angles (relative)
    are in (-180, 180] and never unwrapped; segment angles in (-180, 180] ((-90, 90] for
    the axes).  Order: :data:`JOINTS`, :data:`BODY_SEGMENTS`.
    """
    xy_body = body_frame(xy_up, flip)
    joints = np.stack([joint_angle_raw(xy_body, j) for j in JOINTS], axis=-1)
    segs, unwrapped = [], []
    for name in BODY_SEGMENTS:
        raw = segment_angle_raw(xy_body, xy_up, name)
        segs.append(raw)
        unwrapped.append(unwrap_time(raw, 180.0 if name in AXIS_SEGMENTS else 360.0))
    return joints, np.stack(segs, axis=-1), np.stack(unwrapped, axis=-1)
