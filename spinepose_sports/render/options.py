"""How an overlay video is drawn and encoded: one options object for every entry point."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..skeleton import MIN_KEYPOINT_CONFIDENCE
from .colors import DEFAULT_ANGLE_RANGE_DEG


@dataclass(frozen=True)
class RenderOptions:
    """Options of :func:`~.render_overlay` and :func:`~.render_results`.

    min_score: keypoints below this confidence are not drawn.
    names: athlete names by track id, shown instead of ``#id`` (``render_results``: the
        names stored with the results when None).
    preset, crf: libx264 speed preset and quality.
    trail_s: length of each athlete's pelvis trail, s (0: none).
    panel: add a side panel with live time-series plots (moviepy; slower).
    slow_motion: 2 = half speed: the same frames at fps / 2; audio is dropped unless 1.
    start_s, end_s: render only the analysed frames in ``[start_s, end_s)`` (s, the
        source's frame times).
    audio: carry the source's audio (cut to the rendered range) when it has one.
    angle_limit_deg: the spine colour scale runs from ``-angle_limit_deg`` to ``+`` (deg).
    readout: draw the angle readout beside each athlete (needs the kinematics).
    legend: draw the colour legend (needs the kinematics).
    """

    min_score: float = MIN_KEYPOINT_CONFIDENCE
    names: Mapping[int, str] | None = None
    preset: str = "veryfast"
    crf: float = 20
    trail_s: float = 0.0
    panel: bool = False
    slow_motion: float = 1.0
    start_s: float | None = None
    end_s: float | None = None
    audio: bool = True
    angle_limit_deg: float = DEFAULT_ANGLE_RANGE_DEG
    readout: bool = True
    legend: bool = True

    def __post_init__(self) -> None:
        if not self.slow_motion > 0:
            raise ValueError(f"slow_motion must be positive, got {self.slow_motion}")
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"end ({self.end_s}) must be after start ({self.start_s})")
        if not 0 <= self.min_score <= 1:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}")
        if self.trail_s < 0:
            raise ValueError(f"trail_s must be >= 0, got {self.trail_s}")

    def but(self, **changes: Any) -> RenderOptions:
        """A copy with some options changed."""
        return replace(self, **changes)


#: The default options (frozen, so one instance serves every call).
DEFAULT_OPTIONS = RenderOptions()

__all__ = ["DEFAULT_OPTIONS", "RenderOptions"]
