"""Pixels to metres: a synthetic athlete of known height and motion, filmed by a known camera."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from kinematics_generator import poses_dataset
from metric_scene import BODY_HEIGHT_UNITS, Scene, project, scene_poses, world_points

from spinepose_sports.metric import (
    Calibration,
    CalibrationError,
    compute_metric,
    estimate_floor,
    jumps_table,
    resolve,
    speeds_table,
    stature_px,
)
from spinepose_sports.skeleton import KEYPOINT_INDEX

HIP = KEYPOINT_INDEX["hip"]


def _truth(world: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    hip = world[:, HIP]
    x = hip[:, 0] - hip[0, 0]
    v = np.gradient(np.c_[x, hip[:, 2]], 1 / fps, axis=0)
    return {"x": x, "y": hip[:, 2], "speed": np.linalg.norm(v, axis=1)}


def _rel_err(est: np.ndarray, truth: np.ndarray) -> float:
    """Largest error relative to the truth's range."""
    ok = np.isfinite(est)
    return float(np.max(np.abs(est[ok] - truth[ok])) / np.ptp(truth[ok]))


@pytest.mark.parametrize("roll_deg", [0.0, 3.0])
def test_in_plane_positions_and_speeds_within_2_percent(roll_deg):
    scene = Scene(roll_deg=roll_deg)
    poses, world = scene_poses(scene)
    metric = compute_metric(poses, Calibration.from_height(scene.height_m))
    truth = _truth(world, scene.fps)
    pos = metric["pelvis_position"].sel(individual="track_1")
    assert _rel_err(pos.sel(space="x").values, truth["x"]) < 0.02
    assert _rel_err(pos.sel(space="y").values, truth["y"]) < 0.02
    speed = metric["pelvis_speed"].sel(individual="track_1").values
    walking = (scene.time_s > 0.1) & (scene.time_s < scene.jump_start_s - 0.1)
    assert np.median(speed[walking]) == pytest.approx(scene.speed_m_s, rel=0.02)
    inner = slice(2, -2)
    assert np.max(np.abs(speed[inner] - truth["speed"][inner])) < 0.02 * truth["speed"].max()
    assert metric["position"].attrs["units"] == "m"
    assert metric["pelvis_speed"].attrs["units"] == "m/s"
    assert metric["pelvis_acceleration"].attrs["units"] == "m/s^2"
    assert metric["segment_length"].attrs["units"] == "cm"
    scale = json.loads(metric.attrs["calibration"])["m_per_px"]["track_1"]
    assert scale == pytest.approx(1 / scene.px_per_m, rel=1e-6)


def test_noisy_keypoints_keep_positions_within_2_percent():
    scene = Scene(noise_px=1.5, roll_deg=-2.0, seed=4)
    poses, world = scene_poses(scene)
    metric = compute_metric(poses, Calibration.from_height(scene.height_m))
    truth = _truth(world, scene.fps)
    x = metric["pelvis_position"].sel(individual="track_1", space="x").values
    assert _rel_err(x, truth["x"]) < 0.02
    assert float(metric["m_per_px"][0]) == pytest.approx(1 / scene.px_per_m, rel=0.01)


def test_floor_tilt_is_estimated_from_the_feet():
    poses, _ = scene_poses(Scene(roll_deg=4.0))
    floor = estimate_floor(poses)
    assert floor.source == "estimated"
    assert floor.angle_deg == pytest.approx(4.0, abs=0.2)
    given = estimate_floor(poses, angle_deg=4.0)
    assert given.source == "given"
    standing = Scene(speed_m_s=0.0, jump_height_m=0.0)
    assert estimate_floor(scene_poses(standing)[0]).source == "level"


def test_jump_height_from_flight_and_from_the_pelvis():
    scene = Scene(jump_height_m=0.35)
    poses, _ = scene_poses(scene)
    jumps = jumps_table(compute_metric(poses, Calibration.from_height(scene.height_m)))
    assert len(jumps) == 1
    row = jumps.iloc[0]
    assert row["jump_height_flight_m"] == pytest.approx(0.35, rel=0.02)
    assert row["pelvis_rise_m"] == pytest.approx(0.35, rel=0.02)
    assert row["flight_time_s"] == pytest.approx(scene.flight_s, rel=0.02)
    assert row["takeoff_s"] == pytest.approx(scene.jump_start_s, abs=0.01)


def test_segment_and_spine_lengths_in_cm():
    scene = Scene(height_m=1.9)
    metric = compute_metric(scene_poses(scene)[0], Calibration.from_height(1.9))
    k = 1.9 / BODY_HEIGHT_UNITS * 100
    thigh = metric["segment_length"].sel(link="left_knee-left_hip", individual="track_1")
    assert float(thigh) == pytest.approx(0.245 * k, rel=1e-3)
    spine = metric["spine_length_cm"].sel(individual="track_1").values
    assert np.allclose(spine, 0.5 * k, rtol=1e-3)


def test_height_off_by_5_cm_scales_everything():
    scene = Scene()
    poses, world = scene_poses(scene)
    metric = compute_metric(poses, Calibration.from_height(scene.height_m + 0.05))
    x = metric["pelvis_position"].sel(individual="track_1", space="x").values
    truth = _truth(world, scene.fps)["x"]
    ratio = x[-1] / truth[-1]
    assert ratio == pytest.approx((1.78 + 0.05) / 1.78, rel=1e-4)


def test_two_points_and_direct_scale():
    scene = Scene()
    poses, world = scene_poses(scene)
    p1, p2 = (100.0, 900.0), (100.0 + 5 * scene.px_per_m, 900.0)
    metric = compute_metric(poses, Calibration.from_points(p1, p2, 5.0))
    assert float(metric["m_per_px"][0]) == pytest.approx(1 / scene.px_per_m)
    truth = _truth(world, scene.fps)
    y = metric["pelvis_position"].sel(individual="track_1", space="y").values
    assert np.allclose(y, truth["y"], atol=1e-6)
    direct = compute_metric(poses, Calibration(m_per_px=1 / scene.px_per_m))
    xr.testing.assert_allclose(direct["pelvis_position"], metric["pelvis_position"])
    table = speeds_table(metric)
    assert list(table.columns[:3]) == ["time_s", "frame", "track"]
    assert len(table) == scene.n_frames


def test_per_athlete_heights():
    a, b = Scene(height_m=1.9), Scene(height_m=1.6, origin_px=(400.0, 700.0), px_per_m=180.0)
    xa, xb = project(a, world_points(a)), project(b, world_points(b))
    conf = np.full((a.n_frames, 37), 0.9)
    poses = poses_dataset([(xa, conf), (xb, conf)], a.time_s, [2, 5], fps=a.fps)
    resolved = resolve(poses, Calibration.from_height(1.9, {5: 1.6}))
    assert resolved.m_per_px["track_2"] == pytest.approx(1 / 250.0, rel=1e-6)
    assert resolved.m_per_px["track_5"] == pytest.approx(1 / 180.0, rel=1e-6)
    assert float(stature_px(poses).sel(individual="track_5")) == pytest.approx(1.6 * 180)
    with pytest.raises(CalibrationError, match=r"track_9.*not in the results"):
        resolve(poses, Calibration.from_height(1.8, {"track_9": 1.7}))
    with pytest.raises(CalibrationError, match="track_2: no height"):
        resolve(poses, Calibration.from_height(None, {5: 1.6}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"height_m": 17.8}, "not a human height"),
        ({"height_m": 0.0}, "not a human height"),
        ({"heights_m": {"x": 1.7}}, "expected a track id"),
        ({}, "exactly one"),
        ({"height_m": 1.8, "m_per_px": 0.01}, "exactly one"),
        ({"points_px": ((1, 1), (1, 1)), "distance_m": 2.0}, "must differ"),
        ({"points_px": ((1, 1), (9, 1)), "distance_m": -2.0}, "positive distance"),
        ({"points_px": ((1, 1), (9, 1))}, "both points_px and distance_m"),
        ({"m_per_px": 3.0}, "not a scale"),
        ({"height_m": 1.8, "floor_angle_deg": 80.0}, "beyond"),
    ],
)
def test_impossible_calibrations_are_refused(kwargs, message):
    with pytest.raises(CalibrationError, match=message) as info:
        Calibration(**kwargs)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_calibration_files_round_trip(tmp_path):
    toml = tmp_path / "cal.toml"
    toml.write_text(
        'height_m = 1.78\nfloor_angle_deg = 1.5\n[heights_m]\n3 = 1.82\n"track_7" = 1.6\n'
    )
    cal = Calibration.from_file(toml)
    assert cal.method == "height"
    assert cal.height_of("track_3") == 1.82 and cal.height_of("track_1") == 1.78
    assert cal.floor_angle_deg == 1.5
    js = tmp_path / "cal.json"
    js.write_text(json.dumps(cal.to_dict()))
    assert Calibration.from_file(js) == cal
    pts = tmp_path / "pts.toml"
    pts.write_text("points_px = [[100, 600], [900, 600]]\ndistance_m = 4.0\n")
    assert Calibration.from_file(pts).method == "points"
    record = tmp_path / "run.json"  # a run.json with a calibration record reads too
    record.write_text(json.dumps({"calibration": {"calibration": cal.to_dict(), "m_per_px": {}}}))
    assert Calibration.from_file(record) == cal
    bad = tmp_path / "bad.toml"
    bad.write_text("hieght_m = 1.8\n")
    with pytest.raises(CalibrationError, match="unknown keys"):
        Calibration.from_file(bad)
    with pytest.raises(CalibrationError, match="no such calibration file"):
        Calibration.from_file(tmp_path / "none.toml")
