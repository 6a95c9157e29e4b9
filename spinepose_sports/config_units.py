"""The ``[units]`` section of the configuration: real-world units and exports.

Part of the one configuration model (:mod:`spinepose_sports.config`); its settings are
``analyze`` flags and pipeline-file keys of the ``[units]`` table like every other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import field_validator, model_validator

from .config_base import Section, setting


class UnitsSettings(Section):
    """Real-world units from a calibration (``metric.nc``, ``speeds.csv``, ``jumps.csv``,
    pelvis speed and jumps in ``summary.csv`` and the dashboard) and exports for other
    tools (in the results folder's ``export/``; see docs/exports.md).  One calibration
    method at a time: heights, a calibration file, or two points and their distance."""

    athlete_height: float | None = setting(
        None, "Standing height of every athlete, m (e.g. 1.78): pixels to metres."
    )
    athlete_heights: dict[str, float] = setting(
        {},
        "Heights of some athletes by track id, m: '3=1.82,5=1.70' on the CLI, a table "
        "or that string in pipeline files; the others take athlete_height.",
    )
    calibration: Path | None = setting(
        None, "Calibration file (TOML or JSON: heights, two points and a distance, or m/px)."
    )
    calibration_points: tuple[float, float, float, float] | None = setting(
        None,
        "Two image points a known distance apart in the plane of motion: X1,Y1,X2,Y2 px "
        "(with calibration_distance).",
    )
    calibration_distance: float | None = setting(
        None, "Real distance between calibration_points, m.", gt=0
    )
    floor_angle: float | None = setting(
        None,
        "Floor tilt in the image, deg (anticlockwise +); default: estimated from the feet.",
        ge=-45,
        le=45,
    )
    export: tuple[str, ...] = setting(
        (),
        "Export formats written into export/ after the analysis, comma-separated: trc, "
        "c3d, metric (need a calibration), mot, xlsx (need kinematics), openpose.",
    )

    @field_validator("athlete_height")
    @classmethod
    def _height(cls, value: float | None) -> float | None:
        from .metric.calibration import HEIGHT_RANGE_M

        lo, hi = HEIGHT_RANGE_M
        if value is not None and not lo <= value <= hi:
            raise ValueError(f"not a human height in m ({lo}-{hi})")
        return value

    @field_validator("athlete_heights", mode="before")
    @classmethod
    def _heights(cls, value: Any) -> Any:
        from .metric import CalibrationError, parse_heights

        if value is None or value == {}:
            return {}
        try:
            return parse_heights(value)
        except CalibrationError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("calibration")
    @classmethod
    def _calibration_file(cls, value: Path | None) -> Path | None:
        from .metric import Calibration, CalibrationError

        if value is not None:
            try:
                Calibration.from_file(value)
            except CalibrationError as exc:
                raise ValueError(str(exc).replace(f"{value}: ", "")) from None
        return value

    @field_validator("calibration_points", mode="before")
    @classmethod
    def _points(cls, value: Any) -> Any:
        from .metric import CalibrationError, parse_points

        if value is None:
            return None
        try:
            (x1, y1), (x2, y2) = parse_points(value)
        except CalibrationError as exc:
            raise ValueError(str(exc)) from None
        return (x1, y1, x2, y2)

    @field_validator("export", mode="before")
    @classmethod
    def _formats(cls, value: Any) -> Any:
        from .export_formats import ExportError, parse_formats

        if value is None or value == "" or (isinstance(value, list | tuple) and not value):
            return ()
        try:
            return tuple(parse_formats(value))
        except ExportError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _one_method(self) -> UnitsSettings:
        from .export_formats import NEEDS_CALIBRATION

        methods = self.methods()
        if len(methods) > 1:
            raise ValueError(
                "give one calibration method: athlete_height/athlete_heights, calibration, "
                f"or calibration_points with calibration_distance (got {' and '.join(methods)})"
            )
        if (self.calibration_points is None) != (self.calibration_distance is None):
            raise ValueError("calibration_points and calibration_distance go together")
        needs = [f for f in self.export if f in NEEDS_CALIBRATION]
        if needs and not methods:
            raise ValueError(
                f"export = {','.join(self.export)}: {needs_words(needs)} metres; give "
                "athlete_height, athlete_heights, calibration or calibration_points"
            )
        return self

    def methods(self) -> list[str]:
        """The calibration methods given (at most one in a valid configuration)."""
        given = (
            ("athlete_height", self.athlete_height is not None or bool(self.athlete_heights)),
            ("calibration", self.calibration is not None),
            ("calibration_points", self.calibration_points is not None
             or self.calibration_distance is not None),
        )
        return [name for name, on in given if on]


def needs_words(formats: list[str]) -> str:
    """``"trc needs"`` / ``"trc, c3d need"``."""
    return f"{', '.join(formats)} {'needs' if len(formats) == 1 else 'need'}"


__all__ = ["UnitsSettings", "needs_words"]
