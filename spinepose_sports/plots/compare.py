"""``compare.html``: several sessions side by side, one self-contained offline page.

Figures (data from :mod:`spinepose_sports.compare`; every angle in degrees):

* ROM and peak per region (trunk, pelvis, lumbar, thoracic, cervical): one box per
  session and region over its repetitions (each repetition a dot, the box its quartiles,
  the dashed line its mean and sd);
* the same per vertebral level (segmental angle, L5 ... C1);
* time-normalised repetition curves: each region's angle over 0-100 % of the movement,
  every repetition thin, the session's mean thick with a band of ± one sd.

The page embeds plotly.js (no network).  When every figure is drawn it sets
``data-rendered="all"`` and ``data-plot-rects`` (each figure's page rectangle, px) on
``<body>``; a JavaScript error sets ``data-js-error`` (read by the browser tests).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from ..compare import (
    REGION_QUANTITIES,
    Session,
    load_sessions,
    metrics_summary,
    normalised_repetitions,
    repetition_metrics,
)
from ..results import write_text
from ..skeleton import ANATOMICAL_NOTES
from .figures import TEMPLATE, angle_word

COMPARE_FILE = "compare.html"
COLOURS = qualitative.D3


def session_colour(index: int) -> str:
    """The colour of the ``index``-th session in every figure."""
    return COLOURS[index % len(COLOURS)]


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _shown(part: str, label: str) -> str:
    return ANATOMICAL_NOTES.get(label, label) if part == "level" else label


def metrics_figure(metrics: pd.DataFrame, part: str = "region") -> go.Figure:
    """ROM (top) and peak (bottom) per repetition, one box per session and label.

    metrics: :func:`~spinepose_sports.compare.repetition_metrics`; part: ``region`` or
    ``level``.  Each dot is one repetition (hover: its number and value, deg).
    """
    rows = metrics[metrics["part"] == part]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=["range of motion per repetition (deg)",
                                        "peak per repetition (deg)"])
    for i, session in enumerate(dict.fromkeys(rows["session"])):
        mine = rows[rows["session"] == session]
        x = [_shown(part, str(v)) for v in mine["label"]]
        for row, column in ((1, "rom"), (2, "peak")):
            fig.add_trace(
                go.Box(
                    x=x, y=mine[column], name=session, legendgroup=session,
                    showlegend=row == 1, marker_color=session_colour(i), boxpoints="all",
                    jitter=0.3, pointpos=0, boxmean="sd", customdata=mine["repetition"],
                    hovertemplate="%{x}, rep %{customdata}<br>" + column
                    + " %{y:.1f} deg<extra>" + html.escape(session) + "</extra>",
                ),
                row=row, col=1,
            )
    what = "region" if part == "region" else "vertebral level (segmental angle)"
    fig.update_layout(
        title=f"range of motion and peak per {what}, per repetition",
        boxmode="group", template=TEMPLATE, height=620,
        legend={"orientation": "h", "y": -0.12},
    )
    fig.update_yaxes(title_text="deg")
    return fig


def _band(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(lo) & np.isfinite(hi)
    return np.concatenate([x[ok], x[ok][::-1]]), np.concatenate([hi[ok], lo[ok][::-1]])


def repetition_curves_figure(
    sessions: Sequence[Session], names: Sequence[str] = tuple(REGION_QUANTITIES)
) -> go.Figure:
    """Time-normalised repetition curves (deg vs 0-100 % of the movement), one panel per
    quantity in ``names``: each repetition thin, each session's mean thick with ± sd."""
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[f"{n} (deg)" for n in names])
    for i, s in enumerate(sessions):
        colour = session_colour(i)
        for row, name in enumerate(names, start=1):
            curves = normalised_repetitions(s, name)
            pct = curves["percent"].values
            for number, curve in zip(curves["repetition"].values, curves.values, strict=True):
                fig.add_trace(go.Scatter(
                    x=pct, y=curve, mode="lines", legendgroup=s.label, showlegend=False,
                    line={"color": _rgba(colour, 0.35), "width": 1},
                    hovertemplate=f"rep {number}: %{{y:.1f}} deg at %{{x:.0f}} %"
                    f"<extra>{html.escape(s.label)}</extra>"), row=row, col=1)
            finite = np.isfinite(curves.values).any(axis=1)
            if not finite.any():
                continue
            mean = np.nanmean(curves.values[finite], axis=0)
            sd = np.nanstd(curves.values[finite], axis=0, ddof=1) if finite.sum() > 1 else None
            if sd is not None:
                bx, by = _band(pct, mean - sd, mean + sd)
                fig.add_trace(go.Scatter(
                    x=bx, y=by, fill="toself", fillcolor=_rgba(colour, 0.15),
                    line={"width": 0}, legendgroup=s.label, showlegend=False,
                    hoverinfo="skip"), row=row, col=1)
            fig.add_trace(go.Scatter(
                x=pct, y=mean, mode="lines", name=s.label, legendgroup=s.label,
                showlegend=row == 1, line={"color": colour, "width": 3},
                hovertemplate=f"mean of {int(finite.sum())} reps: %{{y:.1f}} deg at "
                f"%{{x:.0f}} %<extra>{html.escape(s.label)}</extra>"), row=row, col=1)
    fig.update_xaxes(title_text="% of the repetition (start to end)", row=len(names), col=1)
    fig.update_layout(
        title="repetitions time-normalised (0 % = start, 100 % = end): thin = one "
        "repetition, thick = mean, band = ± 1 sd",
        template=TEMPLATE, height=240 * len(names) + 120,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        margin={"t": 110},
    )
    return fig


def compare_figures(sessions: Sequence[Session]) -> dict[str, go.Figure]:
    """The page's figures by key: ``regions``, ``levels``, ``curves``."""
    metrics = repetition_metrics(sessions)
    return {
        "regions": metrics_figure(metrics, "region"),
        "levels": metrics_figure(metrics, "level"),
        "curves": repetition_curves_figure(sessions),
    }


# ----------------------------------------------------------------------------- page


def sessions_table_html(sessions: Sequence[Session]) -> str:
    """One row per session: folder, athlete, view, repetitions, mean duration (s)."""
    head = ("session", "results folder", "athlete", "view", "angles", "repetitions",
            "mean duration (s)")
    rows = []
    for s in sessions:
        kin = s.kinematics
        view = str(kin["view"].sel(individual=s.individual).values) if "view" in kin else "?"
        reps = s.repetitions
        dur = f"{reps['duration_s'].mean():.2f}" if "duration_s" in reps and len(reps) else "–"
        cells = (s.label, str(s.folder), s.individual, view, angle_word(kin, s.individual),
                 str(len(reps)) if len(reps) else "0 (whole track compared)", dur)
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{h}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def summary_table_html(sessions: Sequence[Session]) -> str:
    """Mean ± sd of ROM and peak per session and region over the repetitions (deg)."""
    summary = metrics_summary(repetition_metrics(sessions))
    regions = summary[summary["part"] == "region"]

    def cell(mean: float, sd: float) -> str:
        if not np.isfinite(mean):
            return "–"
        return f"{mean:.1f} ± {sd:.1f}" if np.isfinite(sd) else f"{mean:.1f}"

    head = "".join(f"<th>{h}</th>" for h in ("session", "quantity", "reps", "ROM (deg)",
                                              "peak (deg)"))
    body = "".join(
        f"<tr><td>{html.escape(str(r.session))}</td><td>{html.escape(str(r.label))}</td>"
        f"<td>{r.n}</td><td>{cell(r.rom_mean, r.rom_sd)}</td>"
        f"<td>{cell(r.peak_mean, r.peak_sd)}</td></tr>"
        for r in regions.itertuples()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#f6f6f4}
header{background:#1d2733;color:#fff;padding:14px 24px}
header h1{margin:0 0 4px;font-size:22px} header p{margin:2px 0;color:#cfd6de;font-size:13px}
main{padding:8px 24px 40px;max-width:1500px}
section{background:#fff;border-radius:8px;padding:10px 16px;margin:14px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
section h2{font-size:16px;margin:4px 0 6px} .help{color:#555;font-size:13px;margin:0 0 6px}
.plot{width:100%;min-height:380px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e3e3e3;padding:3px 8px;text-align:left}
th{background:#f0f0ee}
"""

_SECTIONS = (
    ("regions", "Range of motion and peak per region",
     "Per repetition (each dot one repetition, from its start to its end; without "
     "repetitions, the whole track): the box spans the middle half, the dashed line is the "
     "mean with ± 1 sd. Positive = flexion in side views, bending right in front views."),
    ("levels", "Range of motion and peak per vertebral level",
     "The segmental (intervertebral) angle at each level, L5 at the left, C1 at the right."),
    ("curves", "Repetitions time-normalised",
     "Each repetition stretched to 0-100 % of its movement, so sessions of different "
     "speeds overlay: where in the movement each region bends, and how consistently."),
)

_JS = """
(function(){
  const body = document.body;
  window.addEventListener('error', function(e){ body.dataset.jsError = String(e.message); });
  const DATA = JSON.parse(document.getElementById('compare-data').textContent);
  const CONFIG = {responsive: true, displaylogo: false};
  const jobs = Object.keys(DATA).map(function(key){
    return Plotly.newPlot(document.getElementById('fig-' + key), DATA[key].data,
                          DATA[key].layout, CONFIG);
  });
  Promise.all(jobs).then(function(){
    body.dataset.plotRects = JSON.stringify(Object.keys(DATA).map(function(key){
      const r = document.getElementById('fig-' + key).getBoundingClientRect();
      return [key, Math.round(r.left + window.scrollX), Math.round(r.top + window.scrollY),
              Math.round(r.width), Math.round(r.height)];
    }));
    body.dataset.rendered = 'all';
  }, function(err){ body.dataset.jsError = String(err); });
})();
"""


def compare_html(sessions: Sequence[Session]) -> str:
    """The whole comparison page as a string (plotly.js embedded)."""
    figures = compare_figures(sessions)
    payload = {k: json.loads(pio.to_json(f, validate=False)) for k, f in figures.items()}
    data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    names = ", ".join(s.label for s in sessions)
    sections = "".join(
        f'<section><h2>{title}</h2><p class="help">{help_}</p>'
        f'<div class="plot" id="fig-{key}"></div></section>'
        for key, title, help_ in _SECTIONS
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>compare: {html.escape(names)}</title><style>{_CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>Sessions compared</h1><p>{html.escape(names)}</p></header><main>"
        f"<section><h2>Sessions</h2>{sessions_table_html(sessions)}</section>"
        f"<section><h2>ROM and peak per region (mean ± sd over the repetitions)</h2>"
        f"{summary_table_html(sessions)}</section>{sections}</main>"
        f'<script type="application/json" id="compare-data">{data}</script>'
        f"<script>{_JS}</script></body></html>"
    )


def write_compare(
    folders: Sequence[str | Path],
    out_path: str | Path = COMPARE_FILE,
    *,
    athletes: Sequence[str | int | None] | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Write ``compare.html`` for results folders (one session each); returns its path.

    athletes: one athlete for every folder or one per folder (``track_3``, ``3`` or a
    name; default: each folder's track with the most frames); labels: one per folder.
    """
    sessions = load_sessions(folders, athletes, labels)
    return write_text(Path(out_path), compare_html(sessions))


__all__ = [
    "COMPARE_FILE",
    "compare_figures",
    "compare_html",
    "metrics_figure",
    "repetition_curves_figure",
    "session_colour",
    "write_compare",
]
