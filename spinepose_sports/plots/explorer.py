"""Explore one athlete frame by frame, in Jupyter: the video and the angles move together.

:class:`Explorer` shows, for one results folder:

* the frame (the overlay video's when ``overlay.mp4`` is there and covers every analysed
  frame, else the source video's), with the chosen athlete's spine chain marked;
* a frame slider with a play button: moving it shows that frame and moves a cursor (a
  vertical line) across both angle figures to the same instant;
* the chosen quantity over time (one line per label; for per-level quantities only the
  chosen vertebral levels) and the flexion curves per region (trunk, pelvis, lumbar,
  thoracic, cervical), both ``plotly.graph_objects.FigureWidget``\\ s; a click on any
  curve jumps to that frame;
* the athlete, the quantity, the levels and raw vs smoothed keypoints (the raw ones'
  kinematics are computed on demand, with the run's view and facing settings);
* a time range, exported as CSV (the columns of ``angles.csv``) or as a clip (the
  overlay rendered for that range with :func:`~spinepose_sports.render.render_results`).

Every callback is a method, so tests and scripts drive it as the widgets do.  Frames
come from a ``frame_reader(index) -> image`` (BGR ``uint8 (H, W, 3)``; ``index``: the
analysed frame, 0-based), by default :class:`FrameSource`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..report import Results, find_source_video, load_results
from ..results import OVERLAY_FILE
from ..skeleton import SPINE_CHAIN, SPINE_LEVELS
from .dashboard import select_tracks
from .figures import flexion_curves_figure, level_label
from .picker import jpeg_source

__all__ = ["QUANTITIES", "Explorer", "FrameSource"]

#: Quantities offered (kinematics variables with dims ``(time, [label,] individual)``).
QUANTITIES: tuple[str, ...] = (
    "segmental_angle", "regional_angle", "segment_angle", "curvature", "trunk_flexion",
    "pelvis_tilt", "spine_bend", "joint_angle", "segmental_angle_velocity",
    "regional_angle_velocity", "trunk_flexion_velocity",
)
CURSOR = {"color": "#e0218a", "width": 2}
FrameReader = Callable[[int], np.ndarray]


class FrameSource:
    """Frames of a results folder by analysed-frame index, decoded sequentially.

    Uses ``overlay.mp4`` when its frame count equals the number of analysed frames (the
    overlay holds one frame per analysed frame), else the source video (the poses'
    ``frame`` coordinate gives the video frame), else a grey frame.  Moving forward
    decodes on from the last frame (playing is cheap); moving back reopens the file.
    The last ``cache_size`` frames are kept.
    """

    def __init__(self, results: Results, cache_size: int = 16) -> None:
        from ..video import probe

        n = int(results.poses.sizes["time"])
        self.width = int(results.poses.attrs.get("frame_width", 640))
        self.height = int(results.poses.attrs.get("frame_height", 360))
        frames = results.poses["frame"].values if "frame" in results.poses.coords else None
        self.path: Path | None = None
        self._video_index = np.arange(n)
        overlay = results.folder / OVERLAY_FILE
        if overlay.is_file() and probe(overlay).frame_count == n:
            self.path, self.kind = overlay, "overlay"
        else:
            try:
                self.path, self.kind = find_source_video(results), "source"
            except FileNotFoundError:
                self.kind = "none"
            if frames is not None:
                self._video_index = np.asarray(frames, dtype=np.int64)
        self._frames: Iterator[Any] | None = None
        self._last = -1
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.cache_size = cache_size

    def __call__(self, index: int) -> np.ndarray:
        """The image of analysed frame ``index``: BGR ``uint8 (H, W, 3)``."""
        if self.path is None:
            return np.full((self.height, self.width, 3), 96, np.uint8)
        target = int(self._video_index[int(index)])
        if target in self._cache:
            return self._cache[target]
        if self._frames is None or target <= self._last:
            from ..video import read_frames

            self._frames, self._last = iter(read_frames(self.path)), -1
        for frame in self._frames:
            self._last = frame.index
            if frame.index >= target:
                self._cache[target] = frame.image
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
                return frame.image
        raise ValueError(f"{self.path}: no frame {target}")


class Explorer:
    """Frame-accurate explorer of one results folder (see the module's docstring).

    results: a results folder (or :class:`~spinepose_sports.report.Results`); athlete:
    the track shown first (default: the one with the most valid frames); quantity: one of
    :data:`QUANTITIES`; levels: the vertebral levels shown (default: all 8);
    frame_reader: ``(index) -> image`` (default :class:`FrameSource`); width_px: display
    width of the frame, px.
    """

    def __init__(
        self,
        results: str | Path | Results,
        *,
        athlete: str | None = None,
        quantity: str = "segmental_angle",
        levels: Sequence[str] | None = None,
        frame_reader: FrameReader | None = None,
        width_px: int = 560,
    ) -> None:
        import ipywidgets as widgets

        self.results = results if isinstance(results, Results) else load_results(results)
        # the saved kinematics come from the smoothed poses when there are any
        kin = self._saved_kinematics()
        self._kin: dict[str, xr.Dataset] = {"smoothed" if self.results.smoothed else "raw": kin}
        self.time_s = np.asarray(kin["time"].values, dtype=np.float64)
        self.fps = float(self.results.poses.attrs.get("fps", 30.0))
        tracks, _ = select_tracks(kin, self.results.repetitions, max_tracks=1000)
        if not tracks:
            raise ValueError(f"{self.results.folder}: no track has a valid spine angle")
        self.read_frame = frame_reader or FrameSource(self.results)
        self.width_px = int(width_px)
        self.index = 0
        self.last_export: Path | None = None
        options = [q for q in QUANTITIES if q in kin]
        self.athlete = widgets.Dropdown(options=[(t.caption, t.individual) for t in tracks],
                                        value=athlete or tracks[0].individual,
                                        description="athlete")
        self.quantity = widgets.Dropdown(options=options, value=quantity, description="quantity")
        self.levels = widgets.SelectMultiple(
            options=[(level_label(v), v) for v in SPINE_LEVELS],
            value=tuple(levels or SPINE_LEVELS), rows=8, description="levels")
        self.source = widgets.ToggleButtons(
            options=["smoothed", "raw"] if self.results.smoothed else ["raw"],
            description="keypoints", tooltips=["smoothed keypoints", "as detected"])
        self.frame_slider = widgets.IntSlider(value=0, min=0, max=len(self.time_s) - 1,
                                              description="frame", continuous_update=False)
        self.play = widgets.Play(value=0, min=0, max=len(self.time_s) - 1, step=1,
                                 interval=max(int(1000 / self.fps), 20), description="play")
        widgets.jslink((self.play, "value"), (self.frame_slider, "value"))
        t0, t1 = float(self.time_s[0]), float(self.time_s[-1])
        self.time_range = widgets.FloatRangeSlider(
            value=(t0, t1), min=t0, max=t1, step=1 / self.fps, description="range (s)",
            readout_format=".2f", continuous_update=False)
        self.csv_button = widgets.Button(description="export CSV", icon="table")
        self.clip_button = widgets.Button(description="export clip", icon="film")
        self.status = widgets.HTML("")
        self._build_figures()
        self._connect()
        self.redraw()

    # ---------------------------------------------------------------- data

    def _saved_kinematics(self) -> xr.Dataset:
        if self.results.kinematics is not None:
            return self.results.kinematics
        from ..kinematics import compute_kinematics, repetitions_table

        kin = compute_kinematics(self.results.poses)
        self.results.repetitions = repetitions_table(kin)
        return kin

    @property
    def kinematics(self) -> xr.Dataset:
        """The kinematics of the chosen keypoints (raw ones computed on first use, with
        the run's ``view`` and ``facing`` settings from ``run.json``)."""
        key = self.source.value
        if key not in self._kin:
            from ..kinematics import compute_kinematics

            settings = (self.results.run.get("config") or {}).get("kinematics") or {}
            self._kin[key] = compute_kinematics(
                self.results.raw_poses, view=settings.get("view", "auto"),
                facing=settings.get("facing", "auto"))
        return self._kin[key]

    @property
    def poses(self) -> xr.Dataset:
        """The chosen keypoints: smoothed or raw."""
        return self.results.poses if self.source.value == "smoothed" else self.results.raw_poses

    def series(self) -> xr.DataArray:
        """The shown quantity of the athlete: ``(time, label)`` (a level quantity: only the
        chosen levels), or ``(time,)``; units in ``attrs``."""
        da = self.kinematics[self.quantity.value].sel(individual=self.athlete.value)
        if "level" in da.dims:
            da = da.sel(level=[v for v in SPINE_LEVELS if v in self.levels.value])
        return da

    def frame_at(self, time_s: float) -> int:
        """The analysed frame nearest ``time_s`` (s)."""
        return int(np.argmin(np.abs(self.time_s - float(time_s))))

    # ---------------------------------------------------------------- figures

    def _build_figures(self) -> None:
        import plotly.graph_objects as go

        w, h = (int(self.results.poses.attrs.get(k, d)) for k, d in
                (("frame_width", 640), ("frame_height", 360)))
        scale = self.width_px / w
        self.frame_figure = go.FigureWidget(
            data=[go.Image(source=None, x0=0, y0=0, dx=1 / scale, dy=1 / scale,
                           hoverinfo="skip", name="frame"),
                  go.Scatter(x=[], y=[], mode="lines+markers", name="spine",
                             hoverinfo="skip", line={"color": "yellow", "width": 1},
                             marker={"size": 6, "color": "yellow",
                                     "line": {"color": "black", "width": 1}})],
            layout=go.Layout(
                width=self.width_px, height=round(h * scale) + 40, showlegend=False,
                margin={"l": 0, "r": 0, "t": 30, "b": 0}, dragmode=False,
                xaxis={"range": [0, w], "visible": False},
                yaxis={"range": [h, 0], "visible": False, "scaleanchor": "x"}))
        self.angles_figure = go.FigureWidget(layout=go.Layout(
            template="plotly_white", height=330, margin={"t": 40, "b": 40},
            xaxis_title="time (s)", legend={"font": {"size": 10}}))
        self.curves_figure = go.FigureWidget(layout=go.Layout(template="plotly_white"))

    def _cursor_shape(self) -> dict[str, Any]:
        t = float(self.time_s[self.index])
        return {"type": "line", "xref": "x", "yref": "paper", "x0": t, "x1": t, "y0": 0,
                "y1": 1, "line": CURSOR, "name": "cursor"}

    def _draw_angles(self) -> None:
        import plotly.graph_objects as go

        da = self.series()
        units = da.attrs.get("units", "")
        label_dim = next((str(d) for d in da.dims if d != "time"), None)
        labels = [None] if label_dim is None else [str(v) for v in da[label_dim].values]
        fig = self.angles_figure
        with fig.batch_update():
            fig.data = ()
            for label in labels:
                y = da.values if label is None else da.sel({label_dim: label}).values
                if label is None:
                    name = str(da.name)
                else:
                    name = level_label(label) if label_dim == "level" else label
                fig.add_trace(go.Scatter(
                    x=self.time_s, y=y, mode="lines", name=name,
                    hovertemplate=f"%{{x:.2f}} s<br>%{{y:.1f}} {units}<extra>{name}</extra>"))
            fig.layout.yaxis.title = f"{self.quantity.value} ({units})"
            fig.layout.title = f"{self.quantity.value.replace('_', ' ')} of {self.athlete.value}"
            fig.layout.shapes = [self._cursor_shape()]
        for trace in fig.data:
            trace.on_click(self._on_curve_click)

    def _draw_curves(self) -> None:
        ind = self.athlete.value
        reps = self.results.repetitions
        if reps is not None and not reps.empty and "track" in reps:
            reps = reps[reps["track"] == int(ind.rsplit("_", 1)[1])]
        fresh = flexion_curves_figure(self.kinematics, ind, reps)
        fig = self.curves_figure
        with fig.batch_update():
            fig.data = ()
            fig.layout = fresh.layout
            fig.layout.height = 330
            fig.layout.margin = {"t": 40, "b": 40}
            fig.layout.hovermode = "closest"  # clicks land on one curve
            fig.add_traces(list(fresh.data))
            fig.layout.shapes = [*fresh.layout.shapes, self._cursor_shape()]
        for trace in fig.data:
            trace.on_click(self._on_curve_click)

    def redraw(self, *_: Any) -> None:
        """Redraw both angle figures and the frame (after a change of athlete, quantity,
        levels or keypoints)."""
        self._draw_angles()
        self._draw_curves()
        self.show_frame(self.index)

    # ---------------------------------------------------------------- callbacks

    def show_frame(self, index: int) -> None:
        """Show analysed frame ``index`` and move the cursors to its time."""
        self.index = int(np.clip(index, 0, len(self.time_s) - 1))
        t = float(self.time_s[self.index])
        chain = self.poses["position"].sel(individual=self.athlete.value).isel(time=self.index)
        chain = chain.sel(keypoint=list(SPINE_CHAIN))
        with self.frame_figure.batch_update():
            self.frame_figure.data[0].source = jpeg_source(self.read_frame(self.index),
                                                            self.width_px)
            self.frame_figure.data[1].x = chain.sel(space="x").values
            self.frame_figure.data[1].y = chain.sel(space="y").values
            self.frame_figure.layout.title = (
                f"frame {self.index + 1} / {len(self.time_s)}, t = {t:.3f} s")
        for fig in (self.angles_figure, self.curves_figure):
            if fig.layout.shapes:
                fig.layout.shapes[-1].update(x0=t, x1=t)
        if self.frame_slider.value != self.index:
            self.frame_slider.value = self.index

    def _on_frame_change(self, change: dict[str, Any]) -> None:
        if int(change["new"]) != self.index:
            self.show_frame(int(change["new"]))

    def _on_curve_click(self, trace: Any, points: Any, state: Any) -> None:
        """FigureWidget click callback: ``points.xs`` are times, s; jump to that frame."""
        if points.xs:
            self.show_frame(self.frame_at(points.xs[0]))

    def _connect(self) -> None:
        self.frame_slider.observe(self._on_frame_change, "value")
        for w in (self.athlete, self.quantity, self.levels, self.source):
            w.observe(self.redraw, "value")
        self.csv_button.on_click(lambda _b: self._report(self.export_csv))
        self.clip_button.on_click(lambda _b: self._report(self.export_clip))

    def _report(self, export: Callable[[], Path]) -> None:
        self.status.value = "<i>exporting ...</i>"
        try:
            path = export()
        except (OSError, ValueError) as exc:
            self.status.value = f"<b>export failed</b>: {exc}"
        else:
            self.status.value = f"wrote <code>{path}</code>"

    # ---------------------------------------------------------------- export

    def _range(self, start_s: float | None, end_s: float | None) -> tuple[float, float]:
        lo, hi = self.time_range.value
        return float(lo if start_s is None else start_s), float(hi if end_s is None else end_s)

    def table(self, start_s: float | None = None, end_s: float | None = None) -> pd.DataFrame:
        """The shown series of the athlete from ``start_s`` to ``end_s`` (s, both
        included; default: the range slider), with the columns of ``angles.csv``."""
        from ..kinematics.io import kinematics_table

        lo, hi = self._range(start_s, end_s)
        kin = self.kinematics.sel(individual=[self.athlete.value])
        kin = kin.isel(time=(self.time_s >= lo - 1e-9) & (self.time_s <= hi + 1e-9))
        df = kinematics_table(kin, [self.quantity.value])
        if "level" in self.kinematics[self.quantity.value].dims:
            df = df[df["label"].isin(self.levels.value)]
        return df.reset_index(drop=True)

    def _out(self, path: str | Path | None, suffix: str, lo: float, hi: float) -> Path:
        if path is not None:
            return Path(path)
        name = f"explore_{self.athlete.value}_{self.quantity.value}_{lo:.2f}-{hi:.2f}s{suffix}"
        return self.results.folder / name

    def export_csv(
        self, path: str | Path | None = None, start_s: float | None = None,
        end_s: float | None = None,
    ) -> Path:
        """Write :meth:`table` as CSV (default: into the results folder); returns the path."""
        from ..results import atomic_path

        lo, hi = self._range(start_s, end_s)
        out = self._out(path, ".csv", lo, hi)
        with atomic_path(out) as tmp:
            self.table(lo, hi).to_csv(tmp, index=False, float_format="%.4f")
        self.last_export = out
        return out

    def export_clip(
        self, path: str | Path | None = None, start_s: float | None = None,
        end_s: float | None = None, **options: Any,
    ) -> Path:
        """Render the overlay of the frames from ``start_s`` to ``end_s`` (s, both
        included; default: the range slider) to an MP4 (default: into the results
        folder); ``options``: more :class:`~spinepose_sports.render.RenderOptions`."""
        from ..render import RenderOptions, render_results

        lo, hi = self._range(start_s, end_s)
        out = self._out(path, ".mp4", lo, hi).with_suffix(".mp4")
        end = hi + 0.5 / self.fps  # render_results' end is exclusive
        render_results(self.results.folder, RenderOptions(start_s=lo, end_s=end, **options),
                       out_path=out, smoothed=self.source.value == "smoothed")
        self.last_export = out
        return out

    # ---------------------------------------------------------------- display

    def widget(self) -> Any:
        """The explorer: choices, frame and play, both figures, range and export."""
        import ipywidgets as widgets

        choices = widgets.VBox([self.athlete, self.quantity, self.source, self.levels])
        top = widgets.HBox([widgets.VBox([widgets.HBox([self.play, self.frame_slider]),
                                          self.frame_figure]), choices])
        export = widgets.HBox([self.time_range, self.csv_button, self.clip_button])
        return widgets.VBox([top, self.angles_figure, self.curves_figure, export, self.status])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())
