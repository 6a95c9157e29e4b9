"""Plotly figure builders: data in, ``plotly.graph_objects.Figure`` out (never shown here).

Every angle is in degrees; hover labels give the value with its unit.  The spine colour
scale is the overlay's (:data:`~spinepose_sports.render.colors.FLEXION_COLORSCALE`): blue =
extension / bending left, pale yellow = neutral, red = flexion / bending right.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from ..render.colors import FLEXION_COLORSCALE
from ..skeleton import ANATOMICAL_NOTES, SPINE_CHAIN, SPINE_LEVELS
from ..skeleton import SPINE_CHAIN_INDICES as _CHAIN_IDX

TEMPLATE = "plotly_white"
#: Series of :func:`flexion_curves_figure`: (legend name, variable, region or None, colour).
CURVES: tuple[tuple[str, str, str | None, str], ...] = (
    ("trunk", "trunk_flexion", None, "#222222"),
    ("pelvis", "pelvis_tilt", None, "#8c6d31"),
    ("lumbar", "regional_angle", "lumbar", "#d62728"),
    ("thoracic", "regional_angle", "thoracic", "#1f77b4"),
    ("cervical", "regional_angle", "cervical", "#2ca02c"),
)
REP_BAND = "rgba(120, 120, 120, 0.13)"


def level_label(level: str) -> str:
    """``spine_01`` -> ``spine_01 (L5)``."""
    note = ANATOMICAL_NOTES.get(level)
    return f"{level} ({note})" if note else level


def angle_word(kin: xr.Dataset, individual: str) -> str:
    """``flexion +`` or ``right bend +``: what positive spine angles mean for a track."""
    if "motion_plane" in kin and str(kin["motion_plane"].sel(individual=individual).values) == (
        "lateral-bending"
    ):
        return "right bend +"
    return "flexion +"


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
        template=TEMPLATE,
    )
    return fig


def robust_limit(values: np.ndarray, floor: float = 5.0) -> float:
    """Symmetric colour limit (deg): the 98th percentile of ``|values|``, at least ``floor``."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return floor
    return max(float(np.percentile(finite, 98)), floor)


def kinematogram_figure(
    kin: xr.Dataset, individual: str, repetitions: pd.DataFrame | None = None
) -> go.Figure:
    """Spine kinematogram: segmental angle (deg) as a heatmap, vertebral level × time.

    The pelvis end is at the bottom, the head at the top; colours are the overlay's
    (symmetric about 0, limit = 98th percentile of |angle|).  Repetitions (rows of
    ``repetitions.csv`` for this track) are outlined.
    """
    da = kin["segmental_angle"].sel(individual=individual).transpose("level", "time")
    z = np.asarray(da.values, dtype=np.float64)
    limit = robust_limit(z)
    levels = [level_label(str(v)) for v in da["level"].values]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=kin["time"].values,
            y=levels,
            colorscale=FLEXION_COLORSCALE,
            zmid=0,
            zmin=-limit,
            zmax=limit,
            colorbar={"title": {"text": "deg"}, "thickness": 14},
            hovertemplate="%{y}<br>%{x:.2f} s<br>%{z:.1f} deg<extra></extra>",
        )
    )
    _add_rep_bands(fig, repetitions, fill=False)
    add_quality_bands(fig, kin, individual)
    fig.update_layout(
        title=f"spine kinematogram: segmental angle ({angle_word(kin, individual)}) of "
        f"{individual}",
        xaxis_title="time (s)",
        yaxis_title="vertebral level (pelvis at the bottom)",
        template=TEMPLATE,
        margin={"l": 130, "r": 20, "t": 60, "b": 50},
    )
    return fig


#: Grey veil over the stretches whose frames fail a kinematics quality check.
INVALID_BAND = "rgba(128,128,128,0.45)"
#: At most this many greyed stretches / facing labels per figure (merged beyond).
MAX_BANDS = 150


def _runs(values: np.ndarray) -> list[tuple[int, int, object]]:
    """Half-open runs ``(start, stop, value)`` of equal consecutive values of ``(T,)``."""
    if values.size == 0:
        return []
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    edges = [0, *change.tolist(), values.size]
    return [(a, b, values[a]) for a, b in itertools.pairwise(edges)]


def _merged(runs: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Merge the closest neighbouring runs until at most ``limit`` remain."""
    runs = list(runs)
    while len(runs) > limit:
        gaps = [runs[i + 1][0] - runs[i][1] for i in range(len(runs) - 1)]
        i = int(np.argmin(gaps))
        runs[i : i + 2] = [(runs[i][0], runs[i + 1][1])]
    return runs


def add_quality_bands(fig: go.Figure, kin: xr.Dataset, individual: str) -> None:
    """Grey (not hide) the stretches of ``individual`` whose frames are invalid
    (``valid`` False) and label the facing over time (``facing_per_frame``: a turning
    athlete shows "faces right", "faces left", "facing?" where uncertain)."""
    t = kin["time"].values
    if t.size == 0:
        return
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    if "valid" in kin:
        valid = kin["valid"].sel(individual=individual).values.astype(bool)
        seen = kin["quality_flags"].sel(individual=individual).any("quality_check").values
        bad = [(a, b) for a, b, v in _runs(~valid & seen) if v]
        for a, b in _merged(bad, MAX_BANDS):
            fig.add_vrect(x0=float(t[a]) - dt / 2, x1=float(t[b - 1]) + dt / 2,
                          fillcolor=INVALID_BAND, line_width=0, layer="above")
    if "facing_per_frame" in kin:
        facing = kin["facing_per_frame"].sel(individual=individual).values.astype(str)
        uncertain = kin["facing_uncertain"].sel(individual=individual).values.astype(bool)
        label = np.where(uncertain, "facing?", np.where(facing == "", "", "faces " + facing))
        runs = [(a, b, v) for a, b, v in _runs(label) if v]
        for a, b, v in runs[:MAX_BANDS]:
            fig.add_vrect(x0=float(t[a]) - dt / 2, x1=float(t[b - 1]) + dt / 2,
                          fillcolor="rgba(0,0,0,0)", line_width=0, layer="above",
                          annotation_text=str(v), annotation_position="bottom left",
                          annotation_font_size=9)


def _add_rep_bands(fig: go.Figure, reps: pd.DataFrame | None, *, fill: bool = True) -> None:
    """Shade (or outline) each repetition from its start to its end and label it."""
    if reps is None or reps.empty:
        return
    for _, r in reps.iterrows():
        if not (np.isfinite(r["start_s"]) and np.isfinite(r["end_s"])):
            continue
        style = (
            {"fillcolor": REP_BAND, "line_width": 0}
            if fill
            else {
                "fillcolor": "rgba(0,0,0,0)",
                "line": {"color": "#444", "width": 1, "dash": "dot"},
            }
        )
        fig.add_vrect(
            x0=float(r["start_s"]),
            x1=float(r["end_s"]),
            layer="below" if fill else "above",
            annotation_text=f"rep {int(r['number'])}",
            annotation_position="top left",
            annotation_font_size=10,
            **style,
        )


def flexion_curves_figure(
    kin: xr.Dataset, individual: str, repetitions: pd.DataFrame | None = None
) -> go.Figure:
    """Trunk, pelvis and regional (lumbar, thoracic, cervical) angles over time, deg.

    Repetitions are shaded bands from start to end, with their peak marked on the
    driving signal.
    """
    fig = go.Figure()
    t = kin["time"].values
    for name, var, region, color in CURVES:
        if var not in kin:
            continue
        da = kin[var].sel(individual=individual)
        if region is not None:
            da = da.sel(region=region)
        fig.add_trace(
            go.Scatter(
                x=t,
                y=da.values,
                mode="lines",
                name=name,
                line={"color": color, "width": 2.2 if name == "trunk" else 1.6},
                hovertemplate=f"{name}: %{{y:.1f}} deg<extra></extra>",
            )
        )
    _add_rep_bands(fig, repetitions)
    if repetitions is not None and not repetitions.empty:
        fig.add_trace(
            go.Scatter(
                x=repetitions["peak_s"],
                y=repetitions["peak_value"],
                mode="markers",
                name="peaks",
                marker={"symbol": "triangle-down", "size": 10, "color": "#000"},
                hovertemplate="peak %{y:.1f} deg at %{x:.2f} s<extra></extra>",
            )
        )
    fig.add_hline(y=0, line={"color": "#999", "width": 1})
    fig.update_layout(
        title=f"flexion curves per region ({angle_word(kin, individual)}) of {individual}",
        xaxis_title="time (s)",
        yaxis_title="angle (deg)",
        hovermode="x unified",
        template=TEMPLATE,
        legend={"orientation": "h", "y": -0.2},
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
        title=f"spine of {individual} at {float(frame['time']):.2f} s", template=TEMPLATE
    )
    return fig


def _chain_at(poses: xr.Dataset, individual: str, time_s: float) -> tuple[float, np.ndarray]:
    """(actual time s, chain points ``(10, 2)`` px relative to the hip, y up)."""
    pos = poses["position"].sel(individual=individual).sel(time=time_s, method="nearest")
    xy = pos.transpose("keypoint", "space").values[list(_CHAIN_IDX)].astype(np.float64)
    rel = xy - xy[0]
    rel[:, 1] *= -1
    return float(pos["time"]), rel


def spine_shapes_figure(
    poses: xr.Dataset,
    kin: xr.Dataset,
    individual: str,
    instants: Sequence[tuple[float, str]],
) -> go.Figure:
    """Small multiples: the spine's shape at chosen instants, hip at the origin, y up (px).

    instants: ``(time s, caption)`` pairs.  The dots are coloured by the segmental angle
    at each level (the overlay's scale, ±the kinematogram's limit; the hip and head dots
    take their neighbour's colour, as on the overlay).  All panels share one scale.
    """
    n = max(len(instants), 1)
    titles = [f"{cap}<br>{t:.2f} s" for t, cap in instants] or ["no data"]
    fig = make_subplots(rows=1, cols=n, subplot_titles=titles, horizontal_spacing=0.015)
    seg = kin["segmental_angle"].sel(individual=individual)
    limit = robust_limit(np.asarray(seg.values, dtype=np.float64))
    x_lo, x_hi, y_ext = 0.0, 0.0, 1.0
    for col, (t, _) in enumerate(instants, start=1):
        actual, rel = _chain_at(poses, individual, t)
        phi = seg.sel(time=actual, method="nearest").sel(level=list(SPINE_LEVELS)).values
        chain_phi = np.concatenate([phi[:1], phi, phi[-1:]]).astype(np.float64)
        if np.isfinite(rel).any():
            x_lo = min(x_lo, float(np.nanmin(rel[:, 0])))
            x_hi = max(x_hi, float(np.nanmax(rel[:, 0])))
            y_ext = max(y_ext, float(np.nanmax(np.abs(rel[:, 1]))))
        fig.add_trace(_shape_trace(rel, chain_phi, limit, show_scale=col == n), row=1, col=col)
    margin = 0.08 * y_ext
    widen = max(0.0, 0.5 * y_ext - (x_hi - x_lo)) / 2  # at least half as wide as tall
    x_range = [x_lo - margin - widen, x_hi + margin + widen]
    for col in range(1, n + 1):
        fig.update_xaxes(range=x_range, showticklabels=False, constrain="domain", row=1, col=col)
        fig.update_yaxes(
            range=[-0.08 * y_ext, 1.08 * y_ext],
            scaleanchor=f"x{col if col > 1 else ''}",
            scaleratio=1,
            constrain="domain",
            showticklabels=col == 1,
            title_text="px above the hip" if col == 1 else None,
            row=1,
            col=col,
        )
    fig.update_layout(
        title=f"spine shape at chosen instants of {individual} ({angle_word(kin, individual)})",
        template=TEMPLATE,
        height=420,
        margin={"t": 100, "l": 60, "r": 20, "b": 20},
    )
    return fig


def _shape_trace(
    rel: np.ndarray, chain_phi: np.ndarray, limit: float, show_scale: bool
) -> go.Scatter:
    """The chain ``(10, 2)`` px (hip origin, y up) with dots coloured by angle ``(10,)`` deg."""
    return go.Scatter(
        x=rel[:, 0],
        y=rel[:, 1],
        mode="lines+markers",
        line={"color": "#555", "width": 3, "shape": "spline"},
        marker={
            "size": 11,
            "color": np.nan_to_num(chain_phi, nan=0.0),
            "colorscale": FLEXION_COLORSCALE,
            "cmin": -limit,
            "cmax": limit,
            "line": {"color": "#222", "width": 1},
            "showscale": show_scale,
            "colorbar": {"title": {"text": "deg"}, "thickness": 12},
        },
        customdata=chain_phi,
        text=[level_label(n_) for n_ in SPINE_CHAIN],
        hovertemplate="%{text}<br>segmental %{customdata:.1f} deg<br>"
        "x %{x:.0f} px, %{y:.0f} px above the hip<extra></extra>",
        showlegend=False,
    )


def rom_figure(kin: xr.Dataset, individual: str, summary: pd.DataFrame | None = None) -> go.Figure:
    """Range of motion (max − min, deg) per vertebral level and per region of one track.

    From ``summary.csv`` rows when given (columns ``rom`` and ``mean_rep_rom``), else
    computed from the kinematics.  Bars: over the whole track, and the mean within a
    repetition when there are repetitions.
    """
    tid = int(kin["track"].sel(individual=individual)) if "track" in kin.coords else None
    rows = _rom_rows(kin, individual, summary, tid)
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        subplot_titles=["per vertebral level (segmental angle)", "per region"],
        horizontal_spacing=0.08,
    )
    for col, part in ((1, rows[rows["part"] == "level"]), (2, rows[rows["part"] == "region"])):
        for column, name, color in (
            ("rom", "whole track", "#4c72b0"),
            ("mean_rep_rom", "mean per repetition", "#dd8452"),
        ):
            values = part[column].to_numpy(dtype=np.float64)
            if not np.isfinite(values).any():
                continue
            fig.add_trace(
                go.Bar(
                    x=part["label"],
                    y=values,
                    name=name,
                    marker_color=color,
                    legendgroup=name,
                    showlegend=col == 1,
                    hovertemplate="%{x}<br>" + name + ": %{y:.1f} deg<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_yaxes(title_text="range of motion (deg)", row=1, col=1)
    fig.update_layout(
        title=f"range of motion of {individual}",
        barmode="group",
        template=TEMPLATE,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _rom_rows(
    kin: xr.Dataset, individual: str, summary: pd.DataFrame | None, tid: int | None
) -> pd.DataFrame:
    """Columns part (level/region), label, rom, mean_rep_rom (deg)."""
    wanted = [("level", "segmental_angle", str(v)) for v in SPINE_LEVELS]
    wanted += [("region", "regional_angle", r) for r in ("lumbar", "thoracic", "cervical")]
    wanted += [("region", "trunk_flexion", "trunk"), ("region", "pelvis_tilt", "pelvis")]
    out = []
    for part, quantity, label in wanted:
        rom, rep_rom = np.nan, np.nan
        if summary is not None and not summary.empty and tid is not None:
            hit = summary[
                (summary["track"] == tid)
                & (summary["quantity"] == quantity)
                & (summary["label"].astype(str) == label)
            ]
            if len(hit):
                rom = float(hit["rom"].iloc[0])
                rep_rom = float(hit.get("mean_rep_rom", pd.Series([np.nan])).iloc[0])
        if not np.isfinite(rom):
            rom = _rom_from_kin(kin, individual, quantity, label)
        shown = ANATOMICAL_NOTES.get(label, label) if part == "level" else label
        out.append({"part": part, "label": shown, "rom": rom, "mean_rep_rom": rep_rom})
    return pd.DataFrame(out)


def _rom_from_kin(kin: xr.Dataset, individual: str, quantity: str, label: str) -> float:
    da = kin[quantity].sel(individual=individual)
    if "level" in da.dims:
        da = da.sel(level=label)
    elif "region" in da.dims:
        da = da.sel(region=label)
    v = np.asarray(da.values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.max() - v.min()) if v.size else np.nan


__all__ = [
    "CURVES",
    "angle_word",
    "flexion_curves_figure",
    "kinematogram_figure",
    "level_label",
    "robust_limit",
    "rom_figure",
    "spine_angles_figure",
    "spine_shape_figure",
    "spine_shapes_figure",
]
