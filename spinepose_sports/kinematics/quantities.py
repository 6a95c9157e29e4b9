"""The one table of every kinematic quantity: units, points, zero, sign, range, views.

:data:`QUANTITIES` feeds the dataset attributes (``units``, ``description``) and is the
source of the table in ``docs/kinematics.md``.  "sign" is the direction of positive
values; "views" says in which views the quantity is meaningful.  In side views the spine
angles are flexion (+) / extension (−); in front and back views the same variables hold
lateral bending, positive toward the athlete's right (``motion_plane`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    """Documentation of one dataset variable."""

    units: str
    points: str
    zero: str
    sign: str
    range: str
    views: str
    description: str


_SPINE_SIGN = (
    "side views: toward the athlete's front (flexion); front/back views: toward the "
    "athlete's right (right lateral bending)"
)
_RELATIVE = "(-180, 180], never unwrapped"
_ABSOLUTE = "(-180, 180] (the *_unwrapped variable follows rotations)"
_UNWRAPPED = "first valid value in (-180, 180], then continuous (unwrapped over time)"

QUANTITIES: dict[str, Quantity] = {
    "segment_angle": Quantity(
        "deg",
        "consecutive spine chain points, proximal -> distal (hip ... head)",
        "segment vertical, distal point above the proximal",
        _SPINE_SIGN,
        _ABSOLUTE,
        "all",
        "spine segment orientation from the image vertical (y up)",
    ),
    "segment_angle_unwrapped": Quantity(
        "deg",
        "as segment_angle",
        "as segment_angle",
        _SPINE_SIGN,
        _UNWRAPPED,
        "all",
        "segment_angle unwrapped over time: counts whole turns (a somersault adds 360)",
    ),
    "segmental_angle": Quantity(
        "deg",
        "the level's point and its two chain neighbours",
        "the two adjacent segments aligned",
        "flexion (side) / right bending (frontal): "
        "the upper segment turned further toward the positive direction",
        _RELATIVE,
        "all",
        "intervertebral angle at an interior chain point: theta(next) - theta(previous)",
    ),
    "regional_angle": Quantity(
        "deg",
        "lumbar: levels spine_01, spine_02, spine_03 (T12/L1); thoracic: spine_04, "
        "spine_05; cervical: neck (C7), neck_02, neck_03",
        "first and last segment of the region parallel",
        "as segmental_angle",
        _RELATIVE,
        "all",
        "regional angle: the sum of the region's segmental angles; the three regions "
        "partition the 8 levels and add up to spine_bend",
    ),
    "spine_bend": Quantity(
        "deg",
        "all 10 chain points: theta(neck_03-head) - theta(hip-spine_01)",
        "first and last segment parallel",
        "as segmental_angle",
        _RELATIVE,
        "all",
        "whole-chain bend: the sum of the 8 segmental angles (= lumbar + thoracic + cervical)",
    ),
    "trunk_flexion": Quantity(
        "deg",
        "hip -> neck",
        "hip-neck line vertical, neck above hip",
        _SPINE_SIGN,
        _ABSOLUTE,
        "all",
        "trunk (hip -> neck line) angle from the image vertical",
    ),
    "trunk_flexion_unwrapped": Quantity(
        "deg",
        "hip -> neck",
        "as trunk_flexion",
        _SPINE_SIGN,
        _UNWRAPPED,
        "all",
        "trunk_flexion unwrapped over time: a full somersault reads one turn (360)",
    ),
    "pelvis_tilt": Quantity(
        "deg",
        "hip -> spine_01 (sacral segment)",
        "sacral segment vertical",
        _SPINE_SIGN,
        _ABSOLUTE,
        "all",
        "pelvis orientation: the sacral segment hip -> spine_01 from the image vertical",
    ),
    "pelvis_tilt_unwrapped": Quantity(
        "deg",
        "hip -> spine_01 (sacral segment)",
        "as pelvis_tilt",
        _SPINE_SIGN,
        _UNWRAPPED,
        "all",
        "pelvis_tilt unwrapped over time (counts whole turns)",
    ),
    "flexion_curve": Quantity(
        "deg",
        "all 10 chain points",
        "straight spine (or bent like the sacral segment)",
        "as segmental_angle",
        "continuous; starts at 0 at arc 0",
        "all",
        "cumulative flexion relative to the sacral segment vs normalised arc length "
        "(segment midpoints, linear in between)",
    ),
    "curvature": Quantity(
        "deg/spine_length",
        "all 10 chain points (needs the chain length)",
        "straight",
        "as segmental_angle",
        "unbounded",
        "all",
        "segmental angle over the normalised length around the level "
        "((L_prev + L_next) / 2 / chain length): turning per unit spine length",
    ),
    "spine_length": Quantity(
        "px",
        "all 10 chain points",
        "-",
        "-",
        ">= 0",
        "all",
        "length of the 9-segment chain in this frame",
    ),
    "joint_angle": Quantity(
        "deg",
        "Sports2D joint definitions (see docs/kinematics.md)",
        "ankle: foot perpendicular to shank; knee, hip, elbow: segments aligned; "
        "shoulder: arm hanging along the trunk",
        "flexion / dorsiflexion",
        _RELATIVE,
        "side views (sagittal); front/back: image-plane values",
        "Halpe-26 joint angle with Sports2D's definitions (body frame, facing image right)",
    ),
    "halpe_segment_angle": Quantity(
        "deg",
        "Sports2D segment definitions (see docs/kinematics.md)",
        "segment pointing along +x (horizontal); trunk upright = 90",
        "anticlockwise",
        "(-180, 180] ((-90, 90] for pelvis, shoulders)",
        "side views (pelvis, shoulders: front/back)",
        "Halpe-26 segment angle from the +x axis, anticlockwise (Sports2D)",
    ),
    "halpe_segment_angle_unwrapped": Quantity(
        "deg",
        "as halpe_segment_angle",
        "as halpe_segment_angle",
        "anticlockwise",
        "first valid in (-180, 180] ((-90, 90] for pelvis, shoulders), then unwrapped",
        "as halpe_segment_angle",
        "halpe_segment_angle unwrapped over time (counts whole turns)",
    ),
}

#: Variables that get a time derivative (velocity, acceleration).
DIFFERENTIATED: tuple[str, ...] = (
    "segment_angle",
    "segmental_angle",
    "regional_angle",
    "spine_bend",
    "trunk_flexion",
    "pelvis_tilt",
    "joint_angle",
    "halpe_segment_angle",
)
#: Absolute orientations (wrapped) and their unwrapped series.
UNWRAPPED_OF: dict[str, str] = {
    "segment_angle": "segment_angle_unwrapped",
    "trunk_flexion": "trunk_flexion_unwrapped",
    "pelvis_tilt": "pelvis_tilt_unwrapped",
    "halpe_segment_angle": "halpe_segment_angle_unwrapped",
}
#: Relative angles: always in (-180, 180], never unwrapped.
RELATIVE_ANGLES: tuple[str, ...] = (
    "segmental_angle", "regional_angle", "spine_bend", "joint_angle",
)
#: Angle variables (tidy table and summary defaults).
ANGLE_VARIABLES: tuple[str, ...] = (
    "segment_angle",
    "segment_angle_unwrapped",
    "segmental_angle",
    "regional_angle",
    "spine_bend",
    "trunk_flexion",
    "trunk_flexion_unwrapped",
    "pelvis_tilt",
    "pelvis_tilt_unwrapped",
    "curvature",
    "joint_angle",
    "halpe_segment_angle",
    "halpe_segment_angle_unwrapped",
)


def velocity_name(name: str) -> str:
    return f"{name}_velocity"


def acceleration_name(name: str) -> str:
    return f"{name}_acceleration"


def units_of(name: str) -> str:
    """Units of any kinematics variable, derivatives included."""
    if name.endswith("_velocity"):
        return QUANTITIES[name[: -len("_velocity")]].units + "/s"
    if name.endswith("_acceleration"):
        return QUANTITIES[name[: -len("_acceleration")]].units + "/s^2"
    return QUANTITIES[name].units


def description_of(name: str) -> str:
    """One-line description of any kinematics variable, derivatives included."""
    if name.endswith("_velocity"):
        return "time derivative of " + QUANTITIES[name[: -len("_velocity")]].description
    if name.endswith("_acceleration"):
        base = QUANTITIES[name[: -len("_acceleration")]].description
        return "second time derivative of " + base
    q = QUANTITIES[name]
    return f"{q.description}; points: {q.points}; zero: {q.zero}; positive: {q.sign}"
