"""The reliability catalogue, cases met through the library (``analyze_batch``): full disk,
an unwritable results folder at the last step, the overlay failing, boxes at the frame
edge or degenerate, a broken (NaN/inf) model, results folders from older versions.

Stages are a fake tracker (fixed boxes) and a stand-in pose model, so each case runs in
about a second; see docs/reliability.md for the catalogue.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import videogen
import xarray as xr

from spinepose_sports.config import AnalyzeConfig
from spinepose_sports.data import FrameDetections, load_poses
from spinepose_sports.pipeline import Stages, already_completed, analyze_batch
from spinepose_sports.pose import SpinePoseEstimator
from spinepose_sports.results import RUN_FILE, assign_folders, is_staging_name


class BoxTracker:
    """The same boxes (track ids 1, 2, ...) in every frame."""

    def __init__(self, boxes: list[list[float]]) -> None:
        self.boxes = np.asarray(boxes, np.float32).reshape(-1, 4)

    def update(self, frame: np.ndarray) -> FrameDetections:
        n = len(self.boxes)
        return FrameDetections(self.boxes.copy(), np.full(n, 0.9, np.float32),
                               np.arange(1, n + 1, dtype=np.int64))

    def reset(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"weights": "fake", "tracker": "fixed boxes"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """12 frames, 320x240, 10 fps."""
    path = tmp_path_factory.mktemp("clip") / "jump.mp4"
    return videogen.write_clip(path, [videogen.pattern(240, 320, i) for i in range(12)])


def _config(out: Path, **settings: Any) -> AnalyzeConfig:
    base = {"output": str(out), "overlay": False, "dashboard": False, "min_track": 0,
            "min_track_motion": 0}
    return AnalyzeConfig().replace(**(base | settings))


def _run(clip: Path, config: AnalyzeConfig, model: Path, boxes=None) -> list:
    stages = Stages(BoxTracker(boxes or [[100, 30, 180, 230]]), SpinePoseEstimator(model))
    return analyze_batch([clip], config, load=lambda _c: stages, progress=False)


def _no_staging(out: Path) -> bool:
    return not [p for p in out.iterdir() if is_staging_name(p.name)]


@pytest.fixture()
def previous(tmp_path, clip, standin_onnx) -> tuple[Path, dict[str, bytes]]:
    """A completed run in tmp/out/jump; returns (folder, its files' bytes)."""
    out = tmp_path / "out"
    (result,) = _run(clip, _config(out), standin_onnx)
    assert result.status == "completed"
    folder = out / "jump"
    return folder, {p.name: p.read_bytes() for p in folder.iterdir()}


def _unchanged(folder: Path, files: dict[str, bytes]) -> bool:
    return {p.name: p.read_bytes() for p in folder.iterdir()} == files


def test_disk_full_while_writing_the_first_output_keeps_the_previous_results(
    previous, clip, standin_onnx, monkeypatch
) -> None:
    folder, files = previous

    def full(*_a: Any, **_k: Any) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("spinepose_sports.pipeline.chain.save_netcdf", full)
    monkeypatch.setattr("spinepose_sports.pipeline.job.save_netcdf", full)
    (result,) = _run(clip, _config(folder.parent, smoothing="none"), standin_onnx)
    assert result.status == "failed" and "No space left on device" in result.error
    assert _unchanged(folder, files) and _no_staging(folder.parent)


def test_disk_full_after_the_poses_keeps_the_poses(
    previous, clip, standin_onnx, monkeypatch
) -> None:
    folder, _ = previous

    def full(*_a: Any, **_k: Any) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("spinepose_sports.pipeline.chain.save_keypoints_csv", full)
    (result,) = _run(clip, _config(folder.parent, smoothing="none"), standin_onnx)
    assert result.status == "failed"
    assert "No space left on device" in result.error and "kept" in result.error
    run = json.loads((folder / RUN_FILE).read_text())
    assert run["status"] == "failed" and "No space left" in run["error"]
    kept = {"poses.nc", "boxes.nc", "tracker_poses.nc", "tracker_boxes.nc"}
    assert set(run["outputs"].values()) == kept
    # the folder is this run's, whole: its poses and nothing of the previous run
    assert {p.name for p in folder.iterdir()} == kept | {RUN_FILE}
    assert load_poses(folder / "poses.nc").sizes["time"] == 12
    assert _no_staging(folder.parent)


def test_overlay_failing_never_loses_the_poses(tmp_path, clip, standin_onnx, monkeypatch) -> None:
    from spinepose_sports.video import VideoError

    def broken(*_a: Any, **_k: Any) -> Path:
        raise VideoError("overlay.mp4: encoding failed (Cannot allocate memory)")

    monkeypatch.setattr("spinepose_sports.render.render_overlay", broken)
    out = tmp_path / "out"
    (result,) = _run(clip, _config(out, overlay=True), standin_onnx)
    assert result.status == "failed" and "overlay.mp4" in result.error
    folder = out / "jump"
    run = json.loads((folder / RUN_FILE).read_text())
    assert run["status"] == "failed"
    for name in ("poses.nc", "boxes.nc", "keypoints.csv", "kinematics.nc", "angles.csv"):
        assert (folder / name).is_file() and name in run["outputs"].values(), name
    assert not (folder / "overlay.mp4").exists()
    assert not already_completed(clip, folder, _config(out, overlay=True))  # redone next time


def test_a_results_folder_that_turns_read_only_at_the_end(
    previous, clip, standin_onnx, monkeypatch
) -> None:
    folder, files = previous

    def refused(*_a: Any, **_k: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(folder))

    monkeypatch.setattr("spinepose_sports.results.swap_in", refused)
    (result,) = _run(clip, _config(folder.parent, smoothing="none"), standin_onnx)
    assert result.status == "failed" and "Permission denied" in result.error
    assert _unchanged(folder, files) and _no_staging(folder.parent)


def test_boxes_at_the_edge_tiny_or_degenerate(tmp_path, clip, standin_onnx) -> None:
    boxes = [[-60, 40, 50, 300],  # past the left and bottom edges
             [300, 0, 330, 60],  # past the right edge, at the top
             [150, 120, 152, 123],  # a few pixels
             [200, 100, 200, 180]]  # zero width
    (result,) = _run(clip, _config(tmp_path / "out", min_track_height=0), standin_onnx, boxes)
    assert result.status == "completed", result.error
    poses = load_poses(tmp_path / "out" / "jump" / "poses.nc")
    position = poses["position"].values
    assert not np.isinf(position).any()
    by_track = poses["position"].notnull().any(("time", "space", "keypoint"))
    assert bool(by_track.sel(individual="track_1")) and bool(by_track.sel(individual="track_3"))
    # a zero-width box gives no keypoints at all, never a pose invented at one point
    if "track_4" in poses["individual"].values:
        assert bool(poses["position"].sel(individual="track_4").isnull().all())


def test_a_model_that_outputs_nan_or_inf(tmp_path, clip) -> None:
    from standins import make_nonfinite_model

    model = make_nonfinite_model(tmp_path / "broken.onnx")
    out = tmp_path / "out"
    (result,) = _run(clip, _config(out), model)
    assert result.status == "completed", result.error
    folder = out / "jump"
    poses = load_poses(folder / "poses.nc")
    for name in ("spine_03", "left_knee", "left_wrist", "nose"):
        assert bool(poses["position"].sel(keypoint=name).isnull().all()), name
        assert bool(poses["confidence"].sel(keypoint=name).isnull().all()), name
    assert bool(poses["position"].sel(keypoint="hip").notnull().all())
    assert not np.isinf(poses["position"].values).any()
    kin = xr.load_dataset(folder / "kinematics.nc")
    for name, var in kin.data_vars.items():
        if np.issubdtype(var.dtype, np.floating):
            assert not np.isinf(var.values).any(), name
    csv = (folder / "keypoints.csv").read_text()
    assert "inf" not in csv.lower() and ",spine_03," not in csv


@pytest.mark.parametrize("record", [
    {"status": "completed", "input": "clip.mp4"},  # 0.1: no identity, no settings key
    {"status": "completed", "input_resolved": "/elsewhere/jump.mp4"},  # another video's
    "not json {",
    {},
], ids=["old-keys", "other-owner", "corrupt", "empty"])
def test_a_results_folder_from_an_older_version(
    tmp_path, clip, standin_onnx, record
) -> None:
    out = tmp_path / "out"
    folder = out / "jump"
    folder.mkdir(parents=True)
    (folder / "poses.nc").write_bytes(b"old format")
    (folder / "notes.txt").write_text("mine")
    text = record if isinstance(record, str) else json.dumps(record)
    (folder / RUN_FILE).write_text(text)
    config = _config(out, skip_completed=True)
    assert not already_completed(clip, folder, config)
    (target,) = assign_folders([clip], out)
    (result,) = _run(clip, config, standin_onnx)
    assert result.status == "completed", result.error
    assert result.output_dir == target
    run = json.loads((target / RUN_FILE).read_text())
    assert run["status"] == "completed" and run["input_sha256"]
    if target == folder:
        assert (folder / "notes.txt").read_text() == "mine"  # carried over
        assert load_poses(folder / "poses.nc").sizes["time"] == 12
    else:  # another video's folder is never taken
        assert (folder / "poses.nc").read_bytes() == b"old format"
    (again,) = _run(clip, config, standin_onnx)
    assert again.status == "skipped"


def test_start_past_the_end_of_the_video(tmp_path, clip, standin_onnx) -> None:
    (result,) = _run(clip, _config(tmp_path / "out", start=60), standin_onnx)
    assert result.status == "failed" and "no frame between" in result.error
    assert not (tmp_path / "out" / "jump").exists() or json.loads(
        (tmp_path / "out" / "jump" / RUN_FILE).read_text())["status"] == "failed"


def test_stale_staging_folders_are_removed_by_the_next_run(tmp_path, clip, standin_onnx) -> None:
    out = tmp_path / "out"
    stale = out / ".jump.partial-999999999"
    stale.mkdir(parents=True)
    (stale / "poses.nc").write_bytes(b"half")
    (result,) = _run(clip, _config(out), standin_onnx)
    assert result.status == "completed"
    assert not stale.exists() and _no_staging(out)
    shutil.rmtree(out)
