"""The dashboard's video pane: the overlay video beside the plots, linked to them.

``dashboard.html`` plays ``overlay.mp4`` from its results folder (referenced by a relative
link, never embedded: the page stays small and works offline as long as the video stays
beside it).  Playing or seeking the video moves a cursor (a vertical line) on every time
plot (the plots whose x axis is ``time (s)``); a click on such a plot seeks the video to
that instant.  The pane stays hidden until the browser has loaded the video's metadata,
so a page without its video (``--no-overlay``, or moved away) shows the plots alone.

Video and data times: overlay frame ``k`` is the ``k``-th analysed frame (the overlay
is written at the poses' ``fps`` from the first analysed frame), so a video time ``v``
(s) shows the data time ``times[floor(v * fps)]``, and a data time ``t`` is shown at the
middle of the frame nearest to it.  The page embeds ``times`` (s, to 0.1 ms).

For the browser tests the page sets on ``<body>``: ``data-video`` (``ready`` or
``missing``), ``data-video-cursor`` (the data time of the cursor, s) and
``data-video-seek`` (the data time of the last click, s).
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from urllib.parse import quote

import numpy as np
import xarray as xr

from ..results import OVERLAY_FILE

VIDEO_CSS = """
body.has-video .dash-grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(320px,34%);
gap:16px;align-items:start}
.video-pane{position:sticky;top:8px}
.video-pane video{width:100%;background:#000;border-radius:6px;display:block}
.video-pane .readout{font-size:13px;color:#333;margin:4px 0 0}
"""

VIDEO_JS = """
(function(){
  const video = document.getElementById('overlay-video');
  if (!video) { return; }
  const body = document.body;
  const V = JSON.parse(document.getElementById('video-data').textContent);
  const times = V.times;
  const readout = document.getElementById('video-readout');
  let shown = null;
  function frameOf(vt){
    return Math.max(0, Math.min(times.length - 1, Math.floor(vt * V.fps + 1e-3)));
  }
  function nearestFrame(t){
    let lo = 0, hi = times.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= t) { lo = mid; } else { hi = mid; }
    }
    return Math.abs(times[hi] - t) < Math.abs(times[lo] - t) ? hi : lo;
  }
  function timePlots(){
    return Array.prototype.filter.call(document.querySelectorAll('.plot'), function(gd){
      const ax = gd.layout && gd.layout.xaxis;
      const title = ax && ax.title ? (ax.title.text || ax.title) : '';
      return typeof title === 'string' && title.indexOf('time (s)') === 0;
    });
  }
  function linkClicks(gd){
    if (gd.dataset.videoLinked) { return; }
    gd.dataset.videoLinked = '1';
    gd.on('plotly_click', function(ev){
      const p = ev && ev.points && ev.points[0];
      if (!p || typeof p.x !== 'number') { return; }
      body.dataset.videoSeek = p.x.toFixed(4);
      video.currentTime = (nearestFrame(p.x) + 0.5) / V.fps;
    });
  }
  function placeCursor(force){
    const t = times[frameOf(video.currentTime)];
    if (t === shown && !force) { return; }
    shown = t;
    timePlots().forEach(function(gd){
      linkClicks(gd);
      const shapes = gd.layout.shapes || [];
      let i = -1;
      shapes.forEach(function(s, j){ if (s.name === 'video-cursor') { i = j; } });
      if (i < 0) {
        Plotly.relayout(gd, {shapes: shapes.concat([{type: 'line', name: 'video-cursor',
          xref: 'x', yref: 'paper', x0: t, x1: t, y0: 0, y1: 1, layer: 'above',
          line: {color: '#e0218a', width: 2}}])});
      } else {
        const update = {};
        update['shapes[' + i + '].x0'] = t;
        update['shapes[' + i + '].x1'] = t;
        Plotly.relayout(gd, update);
      }
    });
    body.dataset.videoCursor = t.toFixed(4);
    if (readout) { readout.textContent = 't = ' + t.toFixed(2) + ' s (frame ' +
                   (frameOf(video.currentTime) + 1) + ' of ' + times.length + ')'; }
  }
  function tick(){
    placeCursor(false);
    if (!video.paused && !video.ended) { window.requestAnimationFrame(tick); }
  }
  video.addEventListener('loadedmetadata', function(){
    document.getElementById('video-pane').hidden = false;
    body.classList.add('has-video');
    body.dataset.video = 'ready';
    document.querySelectorAll('.plot').forEach(function(gd){
      if (gd.layout) { Plotly.Plots.resize(gd); } });
    placeCursor(true);
  });
  video.addEventListener('error', function(){ body.dataset.video = 'missing'; });
  video.addEventListener('play', tick);
  video.addEventListener('seeking', function(){ placeCursor(false); });
  video.addEventListener('seeked', function(){ placeCursor(false); });
  video.addEventListener('timeupdate', function(){ placeCursor(false); });
  document.addEventListener('dashboard:rendered', function(){
    if (body.dataset.video === 'ready') { placeCursor(true); }
  });
})();
"""


def overlay_src(results_folder: str | Path, page_path: str | Path) -> str:
    """The overlay video of ``results_folder`` as a link relative to the page at
    ``page_path`` (URL-quoted, ``/`` separated)."""
    target = Path(results_folder).resolve() / OVERLAY_FILE
    rel = os.path.relpath(target, Path(page_path).resolve().parent)
    return quote(Path(rel).as_posix())


def video_pane_html(src: str, poses: xr.Dataset) -> str:
    """The (hidden until loaded) ``<aside>`` with the video and its frame times."""
    times = np.round(np.asarray(poses["time"].values, dtype=np.float64), 4)
    data = {"fps": float(poses.attrs.get("fps", 30.0)), "times": times.tolist()}
    return (
        '<aside class="video-pane" id="video-pane" hidden><section><h2>Video</h2>'
        '<p class="help">Play or seek: a cursor follows on every time plot. Click a time '
        "plot: the video jumps to that instant.</p>"
        f'<video id="overlay-video" src="{html.escape(src)}" controls preload="metadata" '
        'muted playsinline></video><p class="readout" id="video-readout"></p></section>'
        f'<script type="application/json" id="video-data">{json.dumps(data)}</script></aside>'
    )


def with_video(sections_html: str, src: str | None, poses: xr.Dataset) -> str:
    """``sections_html`` in the two-column layout with the video pane (unchanged when
    ``src`` is None)."""
    if src is None:
        return sections_html
    return (
        f'<div class="dash-grid"><div class="dash-plots">{sections_html}</div>'
        f"{video_pane_html(src, poses)}</div>"
    )


__all__ = ["VIDEO_CSS", "VIDEO_JS", "overlay_src", "video_pane_html", "with_video"]
