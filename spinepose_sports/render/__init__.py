"""Rendering: frame annotators, the overlay video (with an optional live-plot panel)."""

from .annotate import DrawStyle, FrameAngles, annotate_frame, draw_skeleton, track_color
from .lookup import FrameLookup, FrameOverlayData, OverlayFrame
from .options import RenderOptions
from .overlay import overlay_frames, render_overlay
from .results import SourceVideoError, render_results

__all__ = [
    "DrawStyle",
    "FrameAngles",
    "FrameLookup",
    "FrameOverlayData",
    "OverlayFrame",
    "RenderOptions",
    "SourceVideoError",
    "annotate_frame",
    "draw_skeleton",
    "overlay_frames",
    "render_overlay",
    "render_results",
    "track_color",
]
