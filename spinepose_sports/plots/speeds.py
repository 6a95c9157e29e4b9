"""Figures in real-world units (a calibrated video): pelvis speed and vertical displacement.

Data in (``metric.nc`` of :func:`~spinepose_sports.metric.compute_metric`, the jumps
table), ``plotly.graph_objects.Figure`` out; hover labels give each value with its unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from ..data import track_id_of

TEMPLATE = "plotly_white"
FLIGHT_BAND = "rgba(44, 160, 44, 0.15)"
SPEED_COLOUR = "#1f77b4"
HEIGHT_COLOUR = "#d62728"
#: Smallest axis ranges: speed 0-0.5 m/s, vertical displacement ±0.1 m.
MIN_SPEED_RANGE = 0.5
MIN_DISPLACEMENT_RANGE = 0.1


def _units(metric: xr.Dataset, var: str) -> str:
    return str(metric[var].attrs.get("units", ""))


def pelvis_speed_figure(
    metric: xr.Dataset, individual: str, jumps: pd.DataFrame | None = None
) -> go.Figure:
    """Pelvis speed (m/s, top) and vertical displacement (m, bottom) of one track over
    time (s); each flight of ``jumps`` (rows of ``jumps.csv``) is shaded, take-off to
    landing.

    metric: a metric dataset with ``pelvis_speed`` and ``vertical_displacement`` over
    ``(time, individual)``; individual: e.g. ``"track_3"``.
    """
    t = metric["time"].values
    speed = metric["pelvis_speed"].sel(individual=individual).values
    lift = metric["vertical_displacement"].sel(individual=individual).values
    v_unit, d_unit = _units(metric, "pelvis_speed"), _units(metric, "vertical_displacement")
    # row 1 is the bottom one: its x axis, ``xaxis``, carries "time (s)" (the dashboard's
    # video cursor and click-to-seek find time plots by that axis title)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, start_cell="bottom-left"
    )
    fig.add_trace(go.Scatter(
        x=t, y=speed, mode="lines", name="pelvis speed", line={"color": SPEED_COLOUR},
        hovertemplate=f"%{{x:.2f}} s<br>%{{y:.2f}} {v_unit}<extra>pelvis speed</extra>",
    ), row=2, col=1)
    fig.add_trace(go.Scatter(
        x=t, y=lift, mode="lines", name="vertical displacement",
        line={"color": HEIGHT_COLOUR},
        hovertemplate=f"%{{x:.2f}} s<br>%{{y:.3f}} {d_unit}<extra>vertical displacement</extra>",
    ), row=1, col=1)
    for _, jump in _jumps_of(jumps, individual).iterrows():
        fig.add_vrect(
            x0=float(jump["takeoff_s"]), x1=float(jump["landing_s"]), fillcolor=FLIGHT_BAND,
            line_width=0, layer="below",
        )
    finite = speed[np.isfinite(speed)]
    peak = f"peak {finite.max():.2f} {v_unit}" if finite.size else "no speed"
    fig.update_layout(
        title=f"pelvis speed and vertical displacement of {individual} ({peak})",
        template=TEMPLATE, showlegend=False, margin={"l": 70, "r": 20, "t": 60, "b": 50},
    )
    fig.update_yaxes(
        title_text=f"pelvis speed ({v_unit})", range=[0, _top(speed, MIN_SPEED_RANGE)],
        tickformat=".2f", row=2, col=1,
    )
    reach = _top(np.abs(lift), MIN_DISPLACEMENT_RANGE)
    fig.update_yaxes(
        title_text=f"vertical displacement ({d_unit})", range=[-reach, reach],
        tickformat=".2f", row=1, col=1,
    )
    fig.update_xaxes(title_text="time (s)", row=1, col=1)
    return fig


def _top(values: np.ndarray, at_least: float) -> float:
    """An axis end: 10 % above the largest finite value, at least ``at_least`` (so that
    an athlete standing still shows a flat line, not magnified noise)."""
    finite = values[np.isfinite(values)]
    return max(at_least, 1.1 * float(finite.max())) if finite.size else at_least


def _jumps_of(jumps: pd.DataFrame | None, individual: str) -> pd.DataFrame:
    if jumps is None or jumps.empty or "track" not in jumps:
        return pd.DataFrame(columns=["takeoff_s", "landing_s"])
    return jumps[jumps["track"] == track_id_of(individual)]


def not_calibrated_figure(individual: str) -> go.Figure:
    """An empty figure saying that ``individual`` has no real-world units."""
    fig = go.Figure()
    fig.add_annotation(
        text=f"{individual} is not calibrated (no height, or its height in the image could "
        "not be measured): no speeds in m/s; see run.json's warnings",
        showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
    )
    fig.update_layout(template=TEMPLATE, xaxis={"visible": False}, yaxis={"visible": False})
    return fig


__all__ = ["not_calibrated_figure", "pelvis_speed_figure"]
