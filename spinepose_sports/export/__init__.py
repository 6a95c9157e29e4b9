"""Exports for the biomechanics ecosystem: TRC, MOT, C3D, OpenPose JSON, Excel, metric.

::

    from spinepose_sports.export import export_results
    from spinepose_sports.metric import Calibration
    export_results("results/clip", ["trc", "mot", "xlsx"], Calibration.from_height(1.78))

Formats, their contents and how to open them: ``docs/exports.md``.
"""

from __future__ import annotations

from .api import (
    EXPORT_DIR,
    FORMATS,
    NEEDS_CALIBRATION,
    NEEDS_KINEMATICS,
    ExportError,
    calibration_record,
    export_results,
    parse_formats,
    remove_exports,
)
from .c3d_file import write_c3d
from .columns import AngleColumns, angle_columns
from .mot import mot_text, write_mot
from .openpose import openpose_frames, write_openpose
from .trc import trc_text, write_trc
from .xlsx import write_xlsx

__all__ = [
    "EXPORT_DIR",
    "FORMATS",
    "NEEDS_CALIBRATION",
    "NEEDS_KINEMATICS",
    "AngleColumns",
    "ExportError",
    "angle_columns",
    "calibration_record",
    "export_results",
    "mot_text",
    "openpose_frames",
    "parse_formats",
    "remove_exports",
    "trc_text",
    "write_c3d",
    "write_mot",
    "write_openpose",
    "write_trc",
    "write_xlsx",
]
