"""Plotly figure builders and the dashboard: data in, figure / file out (never shown here).

* :mod:`.figures`: the figure builders (``kinematogram_figure``, ``spine_angles_figure``,
  ``spine_shape_figure``, ``flexion_curves_figure``, ``spine_shapes_figure``,
  ``rom_figure``); :mod:`.speeds`: ``pelvis_speed_figure`` (calibrated results);
* :mod:`.dashboard`: ``write_dashboard`` (``dashboard.html``, self-contained, offline);
* :mod:`.static`: ``export_static`` (PNG / PDF with kaleido and a local Chromium).
"""

from __future__ import annotations

from .dashboard import write_dashboard
from .figures import (
    flexion_curves_figure,
    kinematogram_figure,
    rom_figure,
    spine_angles_figure,
    spine_shape_figure,
    spine_shapes_figure,
)
from .speeds import pelvis_speed_figure
from .static import ChromiumNotFoundError, export_static, find_chromium

__all__ = [
    "ChromiumNotFoundError",
    "export_static",
    "find_chromium",
    "flexion_curves_figure",
    "kinematogram_figure",
    "pelvis_speed_figure",
    "rom_figure",
    "spine_angles_figure",
    "spine_shape_figure",
    "spine_shapes_figure",
    "write_dashboard",
]
