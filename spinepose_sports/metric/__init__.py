"""Real-world units: pixels to metres from a calibration, speeds, jumps, lengths.

Pure analysis (xarray in, xarray out, no I/O except reading a calibration file)::

    from spinepose_sports.metric import Calibration, compute_metric, jumps_table
    cal = Calibration.from_height(1.78, {"track_3": 1.65})   # or from_points / from_file
    metric = compute_metric(poses, cal)     # position m, pelvis_speed m/s, foot_height m ...
    jumps = jumps_table(metric)             # take-off, landing, flight time, jump height

Assumptions and measured errors: ``docs/exports.md``.
"""

from __future__ import annotations

from .calibration import (
    CALIBRATION_FILE_VERSION,
    HEIGHT_RANGE_M,
    Calibration,
    CalibrationError,
    individual_key,
    parse_heights,
    parse_points,
)
from .motion import (
    JUMP_COLUMNS,
    METRIC_DS_TYPE,
    compute_metric,
    foot_height,
    jumps_table,
    pelvis_motion,
    segment_lengths,
    speeds_table,
    to_metres,
)
from .scale import (
    ASSUMPTIONS,
    FloorLine,
    ResolvedCalibration,
    estimate_floor,
    resolve,
    stature_px,
)
from .summary import METRIC_QUANTITIES, metric_summary

__all__ = [
    "ASSUMPTIONS",
    "CALIBRATION_FILE_VERSION",
    "HEIGHT_RANGE_M",
    "JUMP_COLUMNS",
    "METRIC_DS_TYPE",
    "METRIC_QUANTITIES",
    "Calibration",
    "CalibrationError",
    "FloorLine",
    "ResolvedCalibration",
    "compute_metric",
    "estimate_floor",
    "foot_height",
    "individual_key",
    "jumps_table",
    "metric_summary",
    "parse_heights",
    "parse_points",
    "pelvis_motion",
    "resolve",
    "segment_lengths",
    "speeds_table",
    "stature_px",
    "to_metres",
]
