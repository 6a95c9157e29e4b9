"""Plotly figure builders: data in, ``plotly.graph_objects.Figure`` out (never shown here)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import xarray as xr

from ..skeleton import SPINE_CHAIN

__all__ = ["kinematogram_figure", "spine_angles_figure", "spine_shape_figure"]


def _label_dim(da: xr.DataArray) -> str | None:
    extra = [str(d) for d in da.dims if d not in ("time", "individual")]
    return extra[0] if extra else None


def spine_angles_figure(
    kin: xr.Dataset, individual: str, quantity: str = "segment_angle"
) -> go.Figure:
    """Line plot of one kinematics variable of one track over time (one line per label).

    kin: a kinematics dataset; quantity: a variable with dims ``(time, [label,] individual)``.
    """
    da = kin[quantity].sel(individual=individual)
    units = da.attrs.get("units", "")
    fig = go.Figure()
    t = kin["time"].values
    label_dim = _label_dim(da)
    labels = [None] if label_dim is None else [str(v) for v in da[label_dim].values]
    for label in labels:
        y = da.values if label is None else da.sel({label_dim: label}).values
        name = label or quantity
        hover = f"%{{x:.2f}} s<br>%{{y:.1f}} {units}<extra>{name}</extra>"
        fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=name, hovertemplate=hover))
    fig.update_layout(
        title=f"{quantity.replace('_', ' ')} of {individual}",
        xaxis_title="time (s)",
        yaxis_title=f"{quantity} ({units})",
        template="plotly_white",
    )
    return fig


def kinematogram_figure(kin: xr.Dataset, individual: str) -> go.Figure:
    """Heatmap of the segmental angle: vertebral level (pelvis at the bottom) × time, deg."""
    da = kin["segmental_angle"].sel(individual=individual).transpose("level", "time")
    limit = float(np.nanmax(np.abs(da.values))) if np.isfinite(da.values).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=da.values,
            x=kin["time"].values,
            y=[str(v) for v in da["level"].values],
            colorscale="RdBu_r",
            zmid=0,
            zmin=-limit,
            zmax=limit,
            colorbar={"title": "deg"},
            hovertemplate="%{y}<br>%{x:.2f} s<br>%{z:.1f} deg<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"segmental angle (flexion +) of {individual}",
        xaxis_title="time (s)",
        yaxis_title="level",
        template="plotly_white",
    )
    return fig


def spine_shape_figure(poses: xr.Dataset, individual: str, time_s: float) -> go.Figure:
    """The 10-point spine chain of one track at the frame nearest ``time_s`` (image px)."""
    frame = poses["position"].sel(individual=individual).sel(time=time_s, method="nearest")
    chain = frame.sel(keypoint=list(SPINE_CHAIN))
    x = chain.sel(space="x").values
    y = chain.sel(space="y").values
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=y,
            mode="lines+markers",
            text=list(SPINE_CHAIN),
            hovertemplate="%{text}<br>x %{x:.0f} px, y %{y:.0f} px<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", title="y (px)")
    fig.update_xaxes(title="x (px)")
    fig.update_layout(
        title=f"spine of {individual} at {float(frame['time']):.2f} s", template="plotly_white"
    )
    return fig
