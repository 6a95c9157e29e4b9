"""What the user tells about the scene: how to turn pixels into metres.

A :class:`Calibration` holds one of three methods (pure data, no image work):

* ``height``: the athlete's standing height in m (one for every athlete, and/or one per
  athlete); the pixel size of each athlete comes from their keypoints
  (:func:`spinepose_sports.metric.scale.stature_px`);
* ``points``: two image points (px) a known distance apart (m), e.g. the ends of a line
  on the floor in the athlete's plane of motion; one scale for the whole video;
* ``scale``: a scale in m per px given directly.

Every method may add the floor's tilt in the image (``floor_angle_deg``); without it the
tilt is estimated from the feet.  :meth:`Calibration.from_file` reads the small TOML or
JSON calibration file documented in ``docs/exports.md``::

    # calibration.toml
    height_m = 1.78               # every athlete (method "height")
    floor_angle_deg = 0.0         # optional; omit to estimate it from the feet
    [heights_m]                   # optional, per athlete: track id or "track_<id>"
    3 = 1.82

    # or: points_px = [[112, 640], [1180, 652]]  and  distance_m = 5.0
    # or: m_per_px = 0.0041
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Plausible standing heights of an athlete (m): outside, the value is refused.
HEIGHT_RANGE_M = (0.5, 2.6)
#: Largest floor tilt accepted (deg): beyond it the camera is not looking at a floor.
MAX_FLOOR_ANGLE_DEG = 45.0
CALIBRATION_FILE_VERSION = 1
METHODS = ("height", "points", "scale")


class CalibrationError(ValueError):
    """A calibration value is missing, impossible or contradictory (one-line message)."""


def individual_key(key: str | int) -> str:
    """``3``, ``"3"``, ``"#3"`` or ``"track_3"`` -> ``"track_3"``."""
    text = str(key).strip().lstrip("#")
    if text.startswith("track_"):
        text = text[len("track_") :]
    try:
        return f"track_{int(text)}"
    except ValueError as exc:
        raise CalibrationError(
            f"athlete {key!r}: expected a track id such as 3 or 'track_3'"
        ) from exc


def _check_height(height: float, who: str) -> float:
    h = float(height)
    lo, hi = HEIGHT_RANGE_M
    if not (math.isfinite(h) and lo <= h <= hi):
        raise CalibrationError(f"{who}: height {height} m is not a human height ({lo}-{hi} m)")
    return h


def parse_heights(spec: str | Mapping[Any, Any] | Sequence[str] | None) -> dict[str, float]:
    """Per-athlete heights: ``"3=1.82,5=1.70"``, ``["3=1.82", "track_5=1.7"]`` or
    ``{3: 1.82}`` -> ``{"track_3": 1.82, ...}`` (m, checked against :data:`HEIGHT_RANGE_M`)."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        pairs = [(k, v) for k, v in spec.items()]
    else:
        items = [spec] if isinstance(spec, str) else list(spec)
        pairs = []
        for part in (p for item in items for p in str(item).split(",") if p.strip()):
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise CalibrationError(f"expected TRACK=METRES like 3=1.82,5=1.70, got {part!r}")
            pairs.append((key.strip(), value.strip()))
    out: dict[str, float] = {}
    for key, value in pairs:
        try:
            metres = float(value)
        except (TypeError, ValueError):
            raise CalibrationError(
                f"athlete {key}: expected a height in m (TRACK=METRES like 3=1.82), got {value!r}"
            ) from None
        out[individual_key(key)] = _check_height(metres, f"athlete {key}")
    return out


def parse_points(spec: str | Sequence[Any]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two image points (px): ``"x1,y1,x2,y2"``, ``[x1, y1, x2, y2]`` or
    ``[[x1, y1], [x2, y2]]`` -> ``((x1, y1), (x2, y2))``."""
    flat: list[Any]
    if isinstance(spec, str):
        flat = spec.split(",")
    else:
        flat = [v for item in spec for v in (item if isinstance(item, list | tuple) else [item])]
    try:
        x1, y1, x2, y2 = (float(v) for v in flat)
    except (TypeError, ValueError):
        raise CalibrationError(
            f"expected two image points X1,Y1,X2,Y2 in px, got {spec!r}"
        ) from None
    return (x1, y1), (x2, y2)


@dataclass(frozen=True)
class Calibration:
    """Pixels-to-metres calibration of one video (see the module doc).

    height_m: standing height (m) of every athlete without an entry in ``heights_m``;
    heights_m: ``{individual: m}`` (keys normalised to ``"track_<id>"``); points_px: two
    image points ``((x1, y1), (x2, y2))`` px; distance_m: their real distance (m);
    m_per_px: a direct scale; floor_angle_deg: the floor line's angle in the image (deg,
    anticlockwise positive in a y-up frame, i.e. the floor rises to the right), None to
    estimate it from the feet.
    """

    height_m: float | None = None
    heights_m: Mapping[str, float] = field(default_factory=dict)
    points_px: tuple[tuple[float, float], tuple[float, float]] | None = None
    distance_m: float | None = None
    m_per_px: float | None = None
    floor_angle_deg: float | None = None

    def __post_init__(self) -> None:
        heights = {
            individual_key(k): _check_height(v, f"athlete {k}")
            for k, v in dict(self.heights_m).items()
        }
        object.__setattr__(self, "heights_m", heights)
        if self.height_m is not None:
            object.__setattr__(self, "height_m", _check_height(self.height_m, "athlete height"))
        given = [
            m
            for m, on in (
                ("height", self.height_m is not None or bool(heights)),
                ("points", self.points_px is not None or self.distance_m is not None),
                ("scale", self.m_per_px is not None),
            )
            if on
        ]
        if len(given) != 1:
            raise CalibrationError(
                "calibration: give exactly one of an athlete height, two points with a "
                f"distance, or m_per_px (received {', '.join(given) or 'none'})"
            )
        if given[0] == "points":
            self._check_points()
        if self.m_per_px is not None and not (0 < float(self.m_per_px) < 1.0):
            raise CalibrationError(f"m_per_px: {self.m_per_px} is not a scale in (0, 1) m/px")
        if self.floor_angle_deg is not None and not (
            abs(float(self.floor_angle_deg)) <= MAX_FLOOR_ANGLE_DEG
        ):
            raise CalibrationError(
                f"floor_angle_deg: {self.floor_angle_deg} is beyond ±{MAX_FLOOR_ANGLE_DEG} deg"
            )

    def _check_points(self) -> None:
        if self.points_px is None or self.distance_m is None:
            raise CalibrationError("calibration by points: give both points_px and distance_m")
        try:
            (x1, y1), (x2, y2) = ((float(a), float(b)) for a, b in self.points_px)
        except (TypeError, ValueError) as exc:
            raise CalibrationError(
                f"points_px: expected two points [[x1, y1], [x2, y2]], received {self.points_px}"
            ) from exc
        object.__setattr__(self, "points_px", ((x1, y1), (x2, y2)))
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or math.hypot(x2 - x1, y2 - y1) < 1:
            raise CalibrationError(f"points_px: the two points {self.points_px} must differ")
        d = float(self.distance_m)
        if not (math.isfinite(d) and d > 0):
            raise CalibrationError(f"distance_m: {self.distance_m} must be a positive distance")

    # ---------------------------------------------------------------- constructors

    @classmethod
    def from_height(
        cls,
        height_m: float | None = None,
        heights_m: Mapping[Any, float] | None = None,
        *,
        floor_angle_deg: float | None = None,
    ) -> Calibration:
        """From the athletes' standing heights: one for all and/or ``{track: m}`` (keys: a
        track id ``3`` or ``"track_3"``)."""
        heights = {individual_key(k): float(v) for k, v in (heights_m or {}).items()}
        return cls(height_m=height_m, heights_m=heights, floor_angle_deg=floor_angle_deg)

    @classmethod
    def from_points(
        cls,
        p1: Sequence[float],
        p2: Sequence[float],
        distance_m: float,
        *,
        floor_angle_deg: float | None = None,
    ) -> Calibration:
        """From two image points ``(x, y)`` px that are ``distance_m`` metres apart."""
        pts = ((float(p1[0]), float(p1[1])), (float(p2[0]), float(p2[1])))
        return cls(points_px=pts, distance_m=float(distance_m), floor_angle_deg=floor_angle_deg)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "calibration") -> Calibration:
        """From the keys of a calibration file (see the module doc)."""
        known = {
            "version",
            "height_m",
            "heights_m",
            "points_px",
            "distance_m",
            "m_per_px",
            "floor_angle_deg",
            "method",
            "assumptions",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise CalibrationError(f"{source}: unknown keys {unknown}; known: {sorted(known)}")
        version = int(data.get("version", CALIBRATION_FILE_VERSION))
        if version != CALIBRATION_FILE_VERSION:
            raise CalibrationError(f"{source}: version {version} is not supported")
        pts = data.get("points_px")
        return cls(
            height_m=data.get("height_m"),
            heights_m=dict(data.get("heights_m") or {}),
            points_px=tuple(tuple(p) for p in pts) if pts is not None else None,  # type: ignore[arg-type]
            distance_m=data.get("distance_m"),
            m_per_px=data.get("m_per_px"),
            floor_angle_deg=data.get("floor_angle_deg"),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Calibration:
        """Read a TOML (``.toml``) or JSON calibration file."""
        path = Path(path)
        if not path.is_file():
            raise CalibrationError(f"{path}: no such calibration file")
        text = path.read_text()
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise CalibrationError(f"{path}: not a valid calibration file ({exc})") from exc
        while isinstance(data, Mapping) and isinstance(data.get("calibration"), Mapping):
            data = data["calibration"]  # a run.json record (resolved calibration) or nested
        if not isinstance(data, Mapping):
            raise CalibrationError(f"{path}: expected a table of calibration keys")
        return cls.from_mapping(data, str(path))

    # ---------------------------------------------------------------- queries

    @property
    def method(self) -> str:
        """``"height"``, ``"points"`` or ``"scale"``."""
        if self.m_per_px is not None:
            return "scale"
        return "points" if self.points_px is not None else "height"

    def height_of(self, individual: str) -> float | None:
        """The height (m) for ``individual`` (``"track_3"``), None when none is known."""
        return self.heights_m.get(individual, self.height_m)

    def check_individuals(self, individuals: Sequence[str]) -> None:
        """Raise when a per-athlete height names a track that is not in the results."""
        unknown = sorted(set(self.heights_m) - {str(i) for i in individuals})
        if unknown:
            raise CalibrationError(
                f"athlete heights given for {unknown}, not in the results "
                f"(tracks: {', '.join(map(str, individuals)) or 'none'})"
            )

    def to_dict(self) -> dict[str, Any]:
        """The calibration file's keys (JSON-able), for ``run.json`` and round trips."""
        out: dict[str, Any] = {"version": CALIBRATION_FILE_VERSION, "method": self.method}
        if self.method == "height":
            if self.height_m is not None:
                out["height_m"] = self.height_m
            if self.heights_m:
                out["heights_m"] = dict(self.heights_m)
        elif self.method == "points":
            out["points_px"] = [list(p) for p in self.points_px or ()]
            out["distance_m"] = self.distance_m
        else:
            out["m_per_px"] = self.m_per_px
        if self.floor_angle_deg is not None:
            out["floor_angle_deg"] = self.floor_angle_deg
        return out


__all__ = [
    "CALIBRATION_FILE_VERSION",
    "HEIGHT_RANGE_M",
    "METHODS",
    "Calibration",
    "CalibrationError",
    "individual_key",
    "parse_heights",
    "parse_points",
]
