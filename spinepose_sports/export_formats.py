"""The export format names and their checks, without any heavy import.

The configuration (:mod:`spinepose_sports.config_units`) checks ``export`` settings at
startup, before anything is loaded; :mod:`spinepose_sports.export` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Sequence

FORMATS: tuple[str, ...] = ("trc", "mot", "c3d", "openpose", "xlsx", "metric")
NEEDS_CALIBRATION = frozenset({"trc", "c3d", "metric"})
NEEDS_KINEMATICS = frozenset({"mot", "xlsx"})
#: The exports' folder inside a results folder.
EXPORT_DIR = "export"


class ExportError(ValueError):
    """An export cannot be made: bad format, missing file, unknown athlete (one line)."""


def parse_formats(formats: str | Sequence[str]) -> list[str]:
    """``"trc,mot"`` or ``["trc", "MOT"]`` -> ``["trc", "mot"]`` (checked, de-duplicated)."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out: list[str] = []
    for item in items:
        for f in str(item).split(","):
            f = f.strip().lower().lstrip(".")
            if not f:
                continue
            if f not in FORMATS:
                raise ExportError(f"unknown export format {f!r}; choose from {', '.join(FORMATS)}")
            if f not in out:
                out.append(f)
    if not out:
        raise ExportError(f"no export format given; choose from {', '.join(FORMATS)}")
    return out


__all__ = [
    "EXPORT_DIR",
    "FORMATS",
    "NEEDS_CALIBRATION",
    "NEEDS_KINEMATICS",
    "ExportError",
    "parse_formats",
]
