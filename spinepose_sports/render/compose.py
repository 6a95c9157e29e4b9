"""The overlay with a side panel of live plots, composed with moviepy.

Two moviepy ``VideoClip``\\ s (the streamed overlay frames and the panel drawn for the same
instant) are put side by side with ``clips_array`` and written by moviepy's ffmpeg as
H.264, yuv420p, ``+faststart``.  The overlay clip pulls frames from the stream in order:
moviepy asks for frame ``i`` at ``t = i / fps``, once per frame (and for frame 0 once more
when it builds the clip).  The composition is opaque (a black background colour): with
a transparent one moviepy alpha-blends every frame, about 2.5 times slower.  The clips
last ``(n + 0.5) / fps`` so that moviepy's ``int(duration * fps)`` writes exactly ``n``
frames (design §8: a float duration of exactly ``n / fps`` can round down and drop the
last frame).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import xarray as xr

from .annotate import DrawStyle
from .lookup import FrameLookup, OverlayFrame
from .options import DEFAULT_OPTIONS, RenderOptions
from .panel import TimeSeriesPanel, panel_series


class _FrameCursor:
    """Random access, in increasing order, to a stream of :class:`OverlayFrame`."""

    def __init__(
        self, frames: Iterator[OverlayFrame], on_frame: Callable[[int], None] | None
    ) -> None:
        self._frames = frames
        self._on_frame = on_frame
        self._pos = -1
        self._current: OverlayFrame | None = None
        self.reported = -1

    def get(self, i: int) -> OverlayFrame:
        """Frame ``i`` (0-based) of the stream; the last one again past the end."""
        while self._pos < i:
            nxt = next(self._frames, None)
            if nxt is None:
                break
            self._current, self._pos = nxt, self._pos + 1
        if self._current is None:
            raise ValueError("the video yielded no frame in the rendered range")
        if self._on_frame is not None and self._pos > self.reported:
            self._on_frame(self._current.index)
            self.reported = self._pos
        return self._current


def panel_width(height: int, width: int) -> int:
    """Panel width (px, even): about 0.75 of the height, 300 px at least."""
    w = max(300, round(0.75 * height), round(0.3 * width))
    return w + w % 2


def write_with_panel(
    frames: Iterator[OverlayFrame],
    lookup: FrameLookup,
    kinematics: xr.Dataset | None,
    rows: np.ndarray,
    out_path: Path,
    *,
    fps: float,
    options: RenderOptions = DEFAULT_OPTIONS,
    on_frame: Callable[[int], None] | None = None,
) -> None:
    """Write ``frames`` (the overlay, ``len(rows)`` frames) beside the live panel.

    rows: the poses rows being rendered (their times place the panel's cursor); fps: the
    output frame rate; options: the names, the encoder preset and crf.  No audio (added
    afterwards).
    """
    if kinematics is None:
        raise ValueError("panel=True needs the kinematics (the panel plots its angles)")
    from moviepy import VideoClip, clips_array

    times = lookup.times[rows]
    n = len(rows)
    cursor = _FrameCursor(frames, on_frame)
    first = cursor.get(0).image
    height, width = first.shape[:2]
    style = DrawStyle.for_frame(height, width)
    names = dict(options.names) if options.names else None
    series = panel_series(kinematics, lookup.individuals, names, times)
    panel = TimeSeriesPanel(
        times,
        series,
        height,
        panel_width(height, width),
        style.small_font_scale,
        style.font_thickness,
    )

    def index_of(t: float) -> int:
        return min(round(t * fps), n - 1)

    def overlay_rgb(t: float) -> np.ndarray:
        return cv2.cvtColor(cursor.get(index_of(t)).image, cv2.COLOR_BGR2RGB)

    def panel_rgb(t: float) -> np.ndarray:
        return cv2.cvtColor(panel.frame(index_of(t)), cv2.COLOR_BGR2RGB)

    duration = (n + 0.5) / fps
    video = VideoClip(frame_function=overlay_rgb, duration=duration)
    side = VideoClip(frame_function=panel_rgb, duration=duration)
    composed = clips_array([[video, side]], bg_color=(0, 0, 0))  # opaque: no alpha blending
    composed.write_videofile(
        str(out_path),
        fps=fps,
        codec="libx264",
        preset=options.preset,
        audio=False,
        pixel_format="yuv420p",
        ffmpeg_params=[
            "-crf",
            str(options.crf),
            "-movflags",
            "+faststart",
            "-vf",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        ],
        logger=None,
    )


__all__ = ["panel_width", "write_with_panel"]
