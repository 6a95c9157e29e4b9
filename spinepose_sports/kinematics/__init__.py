"""Spine and Halpe-26 kinematics: pure analysis, xarray in, xarray out.

Entry points::

    kin = compute_kinematics(poses)              # angles, velocities, view, repetitions
    kin = add_repetitions(kin, RepetitionParams(signal="lumbar"))   # re-detect
    save_kinematics(kin, "results/clip")         # kinematics.nc, angles.csv, summary.csv,
                                                 # repetitions.csv

Every quantity (points, zero, sign, range, units, views) is listed in
``docs/kinematics.md`` and in :data:`QUANTITIES`; the conventions are design.md §5.
"""

from __future__ import annotations

from .angles import time_derivative, unwrap_time, wrap
from .compute import (
    add_derivatives,
    add_repetitions,
    compute_kinematics,
    detect_view,
    select_signal,
)
from .cycles import REPETITION_COLUMNS, Repetition, RepetitionParams, find_repetitions
from .facing import (
    FACING_MARGIN,
    WINDOW_S,
    FrameOrientation,
    detect_frame_orientations,
)
from .halpe import BODY_SEGMENTS, JOINT_POINTS, JOINTS
from .io import (
    kinematics_table,
    load_kinematics,
    repetitions_table,
    save_kinematics,
    summary_table,
    validity,
)
from .quality import QUALITY_CHECKS, SEGMENT_LENGTH_FACTOR, SEGMENTAL_LIMITS_DEG
from .quantities import QUANTITIES, RELATIVE_ANGLES, UNWRAPPED_OF, Quantity
from .series import angular_acceleration, angular_velocity, unwrap_angles
from .spine import REGION_LEVELS, REGION_POINTS, REGIONS
from .view import FACINGS, MOTION_PLANES, VIEWS, TrackOrientation, detect_orientations

__all__ = [
    "BODY_SEGMENTS",
    "FACINGS",
    "FACING_MARGIN",
    "JOINTS",
    "JOINT_POINTS",
    "MOTION_PLANES",
    "QUALITY_CHECKS",
    "QUANTITIES",
    "REGIONS",
    "REGION_LEVELS",
    "REGION_POINTS",
    "RELATIVE_ANGLES",
    "REPETITION_COLUMNS",
    "SEGMENTAL_LIMITS_DEG",
    "SEGMENT_LENGTH_FACTOR",
    "UNWRAPPED_OF",
    "VIEWS",
    "WINDOW_S",
    "FrameOrientation",
    "Quantity",
    "Repetition",
    "RepetitionParams",
    "TrackOrientation",
    "add_derivatives",
    "add_repetitions",
    "angular_acceleration",
    "angular_velocity",
    "compute_kinematics",
    "detect_frame_orientations",
    "detect_orientations",
    "detect_view",
    "find_repetitions",
    "kinematics_table",
    "load_kinematics",
    "repetitions_table",
    "save_kinematics",
    "select_signal",
    "summary_table",
    "time_derivative",
    "unwrap_angles",
    "unwrap_time",
    "validity",
    "wrap",
]
