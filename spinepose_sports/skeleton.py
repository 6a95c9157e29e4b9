"""The SpineTrack skeleton: 37 keypoints, their links, left/right swaps and the spine chain.

Names, order, links and swaps are the facts of the official SpinePose metadata
(``spinetrack``).  Indices 0-25 are exactly Halpe-26.
"""

from __future__ import annotations

import itertools

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "head",  # top of the head
    "neck",  # C7
    "hip",  # pelvis / sacrum midpoint
    "left_big_toe",
    "right_big_toe",
    "left_small_toe",
    "right_small_toe",
    "left_heel",
    "right_heel",
    "spine_01",  # L5
    "spine_02",  # L3
    "spine_03",  # T12/L1
    "spine_04",  # T8
    "spine_05",  # T3
    "left_latissimus",
    "right_latissimus",
    "left_clavicle",
    "right_clavicle",
    "neck_02",  # C3/C4
    "neck_03",  # C1
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)  # 37

#: The one keypoint confidence threshold: a point below it is treated as missing by
#: smoothing, kinematics, track stitching, appearance and the overlay (each exposes it as
#: a parameter, defaulting to this value).
MIN_KEYPOINT_CONFIDENCE = 0.3
KEYPOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

#: Anatomical notes for the points whose names do not say it.
ANATOMICAL_NOTES: dict[str, str] = {
    "head": "top of the head",
    "neck": "C7",
    "hip": "pelvis / sacrum midpoint",
    "spine_01": "L5",
    "spine_02": "L3",
    "spine_03": "T12/L1",
    "spine_04": "T8",
    "spine_05": "T3",
    "neck_02": "C3/C4",
    "neck_03": "C1",
}

#: Halpe-26 is the first 26 keypoints of SpineTrack.
HALPE26_NAMES: tuple[str, ...] = KEYPOINT_NAMES[:26]

#: The links of the official metadata, in its order (pairs of keypoint names).
LINKS: tuple[tuple[str, str], ...] = (
    ("left_ankle", "left_knee"),
    ("left_knee", "left_hip"),
    ("left_hip", "hip"),
    ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"),
    ("right_hip", "hip"),
    ("head", "neck_03"),
    ("neck_03", "neck_02"),
    ("neck_02", "neck"),
    ("neck", "spine_05"),
    ("spine_05", "spine_04"),
    ("spine_04", "spine_03"),
    ("spine_03", "spine_02"),
    ("spine_02", "spine_01"),
    ("spine_01", "hip"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_eye", "right_eye"),
    ("head", "nose"),
    ("nose", "left_eye"),
    ("nose", "right_eye"),
    ("left_eye", "left_ear"),
    ("right_eye", "right_ear"),
    ("left_ear", "left_shoulder"),
    ("right_ear", "right_shoulder"),
    ("left_ankle", "left_big_toe"),
    ("left_ankle", "left_small_toe"),
    ("left_ankle", "left_heel"),
    ("right_ankle", "right_big_toe"),
    ("right_ankle", "right_small_toe"),
    ("right_ankle", "right_heel"),
    ("spine_05", "left_clavicle"),
    ("spine_05", "right_clavicle"),
    ("left_shoulder", "left_clavicle"),
    ("right_clavicle", "right_shoulder"),
    ("spine_04", "left_latissimus"),
    ("spine_04", "right_latissimus"),
)
LINK_INDICES: tuple[tuple[int, int], ...] = tuple(
    (KEYPOINT_INDEX[a], KEYPOINT_INDEX[b]) for a, b in LINKS
)

#: Left/right partner of each keypoint (empty string: on the midline).
SWAPS: dict[str, str] = {}
for _name in KEYPOINT_NAMES:
    if _name.startswith("left_"):
        SWAPS[_name] = "right_" + _name[len("left_") :]
    elif _name.startswith("right_"):
        SWAPS[_name] = "left_" + _name[len("right_") :]
    else:
        SWAPS[_name] = ""
FLIP_INDICES: tuple[int, ...] = tuple(
    KEYPOINT_INDEX[SWAPS[n]] if SWAPS[n] else i for i, n in enumerate(KEYPOINT_NAMES)
)

#: The spine chain from pelvis to head: 10 points, 9 segments.
SPINE_CHAIN: tuple[str, ...] = (
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
SPINE_CHAIN_INDICES: tuple[int, ...] = tuple(KEYPOINT_INDEX[n] for n in SPINE_CHAIN)
#: Segment labels ``proximal-distal``, pelvis to head (9).
SPINE_SEGMENTS: tuple[str, ...] = tuple(
    f"{a}-{b}" for a, b in itertools.pairwise(SPINE_CHAIN)
)
#: Levels: the interior chain points, where segmental angles are measured (8).
SPINE_LEVELS: tuple[str, ...] = SPINE_CHAIN[1:-1]

#: Links that belong to the spine chain (drawn as the spine curve by the renderer).
SPINE_LINKS: frozenset[tuple[int, int]] = frozenset(
    (a, b) for a, b in LINK_INDICES if a in SPINE_CHAIN_INDICES and b in SPINE_CHAIN_INDICES
)


def side_of(name: str) -> str:
    """Return ``"left"``, ``"right"`` or ``"center"`` for a keypoint name."""
    if name.startswith("left_"):
        return "left"
    if name.startswith("right_"):
        return "right"
    return "center"
