"""The notebook athlete picker: clicks on a frame select, name and report athletes.

Two synthetic tracks on a 400x300 frame; the frames come from a reader that draws them,
or from a real video written with the product's own writer.
"""

from __future__ import annotations

import numpy as np
import pytest

from spinepose_sports.data import make_boxes
from spinepose_sports.plots.picker import AthletePicker
from spinepose_sports.tracking import apply_names

FPS = 10.0
N = 20
W, H = 400, 300


def _boxes() -> tuple:
    """Track 3 stands at (100, 150); track 8 walks from x 200 to 390 at y 150, and is
    seen from frame 5 only."""
    time_s = np.arange(N) / FPS
    centre = np.full((N, 2, 2), np.nan)
    size = np.full((N, 2, 2), np.nan)
    centre[:, :, 0] = (100, 150)
    size[:, :, 0] = (40, 100)
    centre[5:, 0, 1] = np.linspace(200, 390, N - 5)
    centre[5:, 1, 1] = 150
    size[5:, :, 1] = (40, 100)
    conf = np.where(np.isfinite(centre[:, 0]), 0.8, np.nan)
    return make_boxes(centre, size, conf, time_s, [3, 8], fps=FPS, frame_width=W,
                      frame_height=H, source_file="synthetic.mp4")


def _reader(calls: list[float]):
    def read(time_s: float) -> tuple[np.ndarray, float]:
        calls.append(time_s)
        index = int(np.clip(np.ceil(time_s * FPS - 1e-9), 0, N - 1))
        image = np.full((H, W, 3), 40 + index, np.uint8)
        return image, index / FPS
    return read


def _click(picker: AthletePicker, x: float, y: float, shift: bool = False) -> None:
    """What plotly's FigureWidget passes to an image trace's click callback."""
    from plotly.callbacks import InputDeviceState, Points

    points = Points(point_inds=[[int(y), int(x)]], xs=[x], ys=[y], trace_name="frame",
                    trace_index=0)
    state = InputDeviceState(ctrl=False, alt=False, shift=shift, meta=False, button=0,
                             buttons=1)
    picker._on_click(picker.figure.data[0], points, state)


@pytest.fixture()
def picker() -> AthletePicker:
    return AthletePicker(_boxes(), frame_reader=_reader([]), time_s=1.0, width_px=200)


def test_frame_is_placed_in_video_pixels(picker: AthletePicker) -> None:
    image = picker.figure.data[0]
    assert image.source.startswith("data:image/jpeg;base64,")
    assert image.dx == pytest.approx(W / 200) and image.dy == pytest.approx(W / 200)
    assert picker.figure.layout.xaxis.range == (0, W)
    assert picker.figure.layout.yaxis.range == (H, 0)  # image rows grow downwards
    # one box per track seen at 1.0 s, drawn where the track is
    rects = [(s.x0, s.y0, s.x1, s.y1) for s in picker.figure.layout.shapes]
    assert (80, 100, 120, 200) in rects
    assert len(rects) == 2 and picker.figure.layout.title.text == "t = 1.00 s"


def test_click_selects_the_track_under_it_and_says_how_to_repeat_it(picker) -> None:
    _click(picker, 105, 160)
    assert picker.selected == ["track_3"] and picker.selected_ids() == [3]
    assert picker.cli_options() == "--athletes id:3"
    assert [s.line.color for s in picker.figure.layout.shapes].count("red") == 1
    assert list(picker.figure.data[1].x) == [105]
    # a plain click replaces the choice, shift-click adds to it
    x8 = float(picker.boxes["position"].sel(individual="track_8", space="x", time=1.0))
    _click(picker, x8, 150)
    assert picker.selected == ["track_8"]
    _click(picker, 100, 150, shift=True)
    assert picker.selected == ["track_8", "track_3"]
    assert picker.cli_options() == "--athletes id:8,3"


def test_click_on_nothing_keeps_the_choice_and_says_so(picker) -> None:
    _click(picker, 100, 150)
    _click(picker, 10, 10)
    assert picker.selected == ["track_3"]
    assert "no track" in picker.status.value


def test_names_follow_the_last_pick_into_the_labels_and_options(picker) -> None:
    _click(picker, 100, 150)
    picker.name_box.value = "Anna"
    assert picker.selected_names() == {3: "Anna"}
    assert picker.cli_options() == "--athletes id:3 --names '3=Anna'"
    assert "Anna" in [a.text for a in picker.figure.layout.annotations]
    # the names can go straight into the data
    named = apply_names(picker.boxes, picker.selected_names())
    assert str(named["name"].sel(individual="track_3").values) == "Anna"
    picker.name_box.value = ""
    assert picker.selected_names() == {}


def test_time_slider_moves_the_frame_and_the_boxes() -> None:
    calls: list[float] = []
    picker = AthletePicker(_boxes(), frame_reader=_reader(calls), time_s=0.2)
    assert len(picker.figure.layout.shapes) == 1  # track 8 is not seen yet
    first = picker.figure.data[0].source
    picker.time_slider.value = 1.5
    assert calls[-1] == pytest.approx(1.5)
    assert picker.figure.data[0].source != first
    assert len(picker.figure.layout.shapes) == 2
    # a click on track 8 now finds it; the point is dropped when the time moves on
    x8 = float(picker.boxes["position"].sel(individual="track_8", space="x", time=1.5))
    _click(picker, x8, 150)
    assert picker.selected == ["track_8"] and picker.point.time_s == pytest.approx(1.5)
    picker.time_slider.value = 1.8
    assert picker.point is None and len(picker.figure.data[1].x) == 0


def test_default_time_is_the_middle_of_the_longest_track() -> None:
    picker = AthletePicker(_boxes(), frame_reader=_reader([]))
    assert picker.shown_time_s == pytest.approx(1.0)  # track 3: 0 to 1.9 s


def test_widget_and_display() -> None:
    import ipywidgets as widgets

    picker = AthletePicker(_boxes(), frame_reader=_reader([]))
    box = picker.widget()
    assert isinstance(box, widgets.VBox) and picker.figure in box.children


def test_frames_come_from_the_video_file(tmp_path) -> None:
    from spinepose_sports.video import VideoWriter

    clip = tmp_path / "clip.mp4"
    with VideoWriter(clip, fps=FPS) as writer:
        for i in range(N):
            writer.write(np.full((H, W, 3), 10 * i, np.uint8))
    picker = AthletePicker(_boxes(), video=clip, time_s=1.2)
    assert picker.shown_time_s == pytest.approx(1.2)
    picker.time_slider.value = 0.0
    assert picker.shown_time_s == 0.0
    assert picker.figure.data[0].source.startswith("data:image/jpeg")
