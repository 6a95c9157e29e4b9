"""The notebook explorer: slider, clicks on curves, choices and exports driven as widgets do.

Synthetic results folders (tests/render_data.py): track_3 bends forward in repetitions,
track_7 sways; frames come from a reader that paints the frame index, or from a real
video written with the product's own writer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from render_data import make_results_folder

from spinepose_sports.data import load_poses, save_netcdf
from spinepose_sports.kinematics.io import TABLE_COLUMNS
from spinepose_sports.plots.explorer import Explorer, FrameSource
from spinepose_sports.skeleton import SPINE_LEVELS
from spinepose_sports.video import VideoWriter, probe, read_frames

FPS = 10.0
N = 20
W, H = 320, 240


def _click(trace, time_s: float) -> None:
    """What plotly's FigureWidget does when a point of ``trace`` is clicked."""
    from plotly.callbacks import InputDeviceState, Points

    points = Points(point_inds=[0], xs=[time_s], ys=[0.0], trace_name=trace.name,
                    trace_index=0)
    state = InputDeviceState(ctrl=False, alt=False, shift=False, meta=False, button=0,
                             buttons=1)
    trace._dispatch_on_click(points, state)


def _painted(calls: list[int]):
    def read(index: int) -> np.ndarray:
        calls.append(index)
        return np.full((720, 1280, 3), index, np.uint8)
    return read


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """240 frames at 30 fps; smoothed poses saved beside the raw ones (shifted 1 px up)."""
    folder = make_results_folder(tmp_path_factory.mktemp("explore") / "drill", None)
    poses = load_poses(folder / "poses.nc")
    save_netcdf(poses.assign(position=poses["position"] - 1.0), folder / "poses_smoothed.nc")
    return folder


@pytest.fixture()
def explorer(folder) -> Explorer:
    return Explorer(folder, frame_reader=_painted([]))


def _cursors(ex: Explorer) -> list[float]:
    return [fig.layout.shapes[-1].x0 for fig in (ex.angles_figure, ex.curves_figure)]


def test_opens_on_the_longest_track_with_every_level(explorer) -> None:
    assert explorer.athlete.value == "track_3" and explorer.quantity.value == "segmental_angle"
    assert explorer.angles_figure.data[0].name == "spine_01 (L5)"
    assert len(explorer.angles_figure.data) == 8
    names = {tr.name for tr in explorer.curves_figure.data}
    assert {"trunk", "pelvis", "lumbar", "thoracic", "cervical"} <= names
    assert _cursors(explorer) == [0.0, 0.0]
    assert explorer.frame_figure.data[0].source.startswith("data:image/jpeg;base64,")
    assert explorer.source.options == ("smoothed", "raw")


def test_slider_shows_the_frame_and_moves_both_cursors(folder) -> None:
    calls: list[int] = []
    ex = Explorer(folder, frame_reader=_painted(calls))
    first = ex.frame_figure.data[0].source
    ex.frame_slider.value = 90  # what the slider (or the play button, jslinked) does
    assert calls[-1] == 90 and ex.index == 90
    assert ex.frame_figure.data[0].source != first
    assert _cursors(ex) == pytest.approx([3.0, 3.0])
    assert "t = 3.000 s" in ex.frame_figure.layout.title.text
    chain = ex.poses["position"].sel(individual="track_3", keypoint="hip").isel(time=90)
    assert ex.frame_figure.data[1].x[0] == pytest.approx(float(chain.sel(space="x")))
    assert ex.play.max == ex.frame_slider.max == 239


def test_a_click_on_any_curve_jumps_to_its_frame(explorer) -> None:
    _click(explorer.angles_figure.data[2], 1.51)
    assert explorer.index == 45 and explorer.frame_slider.value == 45
    assert _cursors(explorer) == pytest.approx([1.5, 1.5])
    _click(explorer.curves_figure.data[0], 6.0)
    assert explorer.index == 180 and _cursors(explorer) == pytest.approx([6.0, 6.0])
    explorer.quantity.value = "regional_angle"  # redrawn curves still answer clicks
    _click(explorer.angles_figure.data[0], 0.2)
    assert explorer.index == 6


def test_athlete_quantity_and_levels_choose_the_lines(explorer) -> None:
    explorer.levels.value = ("spine_01", "spine_03")
    assert [tr.name for tr in explorer.angles_figure.data] == ["spine_01 (L5)",
                                                               "spine_03 (T12/L1)"]
    explorer.quantity.value = "regional_angle"
    assert [tr.name for tr in explorer.angles_figure.data] == ["lumbar", "thoracic",
                                                               "cervical"]
    explorer.quantity.value = "trunk_flexion"
    assert len(explorer.angles_figure.data) == 1
    explorer.frame_slider.value = 30
    explorer.athlete.value = "track_7"
    assert "track_7" in explorer.angles_figure.layout.title.text
    kin = explorer.kinematics["trunk_flexion"].sel(individual="track_7").values
    np.testing.assert_allclose(explorer.angles_figure.data[0].y, kin)
    assert _cursors(explorer) == pytest.approx([1.0, 1.0])  # the frame is kept


def test_raw_keypoints_give_their_own_angles(explorer) -> None:
    smoothed_hip = explorer.frame_figure.data[1].y[0]
    explorer.source.value = "raw"
    assert explorer.frame_figure.data[1].y[0] == pytest.approx(smoothed_hip + 1.0)
    raw = explorer.kinematics
    assert raw is not explorer._kin["smoothed"]
    np.testing.assert_allclose(  # a 1 px shift of every point changes no angle
        raw["segmental_angle"].values, explorer._kin["smoothed"]["segmental_angle"].values,
        atol=1e-6)


def test_export_csv_of_the_chosen_range(explorer, tmp_path) -> None:
    explorer.levels.value = ("spine_02",)
    explorer.time_range.value = (1.0, 2.0)
    explorer.csv_button.click()
    out = explorer.last_export
    assert out is not None and out.parent == explorer.results.folder
    assert "wrote" in explorer.status.value and out.name in explorer.status.value
    df = pd.read_csv(out)
    assert tuple(df.columns) == TABLE_COLUMNS
    assert df["time_s"].min() == pytest.approx(1.0) and df["time_s"].max() == pytest.approx(2.0)
    assert set(df["label"]) == {"spine_02"} and len(df) == 31 and set(df["track"]) == {3}
    kin = explorer.kinematics["segmental_angle"].sel(individual="track_3", level="spine_02")
    np.testing.assert_allclose(df["value"], kin.sel(time=slice(1.0, 2.0)).values, atol=1e-4)
    other = explorer.export_csv(tmp_path / "x.csv", 0.0, 0.5)
    assert len(pd.read_csv(other)) == 16


def _video(path):
    with VideoWriter(path, fps=FPS) as writer:
        for i in range(N):
            writer.write(np.full((H, W, 3), 10 * i, np.uint8))
    return path


def test_frames_and_clip_from_the_real_video(tmp_path) -> None:
    clip = _video(tmp_path / "clip.mp4")
    folder = make_results_folder(tmp_path / "clip", clip)
    ex = Explorer(folder)
    assert isinstance(ex.read_frame, FrameSource) and ex.read_frame.kind == "source"
    assert ex.read_frame(12).mean() == pytest.approx(120, abs=3)
    assert ex.read_frame(3).mean() == pytest.approx(30, abs=3)  # backwards: reopened
    ex.time_range.value = (0.5, 1.0)
    ex.clip_button.click()
    assert "wrote" in ex.status.value, ex.status.value
    info = probe(ex.last_export)
    assert info.frame_count == 6 and (info.width, info.height) == (W, H)  # 0.5 .. 1.0 s
    images = [f.image.mean() for f in read_frames(ex.last_export)]
    assert images[0] > 40  # starts at the source's frame 5 (grey 50 + the overlay)


def test_frames_come_from_the_overlay_when_it_covers_every_frame(tmp_path) -> None:
    from spinepose_sports.render import RenderOptions, render_results

    folder = make_results_folder(tmp_path / "clip", _video(tmp_path / "clip.mp4"))
    overlay = render_results(folder, RenderOptions(audio=False, preset="ultrafast"))
    source = FrameSource(Explorer(folder, frame_reader=lambda i: np.zeros((H, W, 3))).results)
    assert source.kind == "overlay" and source.path == overlay
    expected = [f.image for f in read_frames(overlay)]
    for i in (4, 5, 15, 2):
        np.testing.assert_array_equal(source(i), expected[i])


def test_export_errors_are_reported_not_raised(tmp_path) -> None:
    folder = make_results_folder(tmp_path / "novideo", None, 60)  # its video is missing
    ex = Explorer(folder, frame_reader=_painted([]))
    ex.clip_button.click()
    assert "export failed" in ex.status.value and "not found" in ex.status.value
    assert ex.levels.options[0] == ("spine_01 (L5)", "spine_01")
    assert len(ex.levels.options) == len(SPINE_LEVELS)


def test_without_smoothed_poses_the_saved_kinematics_are_the_raw_ones(tmp_path) -> None:
    folder = make_results_folder(tmp_path / "raw", None, 60)
    ex = Explorer(folder, frame_reader=_painted([]))
    assert ex.source.options == ("raw",) and ex.source.value == "raw"
    assert ex.kinematics is ex.results.kinematics  # not computed again
