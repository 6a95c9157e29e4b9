"""Pick athletes by clicking on a frame of the video, in Jupyter.

:class:`AthletePicker` shows one frame with the box of every track and picks the track
under a click (:func:`~spinepose_sports.tracking.select_athletes` with a
:class:`~spinepose_sports.tracking.Point`). A time slider moves through the video, a text
box names the picked athlete, and :meth:`AthletePicker.cli_options` gives the same choice
as command-line options (``--athletes id:3 --names 3=Anna``).

The figure is a ``plotly.graph_objects.FigureWidget`` (needs ``anywidget``); the frame
is an image trace placed in the video's pixel coordinates, so click positions, boxes and
the :class:`Point` all use video pixels.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..data import track_id_of
from ..tracking import Point, names_of, select_athletes

__all__ = ["AthletePicker"]

PICKED_COLOUR = "red"
OTHER_COLOUR = "lime"


def jpeg_source(image_bgr: np.ndarray, width_px: int) -> str:
    """``image_bgr`` resized to ``width_px`` wide, as a JPEG data URI."""
    import cv2

    scale = width_px / image_bgr.shape[1]
    small = cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("could not encode the frame as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode("ascii")


def _video_frame(video: Path, time_s: float) -> tuple[np.ndarray, float]:
    """The frame shown at ``time_s`` (BGR) and its timestamp, s."""
    from ..video import read_frames

    for frame in read_frames(video, start_s=max(time_s, 0.0)):
        return frame.image, frame.time_s
    raise ValueError(f"{video}: no frame at or after {time_s:.2f} s")


class AthletePicker:
    """Click an athlete on a frame to select them; name them; read back the choice.

    boxes: the stitched boxes (``boxes.nc`` of a results folder); poses: the matching
    poses (optional, used by the selection only to break ties); video: the source video
    (default ``boxes.attrs["source_file"]``); time_s: the first frame shown, s (default:
    the middle of the longest track); width_px: display width of the frame, px;
    frame_reader: ``(time_s) -> (image_bgr, shown_time_s)``, to show frames from
    elsewhere than the video file.
    """

    def __init__(
        self,
        boxes: xr.Dataset,
        poses: xr.Dataset | None = None,
        video: str | Path | None = None,
        *,
        time_s: float | None = None,
        width_px: int = 640,
        frame_reader: Callable[[float], tuple[np.ndarray, float]] | None = None,
    ) -> None:
        import ipywidgets as widgets
        import plotly.graph_objects as go

        self.boxes = boxes
        self.poses = poses
        self.frame_width = int(boxes.attrs["frame_width"])
        self.frame_height = int(boxes.attrs["frame_height"])
        self.width_px = int(width_px)
        source = Path(video if video is not None else boxes.attrs["source_file"])
        self._read = frame_reader or (lambda t: _video_frame(source, t))
        self.selected: list[str] = []
        self.names: dict[int, str] = dict(names_of(boxes))
        self.point: Point | None = None
        self.shown_time_s = float("nan")

        times = boxes["time"].values
        if time_s is None:
            time_s = self._default_time()
        scale = self.width_px / self.frame_width
        self.figure = go.FigureWidget(
            data=[go.Image(source=None, x0=0, y0=0, dx=1 / scale, dy=1 / scale,
                           hoverinfo="x+y", name="frame"),
                  go.Scatter(x=[], y=[], mode="markers", name="click", hoverinfo="skip",
                             marker=dict(size=12, color="yellow",
                                         line=dict(color="black", width=1)))],
            layout=go.Layout(
                width=self.width_px, height=round(self.frame_height * scale) + 40,
                margin=dict(l=0, r=0, t=30, b=0), showlegend=False, dragmode=False,
                xaxis=dict(range=[0, self.frame_width], visible=False),
                yaxis=dict(range=[self.frame_height, 0], visible=False,
                           scaleanchor="x"),
            ),
        )
        self.figure.data[0].on_click(self._on_click)
        self.time_slider = widgets.FloatSlider(
            value=float(time_s), min=float(times[0]), max=float(times[-1]),
            step=float(np.median(np.diff(times))) if len(times) > 1 else 0.1,
            description="time (s)", continuous_update=False, readout_format=".2f")
        self.time_slider.observe(lambda change: self.show(change["new"]), "value")
        self.name_box = widgets.Text(description="name", placeholder="name of the picked athlete",
                                     continuous_update=False)
        self.name_box.observe(lambda change: self.set_name(change["new"]), "value")
        self.status = widgets.HTML("click an athlete on the frame")
        self.show(float(time_s))

    # ---------------------------------------------------------------- state changes

    def show(self, time_s: float) -> None:
        """Show the frame at ``time_s`` (s) with the boxes of the tracks seen then."""
        image, shown = self._read(float(time_s))
        self.shown_time_s = float(shown)
        if self.point is not None and abs(self.point.time_s - self.shown_time_s) > 1e-6:
            self.point = None
        with self.figure.batch_update():
            self.figure.data[0].source = jpeg_source(image, self.width_px)
            self._draw_overlays()

    def pick(self, x: float, y: float, *, add: bool = False) -> list[str]:
        """Select the track at ``(x, y)`` (video px) on the frame shown; with ``add``, keep
        the athletes picked before. Returns the selection; a click on no track leaves it
        unchanged and says so."""
        self.point = Point(self.shown_time_s, float(x), float(y))
        try:
            found = select_athletes(self.boxes, self.poses, self.point)[0]
        except ValueError as exc:
            self.status.value = f"<i>{exc}</i>"
        else:
            self.selected = ([s for s in self.selected if s != found] if add else []) + [found]
            self.name_box.value = self.names.get(track_id_of(found), "")
            self.status.value = f"picked <b>{found}</b>: {self.cli_options()}"
        with self.figure.batch_update():
            self._draw_overlays()
        return list(self.selected)

    def set_name(self, name: str) -> None:
        """Name the athlete picked last (an empty name removes the name)."""
        if not self.selected:
            return
        track = track_id_of(self.selected[-1])
        if name.strip():
            self.names[track] = name.strip()
        else:
            self.names.pop(track, None)
        self.status.value = f"{self.cli_options()}"
        with self.figure.batch_update():
            self._draw_overlays()

    def _on_click(self, trace: Any, points: Any, state: Any) -> None:
        """FigureWidget click callback: ``points.xs``/``ys`` are video px; shift-click
        adds to the selection."""
        if not points.xs:
            return
        self.pick(points.xs[0], points.ys[0], add=bool(getattr(state, "shift", False)))

    # ---------------------------------------------------------------- read back

    def selected_ids(self) -> list[int]:
        """Track ids of the picked athletes, in picking order."""
        return [track_id_of(s) for s in self.selected]

    def selected_names(self) -> dict[int, str]:
        """Track id -> name, for the picked athletes that have a name."""
        return {i: self.names[i] for i in self.selected_ids() if i in self.names}

    def cli_options(self) -> str:
        """The choice as ``analyze`` options (also the keys of a pipeline file)."""
        if not self.selected:
            return ""
        text = "--athletes id:" + ",".join(map(str, self.selected_ids()))
        names = self.selected_names()
        if names:
            text += " --names '" + ",".join(f"{i}={n}" for i, n in names.items()) + "'"
        return text

    def widget(self) -> Any:
        """The picker: slider, name box, status line and the frame."""
        import ipywidgets as widgets

        return widgets.VBox([widgets.HBox([self.time_slider, self.name_box]), self.status,
                             self.figure])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())

    # ---------------------------------------------------------------- drawing

    def _default_time(self) -> float:
        longest = select_athletes(self.boxes, self.poses, "longest")
        if not longest:
            return float(self.boxes["time"].values[0])
        seen = self.boxes["position"].sel(individual=longest[0]).notnull().all("space")
        times = self.boxes["time"].values[seen.values]
        return float(times[len(times) // 2])

    def _draw_overlays(self) -> None:
        at = self.boxes.sel(time=self.shown_time_s, method="nearest")
        shapes, labels = [], []
        for name in at["individual"].values:
            cx, cy = at["position"].sel(individual=name).values
            w, h = at["shape"].sel(individual=name).values
            if not (np.isfinite(cx) and np.isfinite(w)):
                continue
            colour = PICKED_COLOUR if name in self.selected else OTHER_COLOUR
            shapes.append(dict(type="rect", x0=cx - w / 2, y0=cy - h / 2, x1=cx + w / 2,
                               y1=cy + h / 2, line=dict(color=colour, width=2)))
            display = self.names.get(track_id_of(str(name)))
            labels.append(dict(x=cx - w / 2, y=cy - h / 2, text=display or str(name),
                               showarrow=False, yshift=9, xanchor="left",
                               font=dict(color=colour)))
        self.figure.layout.shapes = shapes
        self.figure.layout.annotations = labels
        self.figure.layout.title = f"t = {self.shown_time_s:.2f} s"
        marker = self.figure.data[1]
        marker.x, marker.y = ([self.point.x], [self.point.y]) if self.point else ([], [])
