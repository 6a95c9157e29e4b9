"""Rendering: frame annotators and the overlay video."""

from .annotate import DrawStyle, annotate_frame, draw_skeleton, track_color
from .overlay import FrameLookup, render_overlay

__all__ = [
    "DrawStyle",
    "FrameLookup",
    "annotate_frame",
    "draw_skeleton",
    "render_overlay",
    "track_color",
]
