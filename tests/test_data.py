"""The data model: validation, netCDF round trip, tidy CSV, the accumulator."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spinepose_sports.data import (
    CSV_COLUMNS,
    DataModelError,
    FrameDetections,
    FramePoses,
    TrackAccumulator,
    append_log,
    load_netcdf,
    load_poses,
    make_boxes,
    make_poses,
    poses_to_table,
    read_log,
    save_keypoints_csv,
    save_netcdf,
)
from spinepose_sports.skeleton import KEYPOINT_NAMES

ATTRS = {"fps": 30.0, "source_file": "clip.mp4", "frame_width": 640, "frame_height": 480}


def _random_poses(rng: np.random.Generator, n_time: int = 5, n_ind: int = 2):
    position = rng.uniform(0, 600, (n_time, 2, 37, n_ind)).astype(np.float32)
    confidence = rng.uniform(0, 1, (n_time, 37, n_ind)).astype(np.float32)
    position[1, :, 3, 0] = np.nan  # a missing point
    confidence[1, 3, 0] = np.nan
    time_s = np.arange(n_time) / 30.0
    return make_poses(position, confidence, time_s, [3, 7], pose_model="m.onnx", **ATTRS)


def test_make_poses_schema() -> None:
    ds = _random_poses(np.random.default_rng(0))
    assert ds["position"].dims == ("time", "space", "keypoint", "individual")
    assert ds["confidence"].dims == ("time", "keypoint", "individual")
    assert list(ds["keypoint"].values) == list(KEYPOINT_NAMES)
    assert list(ds["individual"].values) == ["track_3", "track_7"]
    assert ds["position"].dtype == np.float32
    assert ds.attrs["source_software"] == "spinepose-sports"
    assert ds.attrs["ds_type"] == "poses"
    assert ds.attrs["time_unit"] == "seconds"
    assert list(ds["frame"].values) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("position_shape", "message"),
    [
        ((5, 2, 36, 2), r"position: expected shape \(5, 2, 37, 2\), received \(5, 2, 36, 2\)"),
        ((5, 3, 37, 2), r"position: expected shape"),
        ((4, 2, 37, 2), r"position: expected shape"),
    ],
)
def test_make_poses_names_the_field_and_shapes(position_shape, message) -> None:
    with pytest.raises(DataModelError, match=message):
        make_poses(np.zeros(position_shape), np.zeros((5, 37, 2)), np.arange(5.0), [1, 2], **ATTRS)


def test_make_poses_rejects_bad_time_ids_and_attrs() -> None:
    pos, conf = np.zeros((3, 2, 37, 1)), np.zeros((3, 37, 1))
    with pytest.raises(DataModelError, match="time"):
        make_poses(pos, conf, [0.0, 0.2, 0.1], [1], **ATTRS)
    with pytest.raises(DataModelError, match="unique"):
        make_poses(np.zeros((3, 2, 37, 2)), np.zeros((3, 37, 2)), [0, 1, 2], [1, 1], **ATTRS)
    with pytest.raises(DataModelError, match="attrs: missing"):
        make_poses(pos, conf, [0, 1, 2], [1], fps=30)
    with pytest.raises(DataModelError, match="confidence"):
        make_poses(pos, np.zeros((3, 36, 1)), [0, 1, 2], [1], **ATTRS)


def test_netcdf_round_trip_is_exact(tmp_path) -> None:
    ds = append_log(_random_poses(np.random.default_rng(1)), "test", sigma_px=2.5, n=3)
    path = save_netcdf(ds, tmp_path / "poses.nc")
    back = load_poses(path)
    np.testing.assert_array_equal(back["position"].values, ds["position"].values)
    np.testing.assert_array_equal(back["confidence"].values, ds["confidence"].values)
    np.testing.assert_array_equal(back["time"].values, ds["time"].values)
    np.testing.assert_array_equal(back["frame"].values, ds["frame"].values)
    assert list(back["individual"].values) == list(ds["individual"].values)
    assert read_log(back) == [{"operation": "test", "parameters": {"sigma_px": 2.5, "n": 3}}]
    assert back.attrs["fps"] == 30.0
    assert not (tmp_path / "poses.nc.part").exists()


def test_boxes_round_trip(tmp_path) -> None:
    centroid = np.full((4, 2, 1), 50.0)
    shape = np.full((4, 2, 1), 20.0)
    ds = make_boxes(centroid, shape, np.ones((4, 1)), np.arange(4) / 10, [9], **ATTRS)
    back = load_netcdf(save_netcdf(ds, tmp_path / "boxes.nc"))
    assert back.attrs["ds_type"] == "bboxes"
    np.testing.assert_array_equal(back["shape"].values, ds["shape"].values)


def test_tidy_csv_leaves_out_missing_points(tmp_path) -> None:
    ds = _random_poses(np.random.default_rng(2))
    table = poses_to_table(ds)
    assert tuple(table.columns) == CSV_COLUMNS
    assert len(table) == 5 * 37 * 2 - 1
    row = table[(table.frame == 2) & (table.track == 7) & (table.keypoint == "spine_03")]
    x = float(ds["position"].sel(space="x", keypoint="spine_03", individual="track_7")[2])
    assert row["x"].item() == pytest.approx(x)
    assert not ((table.frame == 1) & (table.track == 3) & (table.keypoint == "left_ear")).any()
    path = save_keypoints_csv(ds, tmp_path / "keypoints.csv")
    back = pd.read_csv(path)
    assert len(back) == len(table)
    assert back["track"].dtype.kind == "i"


def test_accumulator_builds_aligned_datasets() -> None:
    acc = TrackAccumulator()
    rng = np.random.default_rng(3)
    for t in range(4):
        ids = np.array([5] if t < 2 else [5, 2], dtype=np.int64)
        n = len(ids)
        xyxy = np.tile(np.array([[10, 20, 110, 220]], np.float32), (n, 1)) + t
        dets = FrameDetections(xyxy, np.full(n, 0.9, np.float32), ids)
        xy = rng.uniform(0, 100, (n, 37, 2)).astype(np.float32)
        poses = FramePoses(xy, np.full((n, 37), 0.8, np.float32), ids)
        acc.add(t / 25, 10 + t, dets, poses)
    poses_ds = acc.to_poses(**ATTRS)
    boxes_ds = acc.to_boxes(**ATTRS)
    assert list(poses_ds["individual"].values) == ["track_2", "track_5"]
    assert list(poses_ds["frame"].values) == [10, 11, 12, 13]
    assert np.isnan(poses_ds["position"].sel(individual="track_2")[:2]).all()
    assert np.isfinite(poses_ds["position"].sel(individual="track_2")[2:]).all()
    c = boxes_ds["position"].sel(individual="track_5", time=poses_ds["time"][3])
    np.testing.assert_allclose(c.values, [63, 123])
    assert json.loads(poses_ds.attrs["log"]) == []


def test_frame_containers_validate() -> None:
    with pytest.raises(DataModelError, match="confidence"):
        FrameDetections(np.zeros((2, 4)), np.zeros(3), np.zeros(2, np.int64))
    with pytest.raises(DataModelError, match="xy"):
        FramePoses(np.zeros((1, 17, 2)), np.zeros((1, 17)), np.zeros(1, np.int64))
    assert len(FrameDetections.empty()) == 0
