"""``dashboard.html``: one self-contained, offline page per video for a coach.

The page embeds plotly.js itself (no network), the figures of every shown track as JSON,
and a track selector: choosing a track redraws the figures (``Plotly.react``) and shows
that track's tables.  Figures: the spine kinematogram, the flexion curves per region with
repetition bands, the spine's shape at chosen instants (small multiples), the range of
motion per level and region and, when the results are calibrated (``metric.nc``), the
pelvis speed (m/s) and vertical displacement (m) with the jumps; tables: key angles (from
``summary.csv``), speeds and jumps (when calibrated) and repetitions.

The page opens on the track with the most valid frames, or on the one named in the URL's
fragment (``dashboard.html#track_7``), which the selector keeps up to date (shareable
links).  When the page has drawn a track it sets ``data-rendered`` (the track) and
``data-plot-rects`` (each figure's page rectangle, px) on ``<body>``; a JavaScript error
sets ``data-js-error``.  The tests read them from a headless browser.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import xarray as xr
from plotly.offline import get_plotlyjs

from ..data import track_id_of
from ..report import Results, load_results
from ..results import DASHBOARD_FILE, write_text
from .dashboard_video import VIDEO_CSS, VIDEO_JS, overlay_src, with_video
from .figures import (
    flexion_curves_figure,
    kinematogram_figure,
    level_label,
    rom_figure,
    spine_shapes_figure,
)
from .speeds import not_calibrated_figure, pelvis_speed_figure

#: Figure keys in page order, with their section titles.
FIGURES: tuple[tuple[str, str], ...] = (
    ("kinematogram", "Spine kinematogram"),
    ("curves", "Flexion curves per region"),
    ("shapes", "Spine shape at chosen instants"),
    ("rom", "Range of motion"),
)
#: The figure of calibrated results (after :data:`FIGURES`).
SPEED_FIGURE = ("speed", "Pelvis speed and vertical displacement (m/s, m)")
#: Time samples per plotted series at most; longer videos are decimated for the page.
MAX_PLOT_SAMPLES = 3000
MAX_TRACKS = 20
KEY_QUANTITIES = ("trunk_flexion", "pelvis_tilt", "regional_angle", "segmental_angle")


@dataclass(frozen=True)
class TrackInfo:
    """A track shown in the dashboard: individual name, id and a one-line description."""

    individual: str
    track_id: int
    valid_frames: int
    view: str
    motion_plane: str
    n_reps: int

    @property
    def caption(self) -> str:
        return (
            f"#{self.track_id}: {self.valid_frames} frames, {self.view} view "
            f"({self.motion_plane}), {self.n_reps} repetitions"
        )


def _str_of(kin: xr.Dataset, var: str, individual: str, default: str = "") -> str:
    if var not in kin:
        return default
    return str(kin[var].sel(individual=individual).values)


def select_tracks(
    kin: xr.Dataset, repetitions: pd.DataFrame | None, max_tracks: int = MAX_TRACKS
) -> tuple[list[TrackInfo], list[str]]:
    """Tracks with any valid spine angle, most valid frames first (at most ``max_tracks``).

    Returns ``(shown, left_out)``; ``left_out`` names the tracks with data not shown.
    """
    valid = np.isfinite(kin["trunk_flexion"].transpose("individual", "time").values).sum(axis=1)
    infos = []
    for ind, n in zip(kin["individual"].values, valid, strict=True):
        if n == 0:
            continue
        tid = track_id_of(str(ind))
        reps = (
            0
            if repetitions is None or repetitions.empty
            else int((repetitions["track"] == tid).sum())
        )
        infos.append(
            TrackInfo(
                str(ind),
                tid,
                int(n),
                _str_of(kin, "view", str(ind), "?"),
                _str_of(kin, "motion_plane", str(ind), "?"),
                reps,
            )
        )
    infos.sort(key=lambda i: (-i.valid_frames, i.track_id))
    return infos[:max_tracks], [i.individual for i in infos[max_tracks:]]


def choose_instants(
    kin: xr.Dataset, individual: str, reps: pd.DataFrame | None, n: int = 6
) -> list[tuple[float, str]]:
    """Instants for the spine-shape small multiples: ``(time s, caption)``.

    With repetitions: start, peak and end of the first two; otherwise ``n`` instants evenly
    spread over the track's valid frames, including its most and least flexed frames.
    """
    if reps is not None and not reps.empty:
        out = []
        for _, r in reps.head(2).iterrows():
            k = int(r["number"])
            out += [(float(r["start_s"]), f"rep {k} start"), (float(r["peak_s"]), f"rep {k} peak")]
            out.append((float(r["end_s"]), f"rep {k} end"))
        return [(t, c) for t, c in out if np.isfinite(t)]
    trunk = kin["trunk_flexion"].sel(individual=individual)
    t = kin["time"].values
    ok = np.isfinite(trunk.values)
    if not ok.any():
        return []
    times = t[ok]
    values = trunk.values[ok]
    picks = {
        float(times[i]): ""
        for i in np.linspace(0, len(times) - 1, max(n - 2, 1)).round().astype(int)
    }
    picks[float(times[np.argmax(values)])] = "most flexed"
    picks[float(times[np.argmin(values)])] = "least flexed"
    return sorted(picks.items())[: max(n, 2)]


def _decimated(ds: xr.Dataset) -> xr.Dataset:
    step = int(np.ceil(ds.sizes["time"] / MAX_PLOT_SAMPLES))
    return ds.isel(time=slice(None, None, step)) if step > 1 else ds


def page_figures(results: Results) -> tuple[tuple[str, str], ...]:
    """The figures of the page, ``(key, title)``: :data:`FIGURES`, and
    :data:`SPEED_FIGURE` when the results are calibrated."""
    return (*FIGURES, SPEED_FIGURE) if results.metric is not None else FIGURES


def track_figures(results: Results, kin: xr.Dataset, info: TrackInfo) -> dict[str, go.Figure]:
    """The dashboard's figures of one track, by key of :func:`page_figures`."""
    reps = _track_rows(results.repetitions, info.track_id)
    small = _decimated(kin)
    figures = {
        "kinematogram": kinematogram_figure(small, info.individual, reps),
        "curves": flexion_curves_figure(small, info.individual, reps),
        "shapes": spine_shapes_figure(
            results.poses, kin, info.individual, choose_instants(kin, info.individual, reps)
        ),
        "rom": rom_figure(kin, info.individual, results.summary),
    }
    metric = results.metric
    if metric is not None:
        calibrated = info.individual in {str(i) for i in metric["individual"].values}
        figures["speed"] = (
            pelvis_speed_figure(_decimated(metric), info.individual, results.jumps)
            if calibrated else not_calibrated_figure(info.individual)
        )
    return figures


def _track_rows(table: pd.DataFrame | None, track_id: int) -> pd.DataFrame | None:
    if table is None or table.empty or "track" not in table:
        return None
    return table[table["track"] == track_id].reset_index(drop=True)


# ----------------------------------------------------------------------------- tables


def _fmt(v: Any, digits: int = 1) -> str:
    if isinstance(v, (float, np.floating)):
        return "–" if not np.isfinite(v) else f"{v:.{digits}f}"
    return html.escape(str(v))


def _html_table(df: pd.DataFrame, columns: list[tuple[str, str]], digits: int = 1) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = []
    for _, row in df.iterrows():
        cells = "".join(f"<td>{_fmt(row.get(c), digits)}</td>" for c, _ in columns)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def summary_html(summary: pd.DataFrame | None, info: TrackInfo) -> str:
    """Key angles of a track (trunk, pelvis, regions, levels): mean, sd, min, max, ROM."""
    rows = _track_rows(summary, info.track_id)
    if rows is None or rows.empty:
        return "<p>No summary table (summary.csv) in this results folder.</p>"
    key = rows[rows["quantity"].isin(KEY_QUANTITIES)].copy()
    order = {q: i for i, q in enumerate(KEY_QUANTITIES)}
    key["_o"] = key["quantity"].map(order)
    key = key.sort_values("_o", kind="stable")
    key["what"] = [
        level_label(str(lab)) if q == "segmental_angle" else str(lab)
        for q, lab in zip(key["quantity"], key["label"], strict=True)
    ]
    cols = [
        ("what", "angle"),
        ("quantity", "variable"),
        ("mean", "mean (deg)"),
        ("std", "sd (deg)"),
        ("min", "min (deg)"),
        ("max", "max (deg)"),
        ("rom", "ROM (deg)"),
        ("mean_rep_rom", "ROM per rep (deg)"),
        ("n_valid", "frames"),
    ]
    first = rows.iloc[0]
    facts = (
        f"view <b>{_fmt(first.get('view'))}</b>, facing <b>{_fmt(first.get('facing'))}</b> "
        f"({_fmt(first.get('motion_plane'))}); repetitions: <b>{_fmt(first.get('repetitions'))}</b>"
    )
    full = _html_table(rows, [(c, c) for c in rows.columns], digits=2)
    return (
        f"<p>{facts}</p>{_html_table(key, cols)}"
        f"<details><summary>All quantities (summary.csv)</summary>{full}</details>"
    )


def speeds_html(results: Results, info: TrackInfo) -> str:
    """Key figures in real-world units of a track: pelvis speed, acceleration, vertical
    and horizontal range, jumps (mean, min, max, range, frames or jumps)."""
    from ..metric import metric_summary

    metric = results.metric
    if metric is None or info.individual not in {str(i) for i in metric["individual"].values}:
        return "<p>This track is not calibrated: no real-world units.</p>"
    rows = metric_summary(metric.sel(individual=[info.individual]), results.jumps)
    cols = [
        ("quantity", "quantity"),
        ("label", "of"),
        ("units", "units"),
        ("mean", "mean"),
        ("min", "min"),
        ("max", "max"),
        ("rom", "range"),
        ("n_valid", "frames / jumps"),
    ]
    return _html_table(rows, cols, digits=2)


def repetitions_html(repetitions: pd.DataFrame | None, info: TrackInfo) -> str:
    """The repetitions of a track: times (s), peak and ROM (deg), lumbopelvic rhythm."""
    rows = _track_rows(repetitions, info.track_id)
    if rows is None or rows.empty:
        return "<p>No repetition detected for this track.</p>"
    cols = [
        ("number", "rep"),
        ("start_s", "start (s)"),
        ("peak_s", "peak (s)"),
        ("end_s", "end (s)"),
        ("duration_s", "duration (s)"),
        ("peak_value", "peak (deg)"),
        ("rom", "ROM (deg)"),
        ("lumbar_change", "lumbar change (deg)"),
        ("pelvis_rotation", "pelvis rotation (deg)"),
        ("lumbar_share", "lumbar share"),
    ]
    return _html_table(rows, [c for c in cols if c[0] in rows.columns], digits=2)


# ----------------------------------------------------------------------------- page

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#f6f6f4}
header{background:#1d2733;color:#fff;padding:14px 24px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#cfd6de;font-size:13px}
main{padding:8px 24px 40px;max-width:1500px}
section{background:#fff;border-radius:8px;padding:10px 16px;margin:14px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
section h2{font-size:16px;margin:4px 0 6px}
.help{color:#555;font-size:13px;margin:0 0 6px}
.plot{width:100%;min-height:380px}
#pick{font-size:15px;padding:4px 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e3e3e3;padding:3px 8px;text-align:right}
th{background:#f0f0ee;position:sticky;top:0}
td:first-child,th:first-child{text-align:left}
details{margin:8px 0;overflow-x:auto}
"""

_HELP = {
    "kinematogram": "Each row is one vertebral level, pelvis at the bottom; colour = the "
    "segmental (intervertebral) angle: red = flexion (front/back views: bending to the "
    "athlete's right), blue = extension (bending left). Dotted boxes: repetitions.",
    "curves": "Trunk lean (hip to C7 from the vertical), pelvis tilt, and the lumbar, "
    "thoracic and cervical angles. Grey bands: repetitions; triangles: their peaks.",
    "shapes": "The spine (hip to head) at a few instants, drawn from the hip up; dots "
    "coloured like the kinematogram.",
    "rom": "Range of motion (largest minus smallest angle) over the whole track and, "
    "with repetitions, the mean within one repetition.",
    "speed": "Calibrated (see run.json's calibration and docs/exports.md for the 2D "
    "assumptions): the pelvis (hip point) speed in the image plane, and its height minus "
    "its median (standing) height. Green bands: flights (both feet off the floor).",
}

_JS = """
(function(){
  const body = document.body;
  window.addEventListener('error', function(e){ body.dataset.jsError = String(e.message); });
  const DATA = JSON.parse(document.getElementById('dashboard-data').textContent);
  const CONFIG = {responsive: true, displaylogo: false,
                  toImageButtonOptions: {format: 'png', scale: 2}};
  function rects(){
    return JSON.stringify(DATA.keys.map(function(key){
      const r = document.getElementById('fig-' + key).getBoundingClientRect();
      return [key, Math.round(r.left + window.scrollX), Math.round(r.top + window.scrollY),
              Math.round(r.width), Math.round(r.height)];
    }));
  }
  function show(track){
    const figs = DATA.figures[track];
    const jobs = DATA.keys.map(function(key){
      const fig = figs[key];
      return Plotly.react(document.getElementById('fig-' + key), fig.data, fig.layout, CONFIG);
    });
    document.querySelectorAll('[data-track]').forEach(function(el){
      el.hidden = el.dataset.track !== track; });
    Promise.all(jobs).then(function(){
      body.dataset.plotRects = rects();
      body.dataset.rendered = track;
      document.dispatchEvent(new CustomEvent('dashboard:rendered', {detail: track}));
    }, function(err){ body.dataset.jsError = String(err); });
  }
  const pick = document.getElementById('pick');
  const wanted = decodeURIComponent(window.location.hash.slice(1));
  const first = (wanted && DATA.figures[wanted]) ? wanted : DATA.initial;
  if (pick) {
    if (first) { pick.value = first; }
    pick.addEventListener('change', function(e){
      window.history.replaceState(null, '', '#' + e.target.value);
      show(e.target.value);
    });
  }
  if (first) { show(first); } else { body.dataset.rendered = 'none'; }
})();
"""


def _header(results: Results, kin: xr.Dataset, left_out: list[str]) -> str:
    a = results.poses.attrs
    t = results.poses["time"].values
    duration = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    facts = [
        f"source {html.escape(str(a.get('source_file', '?')))}",
        f"{a.get('frame_width', '?')}×{a.get('frame_height', '?')} px, "
        f"{float(a.get('fps', 0)):.2f} fps, {len(t)} frames ({duration:.1f} s)",
        f"pose model {html.escape(str(a.get('pose_model', '?')))}",
        "smoothed keypoints" if results.smoothed else "raw keypoints",
    ]
    extra = ""
    if left_out:
        extra = f"<p>Not shown (fewer valid frames): {html.escape(', '.join(left_out))}</p>"
    return (
        f"<header><h1>{html.escape(results.title)}: spine kinematics</h1>"
        f"<p>{' · '.join(facts)}</p>{extra}</header>"
    )


def _selector(tracks: list[TrackInfo]) -> str:
    if not tracks:
        return "<p><b>No track has a valid spine angle in this video.</b></p>"
    options = "".join(
        f'<option value="{html.escape(t.individual)}">{html.escape(t.caption)}</option>'
        for t in tracks
    )
    return (
        '<section><h2>Athlete</h2><label for="pick">Track: </label>'
        f'<select id="pick">{options}</select></section>'
    )


def _sections(results: Results, tracks: list[TrackInfo]) -> str:
    parts = []
    for key, title in page_figures(results):
        parts.append(
            f'<section><h2>{title}</h2><p class="help">{_HELP[key]}</p>'
            f'<div class="plot" id="fig-{key}"></div></section>'
        )
    for name, builder in (("Key angles", summary_html), ("Repetitions", repetitions_html)):
        tables = "".join(
            f'<div data-track="{html.escape(t.individual)}" hidden>'
            f"{builder(results.summary if name == 'Key angles' else results.repetitions, t)}</div>"
            for t in tracks
        )
        parts.append(f"<section><h2>{name}</h2>{tables}</section>")
        if name == "Key angles" and results.metric is not None:
            tables = "".join(
                f'<div data-track="{html.escape(t.individual)}" hidden>'
                f"{speeds_html(results, t)}</div>"
                for t in tracks
            )
            parts.append(f"<section><h2>Speeds and jumps</h2>{tables}</section>")
    return "".join(parts)


def _data_json(
    figures: dict[str, dict[str, go.Figure]], initial: str | None, keys: list[str]
) -> str:
    payload = {
        "keys": keys,
        "initial": initial,
        "figures": {
            ind: {k: json.loads(pio.to_json(f, validate=False)) for k, f in figs.items()}
            for ind, figs in figures.items()
        },
    }
    return json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")


def dashboard_html(
    results: Results, kin: xr.Dataset, max_tracks: int = MAX_TRACKS,
    video_src: str | None = None,
) -> str:
    """The whole page as a string (plotly.js embedded); ``video_src``: a link to the
    overlay video to play beside the plots (:mod:`.dashboard_video`), None for none."""
    tracks, left_out = select_tracks(kin, results.repetitions, max_tracks)
    figures = {t.individual: track_figures(results, kin, t) for t in tracks}
    initial = tracks[0].individual if tracks else None
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(results.title)}: spine dashboard</title>"
        f"<style>{_CSS}{VIDEO_CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"{_header(results, kin, left_out)}<main>{_selector(tracks)}"
        f"{with_video(_sections(results, tracks), video_src, results.poses)}</main>"
        '<script type="application/json" id="dashboard-data">'
        f"{_data_json(figures, initial, [k for k, _ in page_figures(results)])}</script>"
        f"<script>{_JS}</script><script>{VIDEO_JS}</script></body></html>"
    )


def load_for_dashboard(
    results_dir: str | Path, held: Mapping[str, xr.Dataset] | None = None
) -> tuple[Results, xr.Dataset]:
    """The results folder and its kinematics (computed from the poses when not saved);
    ``held``: its datasets already in memory (see :func:`~..report.load_results`)."""
    results = load_results(results_dir, held=held)
    kin = results.kinematics
    if kin is None:
        from ..kinematics import compute_kinematics, repetitions_table, summary_table

        kin = compute_kinematics(results.poses)
        results.summary = summary_table(kin)
        results.repetitions = repetitions_table(kin)
    return results, kin


def write_dashboard(
    results_dir: str | Path, out_path: str | Path | None = None, *, max_tracks: int = MAX_TRACKS,
    held: Mapping[str, xr.Dataset] | None = None,
) -> Path:
    """Write ``dashboard.html`` (or ``out_path``) for a results folder; returns its path.

    Reads ``poses_smoothed.nc`` (else ``poses.nc``), ``kinematics.nc``, ``summary.csv`` and
    ``repetitions.csv``; without ``kinematics.nc`` the kinematics are computed from the
    poses.  The page is self-contained and works offline (plotly.js is embedded, about
    4.7 MB); it plays the results folder's ``overlay.mp4`` beside the plots, linked to
    them (:mod:`.dashboard_video`), when the browser finds it there.  At most
    ``max_tracks`` tracks are shown, those with the most valid frames.  ``held``: the
    folder's datasets already in memory, not read again (the pipeline's, which wrote them).
    """
    results, kin = load_for_dashboard(results_dir, held)
    out = Path(out_path) if out_path is not None else results.folder / DASHBOARD_FILE
    video_src = overlay_src(results.folder, out)
    return write_text(out, dashboard_html(results, kin, max_tracks, video_src))


__all__ = [
    "FIGURES",
    "TrackInfo",
    "choose_instants",
    "dashboard_html",
    "load_for_dashboard",
    "page_figures",
    "select_tracks",
    "track_figures",
    "write_dashboard",
]
